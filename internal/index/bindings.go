package index

import (
	"context"
	"slices"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Bindings is the index of the operator's RoleBindings by the identity (user or
// group, one index each) they serve: a reconcile finds an identity's bindings in
// every namespace, strays of a former workspace included, without matching a label
// selector against every cached RoleBinding. A cache field index of the same held a
// set per identity, twice (per namespace and across namespaces), about 500 bytes a
// binding; here a binding is its name beside its identity's, about 200.
//
// It follows the cache by the time an informer handler takes to run, so reconcilers
// must hear of RoleBinding changes from Subscribe, not from the informer: told of a
// new binding before the index holds it, a reconcile would not see it and leave a
// stray binding granting access.
type Bindings struct {
	registration
	// subscribers hear, after the index changed, of each identity whose bindings were
	// created, changed or deleted, the operator's own changes included: a binding it
	// created just before the identity's wanted access changed is a stray only the
	// index's later view shows.
	subscribers
	kindLabel string

	mu         sync.RWMutex
	byIdentity map[types.NamespacedName][]types.NamespacedName // identity → its bindings
}

// NewBindings returns an empty index of the RoleBindings serving identities of
// kindLabel (identityv1alpha1.LabelUser or LabelGroup); Register feeds it.
func NewBindings(kindLabel string) *Bindings {
	return &Bindings{kindLabel: kindLabel, byIdentity: map[types.NamespacedName][]types.NamespacedName{}}
}

// Register feeds the index from the cache's RoleBinding informer.
func (b *Bindings) Register(ctx context.Context, informers InformerSource) error {
	return b.register(ctx, informers, &rbacv1.RoleBinding{}, b.update)
}

// Of returns the RoleBindings serving identity, in any namespace.
func (b *Bindings) Of(identity types.NamespacedName) []types.NamespacedName {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return slices.Clone(b.byIdentity[identity])
}

// Serves reports whether obj, as read, is the operator's and serves identity.
func (b *Bindings) Serves(obj client.Object, identity types.NamespacedName) bool {
	served, ok := servedIdentity(obj, b.kindLabel)
	return ok && served == identity
}

func (b *Bindings) update(before, after client.Object) {
	was, wasServing := servedIdentity(before, b.kindLabel)
	is, isServing := servedIdentity(after, b.kindLabel)
	if !wasServing && !isServing {
		return
	}
	left := wasServing && (!isServing || was != is)
	b.mu.Lock()
	if left {
		unlink(b.byIdentity, was, client.ObjectKeyFromObject(before))
	}
	if isServing {
		link(b.byIdentity, is, client.ObjectKeyFromObject(after))
	}
	b.mu.Unlock()

	if left {
		b.tell(was)
	}
	if isServing {
		b.tell(is)
	}
}

// servedIdentity reads, from the labels of an object the operator made, the identity
// of kind kindLabel (identityv1alpha1.LabelUser or LabelGroup) it serves; ok is false
// for anything else, nil included.
func servedIdentity(o client.Object, kindLabel string) (identity types.NamespacedName, ok bool) {
	if o == nil {
		return types.NamespacedName{}, false
	}
	l := o.GetLabels()
	if l[identityv1alpha1.LabelManagedBy] != identityv1alpha1.LabelManagedByValue || l[kindLabel] == "" || l[identityv1alpha1.LabelIdentityNamespace] == "" {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: l[identityv1alpha1.LabelIdentityNamespace], Name: l[kindLabel]}, true
}
