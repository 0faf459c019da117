package index

import (
	"context"
	"slices"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Keys indexes one kind's objects by a key nearly unique per object (a userName, an
// externalId): key → names. A cache field index would hold a set per key, twice (per
// namespace and across namespaces), about 600 bytes an object; this map about 120.
//
// Like Members it follows the cache by the time an informer handler takes to run:
// a reader that must see its own writes waits with WaitFor, and checks with Holds that
// an object it reads back from the cache still has the key.
type Keys struct {
	registration
	progress
	keysOf func(client.Object) []string

	mu    sync.RWMutex
	byKey map[string][]string // namespace/key → object names
}

// NewKeys returns an empty index of the keys keysOf gives an object; Register feeds it.
func NewKeys(keysOf func(client.Object) []string) *Keys {
	return &Keys{keysOf: keysOf, byKey: map[string][]string{}}
}

// Register feeds the index from the cache's informer of obj's kind.
func (k *Keys) Register(ctx context.Context, informers InformerSource, obj client.Object) error {
	return k.register(ctx, informers, obj, k.update)
}

// Names returns the names of the objects in namespace that have key.
func (k *Keys) Names(namespace, key string) []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return slices.Clone(k.byKey[namespace+"/"+key])
}

// Holds reports whether obj, as read, has key.
func (k *Keys) Holds(obj client.Object, key string) bool {
	return slices.Contains(k.keysOf(obj), key)
}

func (k *Keys) update(before, after client.Object) {
	if before == nil && after == nil {
		return
	}
	var old, now []string
	if before != nil {
		old = k.keysOf(before)
	}
	if after != nil {
		now = k.keysOf(after)
	}
	k.mu.Lock()
	for _, key := range old {
		if !slices.Contains(now, key) {
			unlink(k.byKey, before.GetNamespace()+"/"+key, before.GetName())
		}
	}
	for _, key := range now {
		link(k.byKey, after.GetNamespace()+"/"+key, after.GetName())
	}
	k.mu.Unlock()
	if after != nil {
		k.observe(after)
	} else {
		k.observe(before)
	}
}
