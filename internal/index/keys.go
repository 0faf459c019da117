package index

import (
	"context"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Keys indexes one kind's objects by a key nearly unique per object (a userName, an
// externalId): key → the objects, the cache's own. A cache field index would hold a set
// of names per key, twice (per namespace and across namespaces), about 600 bytes an
// object; this map about 120. And a reader gets the objects themselves, without a
// read of the cache per name: a lookup by userName allocated 1.7 KB less.
//
// Like Members it follows the cache by the time an informer handler takes to run: a
// reader that must see its own writes waits with WaitFor, and tells the index of its
// own deletes (Deleted), whose responses carry no resourceVersion to wait for. The
// objects are those the index last took in, each with the key it is found by.
type Keys struct {
	registration
	progress
	keysOf func(client.Object) []string

	mu    sync.RWMutex
	byKey map[namespacedKey][]client.Object
	// deleting holds the objects deleted by the reader's side that the index still
	// holds as they were before: Objects leaves them out until it takes in the delete.
	deleting map[types.UID]time.Time
}

// namespacedKey is a key within a namespace: two strings the objects already hold,
// where one joined string would cost an allocation per object and per read.
type namespacedKey struct{ namespace, key string }

// NewKeys returns an empty index of the keys keysOf gives an object; Register feeds it.
func NewKeys(keysOf func(client.Object) []string) *Keys {
	return &Keys{keysOf: keysOf, byKey: map[namespacedKey][]client.Object{}, deleting: map[types.UID]time.Time{}}
}

// Register feeds the index from the cache's informer of obj's kind.
func (k *Keys) Register(ctx context.Context, informers InformerSource, obj client.Object) error {
	return k.register(ctx, informers, obj, k.update)
}

// Objects returns the objects in namespace that have key, but those Deleted. They are
// the cache's: the caller must not change them.
func (k *Keys) Objects(namespace, key string) []client.Object {
	k.mu.RLock()
	defer k.mu.RUnlock()
	objs := k.byKey[namespacedKey{namespace, key}]
	if len(k.deleting) == 0 {
		return slices.Clone(objs)
	}
	out := make([]client.Object, 0, len(objs))
	for _, o := range objs {
		if _, deleting := k.deleting[o.GetUID()]; !deleting {
			out = append(out, o)
		}
	}
	return out
}

// Deleted tells the index that obj was deleted (the API server answered the DELETE),
// so that Objects no longer returns it, as a read after the delete must not, although
// the index may not have taken the delete in yet. It does so until the index takes in
// obj with a deletionTimestamp, or gone. A deleted object's UID never comes back, so
// an entry kept too long costs only its memory: one is kept when the index had already
// taken in obj's removal, or held obj under keys it no longer has (renamed a moment
// before), and forgotten after forgetDeleted.
func (k *Keys) Deleted(obj client.Object) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	for uid, at := range k.deleting {
		if now.Sub(at) > forgetDeleted {
			delete(k.deleting, uid)
		}
	}
	for _, key := range k.keysOf(obj) {
		for _, o := range k.byKey[namespacedKey{obj.GetNamespace(), key}] {
			if o.GetUID() == obj.GetUID() && o.GetDeletionTimestamp() != nil {
				return
			}
		}
	}
	k.deleting[obj.GetUID()] = now
}

// forgetDeleted is when an object Deleted is no longer left out even if the index has
// not taken its delete in: by then an informer that has not is stuck, and readers wait
// for the server's other writes in vain.
const forgetDeleted = 10 * time.Minute

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
	switch {
	case after == nil:
		delete(k.deleting, before.GetUID())
	case after.GetDeletionTimestamp() != nil:
		delete(k.deleting, after.GetUID())
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
