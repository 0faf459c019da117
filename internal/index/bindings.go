package index

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Bindings is the index of the operator's RoleBindings by the identity (user or
// group, one index each) they serve: a reconcile finds an identity's bindings in
// every namespace, strays of a former workspace included, without matching a label
// selector against every RoleBinding. RoleBindings keeps it.
//
// Reconcilers must hear of RoleBinding changes from Subscribe: told of a new binding
// before the index holds it, a reconcile would not see it and leave a stray binding
// granting access.
type Bindings struct {
	// subscribers hear, after the index changed, of each identity whose bindings were
	// created, changed or deleted, the operator's own changes included: a binding it
	// created just before the identity's wanted access changed is a stray only the
	// index's later view shows.
	subscribers
	kindLabel string
	known     *RoleBindings

	mu         sync.RWMutex
	byIdentity map[types.NamespacedName][]types.NamespacedName // identity → its bindings
}

// Of returns the RoleBindings serving identity, in any namespace.
func (b *Bindings) Of(identity types.NamespacedName) []types.NamespacedName {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return slices.Clone(b.byIdentity[identity])
}

// Digest returns what is known of the operator's RoleBinding at key, of any identity.
func (b *Bindings) Digest(key types.NamespacedName) (RoleBindingDigest, bool) {
	return b.known.Get(key)
}

// ServingUID returns the UID of the binding at key if it is known to serve identity.
func (b *Bindings) ServingUID(key, identity types.NamespacedName) (types.UID, bool) {
	d, ok := b.known.Get(key)
	if !ok || !b.serves(d.served, identity) {
		return "", false
	}
	return d.UID, true
}

// Serves reports whether obj, as read, is the operator's and serves identity.
func (b *Bindings) Serves(obj client.Object, identity types.NamespacedName) bool {
	return obj != nil && b.serves(servedBy(obj.GetLabels()), identity)
}

func (b *Bindings) serves(s served, identity types.NamespacedName) bool {
	return s.kindLabel == b.kindLabel && s.identity == identity
}

// move records that binding served was and now serves is, either of which may be
// another kind's or none.
func (b *Bindings) move(binding types.NamespacedName, was, is served) {
	wasServing, isServing := was.kindLabel == b.kindLabel, is.kindLabel == b.kindLabel
	if !wasServing && !isServing {
		return
	}
	left := wasServing && (!isServing || was.identity != is.identity)
	b.mu.Lock()
	if left {
		unlink(b.byIdentity, was.identity, binding)
	}
	if isServing {
		link(b.byIdentity, is.identity, binding)
	}
	b.mu.Unlock()

	if left {
		b.tell(was.identity)
	}
	if isServing {
		b.tell(is.identity)
	}
}
