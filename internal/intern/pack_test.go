package intern

import (
	"strings"
	"testing"
	"unsafe"
)

func TestPackKeepsTheValuesInOneAllocation(t *testing.T) {
	name, empty, uid, userName := "u-1", "", strings.Repeat("x", 36), "Alice@example.com"
	Pack(&name, &empty, &uid, &userName)
	if name != "u-1" || empty != "" || uid != strings.Repeat("x", 36) || userName != "Alice@example.com" {
		t.Fatalf("packed values changed: %q %q %q %q", name, empty, uid, userName)
	}
	if unsafe.StringData(empty) != nil {
		t.Error("an empty string was given a pointer into the packed strings")
	}
	base := uintptr(unsafe.Pointer(unsafe.StringData(name)))
	for offset, s := range map[uintptr]string{3: uid, 39: userName} {
		if got := uintptr(unsafe.Pointer(unsafe.StringData(s))); got != base+offset {
			t.Errorf("%q is at %d from the first packed string, want %d: not packed together", s, got-base, offset)
		}
	}
}

func TestPackingNothingAllocatesNothing(t *testing.T) {
	a, b := "", ""
	if n := testing.AllocsPerRun(10, func() { Pack(&a, &b) }); n != 0 {
		t.Errorf("packing empty strings allocated %v times", n)
	}
}
