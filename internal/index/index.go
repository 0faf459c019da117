// Package index holds what the SCIM server and the controllers look identities up
// by, so that no request or reconcile lists a whole tenant: a few cache field indexes,
// and beside the cache the compact indexes of Lookups, for the keys every identity has
// (a field index costs hundreds of bytes per key).
package index

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Field names of the indexes. Values are computed, never read from the object as they
// are, so a lookup must pass the same normalisation (see the Key functions).
const (
	// BindingIdentity indexes the operator's RoleBindings by the identity they serve
	// (see IdentityKey): a label selector would be matched against every cached
	// RoleBinding, one per user, on every reconcile.
	BindingIdentity = "index.identity"
)

// FieldIndexer is the part of a manager's cache that registers indexes.
type FieldIndexer = client.FieldIndexer

// TenantKey scopes value to a tenant, so that one index serves every tenant of a
// namespace without mixing them.
func TenantKey(tenant, value string) string { return tenant + "/" + value }

// UserNameKey is the index key of a userName: SCIM userNames are case-insensitive.
func UserNameKey(tenant, userName string) string {
	return TenantKey(tenant, strings.ToLower(userName))
}

// DisplayNameKey is the index key of a group displayName, unique case-insensitively.
func DisplayNameKey(tenant, displayName string) string {
	return TenantKey(tenant, strings.ToLower(displayName))
}

// IdentityKey is the BindingIdentity key of what the operator made for the identity
// that kindLabel (LabelUser or LabelGroup) names.
func IdentityKey(kindLabel, namespace, name string) string {
	return kindLabel + "/" + namespace + "/" + name
}

// AddDefaultIndexes registers every index on the indexer, once per process.
func AddDefaultIndexes(ctx context.Context, indexer FieldIndexer) error {
	indexes := []struct {
		obj     client.Object
		field   string
		extract client.IndexerFunc
	}{
		{&rbacv1.RoleBinding{}, BindingIdentity, identityServed},
	}
	for _, ix := range indexes {
		if err := indexer.IndexField(ctx, ix.obj, ix.field, ix.extract); err != nil {
			return fmt.Errorf("indexing %T by %s: %w", ix.obj, ix.field, err)
		}
	}
	return nil
}

func nonEmpty(tenant, value string) []string {
	if value == "" {
		return nil
	}
	return []string{TenantKey(tenant, value)}
}

func identityServed(o client.Object) []string {
	l := o.GetLabels()
	ns := l[identityv1alpha1.LabelIdentityNamespace]
	if l[identityv1alpha1.LabelManagedBy] != identityv1alpha1.LabelManagedByValue || ns == "" {
		return nil
	}
	for _, kindLabel := range []string{identityv1alpha1.LabelUser, identityv1alpha1.LabelGroup} {
		if name := l[kindLabel]; name != "" {
			return []string{IdentityKey(kindLabel, ns, name)}
		}
	}
	return nil
}
