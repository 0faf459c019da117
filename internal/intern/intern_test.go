package intern

import (
	"fmt"
	"testing"
)

// Values that never repeat fill the table up to its bound, and no further.
func TestTheSharedTableIsBounded(t *testing.T) {
	in := New()
	for i := range 3 * maxShared {
		in.String(fmt.Sprintf("namespace-%d", i))
		in.Labels(map[string]string{"user": fmt.Sprint(i)})
		in.Strings([]string{"finalizer", fmt.Sprint(i)})
	}
	if len(in.strings) != maxShared || len(in.maps) != maxShared || len(in.lists) != maxShared {
		t.Errorf("the table holds %d strings, %d label maps and %d lists, bound %d", len(in.strings), len(in.maps), len(in.lists), maxShared)
	}
	long := string(make([]byte, maxSharedLength+1))
	in = New()
	in.String(long)
	if len(in.strings) != 0 {
		t.Error("a long value was kept")
	}
}
