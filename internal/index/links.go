package index

import "slices"

// link adds v to what key maps to in m, once. Both are stored as given even when
// equal ones are there: strings of an older version of what they name, packed with
// that version's others (intern.Pack), would keep them all alive.
func link[K, V comparable](m map[K][]V, key K, v V) {
	values := m[key]
	if i := slices.Index(values, v); i >= 0 {
		values[i] = v
	} else {
		values = append(values, v)
	}
	m[key] = values
}

// unlink removes v from what key maps to in m, and key once nothing is left, so
// that the index holds no empty entries; it reports whether key went.
func unlink[K, V comparable](m map[K][]V, key K, v V) (gone bool) {
	values := slices.DeleteFunc(m[key], func(x V) bool { return x == v })
	if len(values) == 0 {
		delete(m, key)
		return true
	}
	m[key] = values
	return false
}
