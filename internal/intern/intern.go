// Package intern shares the values that thousands of decoded objects repeat (a
// namespace, a tenant's name, a condition's reason, a label map, a list of
// finalizers), so that each is held once rather than once per object, and packs an
// object's own strings into one allocation.
package intern

import (
	"slices"
	"strings"
	"sync"
)

// Table hands out one copy of each value it is given. It is bounded: values that
// turn out to be unique (a namespace per user, a role per group) fill it up to
// maxShared and are then kept as they are, costing nothing more.
type Table struct {
	mu      sync.Mutex
	strings map[string]string
	lists   map[string][]string
	maps    map[string]map[string]string
}

const (
	maxShared       = 8192
	maxSharedLength = 256
)

// New returns an empty table.
func New() *Table {
	return &Table{strings: map[string]string{}, lists: map[string][]string{}, maps: map[string]map[string]string{}}
}

// String returns the shared copy of s.
func (in *Table) String(s string) string {
	in.Share(&s)
	return s
}

// Share points *s at the table's copy of its value and reports whether it shares
// one: it does not for a long value, or one the table has no room for.
func (in *Table) Share(s *string) bool {
	if *s == "" {
		return true
	}
	if len(*s) > maxSharedLength {
		return false
	}
	var held bool
	*s, held = share(&in.mu, in.strings, *s, *s)
	return held
}

// Strings returns the shared copy of a list of strings equal to l, such as an
// object's finalizers: it must never be written to.
func (in *Table) Strings(l []string) []string {
	if len(l) == 0 {
		return l
	}
	key := strings.Join(l, "\x00") // neither finalizers nor names can hold it
	if len(key) > maxSharedLength {
		return l
	}
	shared, _ := share(&in.mu, in.lists, key, l)
	return shared
}

// Labels returns the shared copy of a label map equal to l: it must never be written to.
func (in *Table) Labels(l map[string]string) map[string]string {
	if len(l) == 0 {
		return l
	}
	key := labelsKey(l)
	if len(key) > maxSharedLength {
		return l
	}
	shared, _ := share(&in.mu, in.maps, key, l)
	return shared
}

// share returns table's value for key, which becomes v if the table has none and has
// room, and whether the table holds it.
func share[V any](mu *sync.Mutex, table map[string]V, key string, v V) (V, bool) {
	mu.Lock()
	defer mu.Unlock()
	if shared, ok := table[key]; ok {
		return shared, true
	}
	if len(table) < maxShared {
		table[key] = v
		return v, true
	}
	return v, false
}

// labelsKey is l in one string, the same for equal maps: label keys and values cannot
// hold "\x00".
func labelsKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(l[k])
		b.WriteByte(0)
	}
	return b.String()
}
