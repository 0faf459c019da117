// Package memo keeps results that are immutable once computed, for every caller, in a
// bounded map: past its bound it starts over, so that hostile distinct inputs (filters,
// Host headers) cannot grow it.
package memo

import "sync"

// Bounded maps keys to the results computed of them, at most Size at a time. The zero
// value holds up to DefaultSize.
type Bounded[K comparable, V any] struct {
	// Size bounds the entries; zero means DefaultSize.
	Size int

	mu sync.Mutex
	m  map[K]V
}

// DefaultSize is the bound of a Bounded without a Size.
const DefaultSize = 4096

// Get returns the result kept for k.
func (b *Bounded[K, V]) Get(k K) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	return v, ok
}

// Put keeps v as the result for k.
func (b *Bounded[K, V]) Put(k K, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	size := b.Size
	if size <= 0 {
		size = DefaultSize
	}
	if b.m == nil || len(b.m) >= size {
		b.m = map[K]V{}
	}
	b.m[k] = v
}
