package index

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// InformerSource is the part of a cache that hands out informers.
type InformerSource interface {
	GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error)
}

// registration is how an index beside the cache is fed: by a handler on the cache's
// informer of one kind.
type registration struct {
	mu     sync.Mutex
	synced func() bool
}

// register calls update with every change the cache's informer of obj's kind sees
// (before is nil for a new object, after nil for a deleted one).
func (r *registration) register(ctx context.Context, informers InformerSource, obj client.Object, update func(before, after client.Object)) error {
	informer, err := informers.GetInformer(ctx, obj)
	if err != nil {
		return fmt.Errorf("getting the %T informer: %w", obj, err)
	}
	reg, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { update(nil, asObject(o)) },
		UpdateFunc: func(old, o any) { update(asObject(old), asObject(o)) },
		DeleteFunc: func(o any) { update(asObject(o), nil) },
	})
	if err != nil {
		return fmt.Errorf("watching %T for an index: %w", obj, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.synced = reg.HasSynced
	return nil
}

// HasSynced reports whether the index holds every object the informer listed at start.
func (r *registration) HasSynced() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.synced != nil && r.synced()
}

func asObject(obj any) client.Object {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	o, _ := obj.(client.Object)
	return o
}

// subscribers are told what an index's change concerned, once the index holds it.
type subscribers struct {
	mu     sync.Mutex
	notify []func(types.NamespacedName)
}

// Subscribe calls notify with what each change concerns, after the index changed. It
// must not block (a workqueue's Add does not).
func (s *subscribers) Subscribe(notify func(types.NamespacedName)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notify = append(s.notify, notify)
}

func (s *subscribers) tell(keys ...types.NamespacedName) {
	s.mu.Lock()
	notify := s.notify
	s.mu.Unlock()
	for _, k := range keys {
		for _, n := range notify {
			n(k)
		}
	}
}
