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
// object; this map about 100. And a reader gets the objects themselves, without a
// read of the cache per name: a lookup by userName allocated 1.7 KB less.
//
// Like Members it follows the cache by the time an informer handler takes to run: a
// reader that must see its own writes waits with WaitFor, and tells the index of its
// own deletes (Deleted), whose responses carry no resourceVersion to wait for. The
// objects are those the index last took in, each with the key it is found by.
type Keys struct {
	registration
	progress
	keyOf func(client.Object) (Key, bool)

	mu    sync.RWMutex
	byKey map[namespacedKey]keyed
	// deleting holds the objects deleted by the reader's side that the index still
	// holds as they were before: Objects leaves them out until it takes in the delete.
	deleting map[types.UID]time.Time
}

// keyed is what a key finds: one object nearly always, held without a slice of its
// own (an allocation per object and index), and any others that share its key.
type keyed struct {
	first client.Object
	more  []client.Object
}

// appendTo appends the objects to objs.
func (e keyed) appendTo(objs []client.Object) []client.Object {
	if e.first == nil {
		return objs
	}
	return append(append(objs, e.first), e.more...)
}

// with is e with obj in place of the object of its name, if any. Readers hold copies,
// so more is changed in place.
func (e keyed) with(obj client.Object) keyed {
	sameName := func(o client.Object) bool { return o.GetName() == obj.GetName() }
	switch i := slices.IndexFunc(e.more, sameName); {
	case e.first == nil || sameName(e.first):
		e.first = obj
	case i >= 0:
		e.more[i] = obj
	default:
		e.more = append(e.more, obj)
	}
	return e
}

// without is e without the object named name.
func (e keyed) without(name string) keyed {
	if e.first != nil && e.first.GetName() == name {
		if len(e.more) == 0 {
			return keyed{}
		}
		return keyed{first: e.more[0], more: slices.Clip(e.more[1:])}
	}
	e.more = slices.DeleteFunc(e.more, func(o client.Object) bool { return o.GetName() == name })
	return e
}

// namespacedKey is a key within a namespace, of strings the objects already hold.
type namespacedKey struct {
	namespace string
	Key
}

// NewKeys returns an empty index of the key keyOf gives an object, if it has one;
// Register feeds it.
func NewKeys(keyOf func(client.Object) (Key, bool)) *Keys {
	return &Keys{keyOf: keyOf, byKey: map[namespacedKey]keyed{}, deleting: map[types.UID]time.Time{}}
}

// Register feeds the index from the cache's informer of obj's kind.
func (k *Keys) Register(ctx context.Context, informers InformerSource, obj client.Object) error {
	return k.register(ctx, informers, obj, k.update)
}

// Objects returns the objects in namespace that have key, but those Deleted. They are
// the cache's: the caller must not change them.
func (k *Keys) Objects(namespace string, key Key) []client.Object {
	k.mu.RLock()
	defer k.mu.RUnlock()
	found := k.byKey[namespacedKey{namespace, key}]
	if len(k.deleting) == 0 {
		return found.appendTo(nil)
	}
	var out []client.Object
	for _, o := range found.appendTo(nil) {
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
	if key, ok := k.keyOf(obj); ok {
		for _, o := range k.byKey[namespacedKey{obj.GetNamespace(), key}].appendTo(nil) {
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
	var old, now Key
	var hadKey, hasKey bool
	if before != nil {
		old, hadKey = k.keyOf(before)
	}
	if after != nil {
		now, hasKey = k.keyOf(after)
	}
	k.mu.Lock()
	if hadKey && (!hasKey || old != now) {
		k.remove(namespacedKey{before.GetNamespace(), old}, before.GetName())
	}
	if hasKey {
		k.put(namespacedKey{after.GetNamespace(), now}, after)
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

// put makes obj what key finds in place of the object of its name, if any.
func (k *Keys) put(key namespacedKey, obj client.Object) {
	k.byKey[key] = k.byKey[key].with(obj)
}

// remove forgets the object named name under key, and key once nothing is left.
func (k *Keys) remove(key namespacedKey, name string) {
	left := k.byKey[key].without(name)
	if left.first == nil {
		delete(k.byKey, key)
		return
	}
	// A map's assignment keeps the strings of the key it is given: those of an object
	// still held, not of the one removed, whose strings packed together (see the cache's
	// transform) would all stay alive for it.
	remaining, _ := k.keyOf(left.first)
	k.byKey[namespacedKey{left.first.GetNamespace(), remaining}] = left
}
