package index

import (
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/intern"
)

// RoleBindings is what the operator knows of its own RoleBindings, one per identity
// and workspace: 100,000 at 100,000 users. They are not in the cache: a reconcile
// needs of one only whether it is as wanted, which its digest answers. A decoded
// RoleBinding holds about 980 bytes, 1,250 with the cache's entry and the index by
// identity; a digest with its index entry holds about 480. RoleBindings is the store
// of a reflector of its own (see the manager), watching the RoleBindings labelled as
// the operator's, and keeps the index of each identity's bindings, Users and Groups,
// as it goes.
//
// Like the cache, it follows the API server by a watch event's delay: a reconcile
// that finds no digest of a binding just made creates it again and is refused as
// AlreadyExists, and retries once the digest is here.
type RoleBindings struct {
	Users, Groups *Bindings

	mu     sync.RWMutex
	byKey  map[types.NamespacedName]RoleBindingDigest
	shared *intern.Table
	synced atomic.Bool
}

// RoleBindingDigest is a RoleBinding of the operator's as a reconcile compares it.
type RoleBindingDigest struct {
	UID             types.UID
	ResourceVersion string
	RoleRef         rbacv1.RoleRef
	// Content is the fingerprint of its subjects and labels (ContentOf): anyone's
	// edit of either changes it.
	Content uint64
	// served is the identity it is labelled for.
	served served
}

// served is an identity a binding serves: kindLabel (LabelUser or LabelGroup) names
// its kind, empty for a binding that serves neither.
type served struct {
	kindLabel string
	identity  types.NamespacedName
}

// NewRoleBindings returns an empty store, not synced until its first Replace.
func NewRoleBindings() *RoleBindings {
	r := &RoleBindings{byKey: map[types.NamespacedName]RoleBindingDigest{}, shared: intern.New()}
	r.Users = &Bindings{kindLabel: identityv1alpha1.LabelUser, known: r, byIdentity: map[types.NamespacedName][]types.NamespacedName{}}
	r.Groups = &Bindings{kindLabel: identityv1alpha1.LabelGroup, known: r, byIdentity: map[types.NamespacedName][]types.NamespacedName{}}
	return r
}

// HasSynced reports whether the store holds every RoleBinding listed at start.
func (r *RoleBindings) HasSynced() bool { return r.synced.Load() }

// Get returns the digest of the operator's RoleBinding at key, if it has one there.
func (r *RoleBindings) Get(key types.NamespacedName) (RoleBindingDigest, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.byKey[key]
	return d, ok
}

var contentSeed = maphash.MakeSeed()

// ContentOf is the fingerprint of a RoleBinding's subjects and labels. It is only
// ever compared within one process, so its seed is random: nobody can craft a
// binding whose changed subjects keep the fingerprint of the wanted ones.
func ContentOf(subjects []rbacv1.Subject, labels map[string]string) uint64 {
	var h maphash.Hash
	h.SetSeed(contentSeed)
	field := func(s string) {
		h.WriteString(s)
		h.WriteByte(0)
	}
	for _, s := range subjects {
		field(s.Kind)
		field(s.APIGroup)
		field(s.Name)
		field(s.Namespace)
	}
	h.WriteByte(1)
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field(k)
		field(labels[k])
	}
	return h.Sum64()
}

// observed is a RoleBinding reduced to its digest before the reflector's stores hold
// it, so that the RoleBindings listed at a start are never all held whole at once.
type observed struct {
	key    types.NamespacedName
	digest RoleBindingDigest
	// theirs is a binding without the operator's label, as a test may hand one (the
	// reflector's selector leaves them out): it is no longer known.
	theirs bool
}

// GetObjectMeta gives the reflector's own stores the key of an observed binding.
func (o *observed) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: o.key.Namespace, Name: o.key.Name}
}

// Transformer reduces each RoleBinding the reflector decodes to its digest.
func (r *RoleBindings) Transformer() toolscache.TransformFunc {
	return func(obj any) (any, error) { return r.observe(obj), nil }
}

// observe is obj as an observed binding; nil for what is neither a RoleBinding nor
// one observed already.
func (r *RoleBindings) observe(obj any) *observed {
	switch o := obj.(type) {
	case *observed:
		return o
	case toolscache.DeletedFinalStateUnknown:
		return r.observe(o.Obj)
	case *rbacv1.RoleBinding:
		seen := &observed{key: types.NamespacedName{Namespace: r.shared.String(o.Namespace), Name: o.Name}, digest: RoleBindingDigest{
			UID:             o.UID,
			ResourceVersion: o.ResourceVersion,
			RoleRef: rbacv1.RoleRef{APIGroup: r.shared.String(o.RoleRef.APIGroup), Kind: r.shared.String(o.RoleRef.Kind),
				Name: r.shared.String(o.RoleRef.Name)},
			Content: ContentOf(o.Subjects, o.Labels),
			served:  r.shareServed(servedBy(o.Labels)),
		}, theirs: o.Labels[identityv1alpha1.LabelManagedBy] != identityv1alpha1.LabelManagedByValue}
		// A binding's own strings in one allocation rather than four.
		intern.Pack(&seen.key.Name, (*string)(&seen.digest.UID), &seen.digest.ResourceVersion, &seen.digest.served.identity.Name)
		return seen
	}
	return nil
}

// servedBy reads, from the labels of a binding the operator made, the identity it
// serves.
func servedBy(labels map[string]string) served {
	if labels[identityv1alpha1.LabelManagedBy] != identityv1alpha1.LabelManagedByValue || labels[identityv1alpha1.LabelIdentityNamespace] == "" {
		return served{}
	}
	for _, kind := range []string{identityv1alpha1.LabelUser, identityv1alpha1.LabelGroup} {
		if name := labels[kind]; name != "" {
			return served{kindLabel: kind, identity: types.NamespacedName{Namespace: labels[identityv1alpha1.LabelIdentityNamespace], Name: name}}
		}
	}
	return served{}
}

// shareServed keeps one copy of the identities' namespace for the digests.
func (r *RoleBindings) shareServed(s served) served {
	s.identity.Namespace = r.shared.String(s.identity.Namespace)
	return s
}

// Add, Update, Delete, Replace and Resync make RoleBindings the reflector's store.
func (r *RoleBindings) Add(obj any) error { return r.Update(obj) }
func (r *RoleBindings) Update(obj any) error {
	o := r.observe(obj)
	r.set(o, o != nil && o.theirs)
	return nil
}
func (r *RoleBindings) Delete(obj any) error { r.set(r.observe(obj), true); return nil }
func (r *RoleBindings) Resync() error        { return nil }

// Replace makes the store exactly list, as after the reflector's (re)list: bindings
// deleted while it was not watching are forgotten, and their identities told.
func (r *RoleBindings) Replace(list []any, _ string) error {
	listed := make(map[types.NamespacedName]bool, len(list))
	for _, obj := range list {
		if o := r.observe(obj); o != nil && !o.theirs {
			listed[o.key] = true
			r.set(o, false)
		}
	}
	r.mu.RLock()
	var gone []*observed
	for key, d := range r.byKey {
		if !listed[key] {
			gone = append(gone, &observed{key: key, digest: d})
		}
	}
	r.mu.RUnlock()
	for _, o := range gone {
		r.set(o, true)
	}
	r.synced.Store(true)
	return nil
}

// set records o (or its deletion) and moves it in the identities' indexes, whose
// subscribers then hear of every identity it served before or serves now: even an
// edit that changed nothing of the index may have changed what the binding grants.
func (r *RoleBindings) set(o *observed, deleted bool) {
	if o == nil {
		return
	}
	r.mu.Lock()
	was, existed := r.byKey[o.key] // the zero digest, serving nobody, when new
	if existed && !deleted && was == o.digest {
		// The same version again, as a relist brings every binding: nothing changed.
		r.mu.Unlock()
		return
	}
	if deleted {
		delete(r.byKey, o.key)
	} else {
		r.byKey[o.key] = o.digest
	}
	r.mu.Unlock()
	var is served
	if !deleted {
		is = o.digest.served
	}
	for _, view := range []*Bindings{r.Users, r.Groups} {
		view.move(o.key, was.served, is)
	}
}
