package filter

import (
	"sync"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// parseCacheSize bounds each parse cache; past it the cache starts over, so that hostile
// distinct filters or paths cannot grow it.
const parseCacheSize = 4096

// parseKey is what a parse depends on: the resource type and the text.
type parseKey struct {
	res  *schema.Resource
	text string
}

// parseCache keeps parse results that are immutable once made, for every caller.
type parseCache[V any] struct {
	mu sync.Mutex
	m  map[parseKey]V
}

func (c *parseCache[V]) get(k parseKey) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *parseCache[V]) put(k parseKey, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= parseCacheSize {
		c.m = map[parseKey]V{}
	}
	c.m[k] = v
}
