package index

import (
	"context"
	"slices"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Keys indexes one kind's objects by a key nearly unique per object (a userName, an
// externalId): key → the objects, the cache's own. A cache field index would hold a set
// of names per key, twice (per namespace and across namespaces), about 600 bytes an
// object; this map about 120. And a reader gets the objects themselves, without a
// read of the cache per name: a lookup by userName allocated 1.7 KB less.
//
// Like Members it follows the cache by the time an informer handler takes to run: a
// reader that must see its own writes waits with WaitFor. The objects are those the
// index last took in, each with the key it is found by.
type Keys struct {
	registration
	progress
	keysOf func(client.Object) []string

	mu    sync.RWMutex
	byKey map[namespacedKey][]client.Object
}

// namespacedKey is a key within a namespace: two strings the objects already hold,
// where one joined string would cost an allocation per object and per read.
type namespacedKey struct{ namespace, key string }

// NewKeys returns an empty index of the keys keysOf gives an object; Register feeds it.
func NewKeys(keysOf func(client.Object) []string) *Keys {
	return &Keys{keysOf: keysOf, byKey: map[namespacedKey][]client.Object{}}
}

// Register feeds the index from the cache's informer of obj's kind.
func (k *Keys) Register(ctx context.Context, informers InformerSource, obj client.Object) error {
	return k.register(ctx, informers, obj, k.update)
}

// Objects returns the objects in namespace that have key. They are the cache's: the
// caller must not change them.
func (k *Keys) Objects(namespace, key string) []client.Object {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return slices.Clone(k.byKey[namespacedKey{namespace, key}])
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
			k.remove(namespacedKey{before.GetNamespace(), key}, before.GetName())
		}
	}
	for _, key := range now {
		k.put(namespacedKey{after.GetNamespace(), key}, after)
	}
	k.mu.Unlock()
	if after != nil {
		k.observe(after)
	} else {
		k.observe(before)
	}
}

// put makes obj what key finds in place of the object of its name, if any. Readers
// hold clones, so the slice is changed in place.
func (k *Keys) put(key namespacedKey, obj client.Object) {
	objs := k.byKey[key]
	for i, o := range objs {
		if o.GetName() == obj.GetName() {
			objs[i] = obj
			return
		}
	}
	k.byKey[key] = append(objs, obj)
}

// remove forgets the object named name under key, and key once nothing is left.
func (k *Keys) remove(key namespacedKey, name string) {
	objs := slices.DeleteFunc(k.byKey[key], func(o client.Object) bool { return o.GetName() == name })
	if len(objs) == 0 {
		delete(k.byKey, key)
		return
	}
	k.byKey[key] = objs
}
