package memo

import "testing"

func TestBoundedStartsOverPastItsSize(t *testing.T) {
	b := Bounded[int, string]{Size: 3}
	if _, ok := b.Get(1); ok {
		t.Fatal("an empty memo has a result")
	}
	for k := range 3 {
		b.Put(k, string(rune('a'+k)))
	}
	for k := range 3 {
		if v, ok := b.Get(k); !ok || v != string(rune('a'+k)) {
			t.Fatalf("Get(%d) = %q, %v", k, v, ok)
		}
	}
	b.Put(3, "d")
	if _, ok := b.Get(0); ok {
		t.Error("past its size the memo kept its old results")
	}
	if v, ok := b.Get(3); !ok || v != "d" {
		t.Errorf("Get(3) = %q, %v after starting over", v, ok)
	}
}
