package index

import (
	"context"
	"fmt"
	"slices"
	"sync"

	toolscache "k8s.io/client-go/tools/cache"
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
	progress
	keysOf func(client.Object) []string

	mu     sync.RWMutex
	byKey  map[string][]string // namespace/key → object names
	synced func() bool
}

// NewKeys returns an empty index of the keys keysOf gives an object; Register feeds it.
func NewKeys(keysOf func(client.Object) []string) *Keys {
	return &Keys{keysOf: keysOf, byKey: map[string][]string{}, synced: func() bool { return false }}
}

// Register feeds the index from the cache's informer of obj's kind.
func (k *Keys) Register(ctx context.Context, informers InformerSource, obj client.Object) error {
	synced, err := feed(ctx, informers, obj, k.update)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.synced = synced
	k.mu.Unlock()
	return nil
}

// HasSynced reports whether the index holds every object the informer listed at start.
func (k *Keys) HasSynced() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.synced()
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
			k.unlink(before.GetNamespace()+"/"+key, before.GetName())
		}
	}
	for _, key := range now {
		k.link(after.GetNamespace()+"/"+key, after.GetName())
	}
	k.mu.Unlock()
	if after != nil {
		k.observe(after)
	} else {
		k.observe(before)
	}
}

func (k *Keys) link(key, name string) {
	names := k.byKey[key]
	if !slices.Contains(names, name) {
		k.byKey[key] = append(names, name)
	}
}

func (k *Keys) unlink(key, name string) {
	names := slices.DeleteFunc(k.byKey[key], func(n string) bool { return n == name })
	if len(names) == 0 {
		delete(k.byKey, key)
		return
	}
	k.byKey[key] = names
}

// feed calls update with every change the cache's informer of obj's kind sees
// (before is nil for a new object, after nil for a deleted one) and returns whether the
// handler has had the objects listed at start.
func feed(ctx context.Context, informers InformerSource, obj client.Object, update func(before, after client.Object)) (func() bool, error) {
	informer, err := informers.GetInformer(ctx, obj)
	if err != nil {
		return nil, fmt.Errorf("getting the %T informer: %w", obj, err)
	}
	reg, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { update(nil, asObject(o)) },
		UpdateFunc: func(old, o any) { update(asObject(old), asObject(o)) },
		DeleteFunc: func(o any) { update(asObject(o), nil) },
	})
	if err != nil {
		return nil, fmt.Errorf("watching %T for an index: %w", obj, err)
	}
	return reg.HasSynced, nil
}

func asObject(obj any) client.Object {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	o, _ := obj.(client.Object)
	return o
}
