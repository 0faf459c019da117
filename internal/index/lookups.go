package index

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Lookups are the indexes beside the cache: by userName, externalId and displayName
// (keys of UserNameKey, TenantKey and DisplayNameKey), by group member, and the
// operator's RoleBindings by the user or group they serve.
type Lookups struct {
	UserName, UserExternalID, GroupDisplayName, GroupExternalID *Keys
	Members                                                     *Members
	// RoleBindings are the operator's RoleBindings, fed by a reflector of their own
	// (not by the cache), with their indexes by identity.
	RoleBindings *RoleBindings
	// Users and Groups count each tenant's identities.
	Users, Groups *Counts
	// Credentials are the tenants' bearer-token credentials.
	Credentials *Credentials

	// informers are the cache's, which Register feeds the indexes from.
	informers InformerSource
}

// NewLookups returns the indexes, empty until Register.
func NewLookups() *Lookups {
	return &Lookups{
		UserName: NewKeys(func(o client.Object) (Key, bool) {
			u := o.(*identityv1alpha1.ScimUser)
			return UserNameKey(u.Spec.TenantRef.Name, u.Spec.UserName), true
		}),
		UserExternalID: NewKeys(func(o client.Object) (Key, bool) {
			u := o.(*identityv1alpha1.ScimUser)
			return nonEmpty(u.Spec.TenantRef.Name, u.Spec.ExternalID)
		}),
		GroupDisplayName: NewKeys(func(o client.Object) (Key, bool) {
			g := o.(*identityv1alpha1.ScimGroup)
			return DisplayNameKey(g.Spec.TenantRef.Name, g.Spec.DisplayName), true
		}),
		GroupExternalID: NewKeys(func(o client.Object) (Key, bool) {
			g := o.(*identityv1alpha1.ScimGroup)
			return nonEmpty(g.Spec.TenantRef.Name, g.Spec.ExternalID)
		}),
		Members:      NewMembers(),
		RoleBindings: NewRoleBindings(),
		Users:        NewCounts(func(o client.Object) string { return o.(*identityv1alpha1.ScimUser).Spec.TenantRef.Name }),
		Groups:       NewCounts(func(o client.Object) string { return o.(*identityv1alpha1.ScimGroup).Spec.TenantRef.Name }),
		Credentials:  NewCredentials(),
	}
}

// Register feeds every index but RoleBindings from the cache's informers.
func (l *Lookups) Register(ctx context.Context, informers InformerSource) error {
	l.informers = informers
	for _, k := range []struct {
		keys *Keys
		obj  client.Object
	}{
		{l.UserName, &identityv1alpha1.ScimUser{}},
		{l.UserExternalID, &identityv1alpha1.ScimUser{}},
		{l.GroupDisplayName, &identityv1alpha1.ScimGroup{}},
		{l.GroupExternalID, &identityv1alpha1.ScimGroup{}},
	} {
		if err := k.keys.Register(ctx, informers, k.obj); err != nil {
			return err
		}
	}
	if err := l.Users.Register(ctx, informers, &identityv1alpha1.ScimUser{}); err != nil {
		return err
	}
	if err := l.Groups.Register(ctx, informers, &identityv1alpha1.ScimGroup{}); err != nil {
		return err
	}
	if err := l.Credentials.Register(ctx, informers); err != nil {
		return err
	}
	return l.Members.Register(ctx, informers)
}

// InNamespace reads the cached objects of obj's kind in namespace that keep accepts,
// from the cache Register fed the indexes from, as the function InNamespace does.
func (l *Lookups) InNamespace(ctx context.Context, obj client.Object, namespace string, keep func(client.Object) bool) ([]client.Object, error) {
	if l.informers == nil {
		return nil, errors.New("the indexes are not registered with a cache")
	}
	return InNamespace(ctx, l.informers, obj, namespace, keep)
}

// Cached reads the cached object of obj's kind named key from the cache Register fed the
// indexes from, as the function Cached does.
func (l *Lookups) Cached(ctx context.Context, obj client.Object, key types.NamespacedName) (client.Object, bool, error) {
	if l.informers == nil {
		return nil, false, errors.New("the indexes are not registered with a cache")
	}
	return Cached(ctx, l.informers, obj, key)
}

// HasSynced reports whether every index the SCIM server reads holds what its
// informer listed at start. RoleBindings are not among them: only the controllers read
// them, which the manager's cache holds back until they are synced.
func (l *Lookups) HasSynced() bool {
	return l.UserName.HasSynced() && l.UserExternalID.HasSynced() && l.GroupDisplayName.HasSynced() &&
		l.GroupExternalID.HasSynced() && l.Members.HasSynced() && l.Users.HasSynced() && l.Groups.HasSynced() &&
		l.Credentials.HasSynced()
}
