// Package entitlements holds the one rule that decides a user's effective role,
// workspace and storage quota, used by the reconcilers and the downstream connectors.
package entitlements

import (
	"k8s.io/apimachinery/pkg/api/resource"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Entitlements is what a user is given.
type Entitlements struct {
	Role         string
	Workspace    string
	StorageQuota *resource.Quantity
}

// ForUser returns the user's entitlements under tenant.
//
// The role is assigned once and then managed locally: an administrator's spec.role
// wins; otherwise a role already recorded in status is kept, so that changing the
// tenant's defaultRole never moves existing users; otherwise, with roleSource IdP, the
// first SCIM role that the tenant maps; otherwise the tenant's defaultRole.
func ForUser(tenant *identityv1alpha1.ScimTenant, user *identityv1alpha1.ScimUser) Entitlements {
	e := Entitlements{Workspace: tenant.Spec.Workspace}
	var fromIdP string
	if tenant.Spec.RoleSource == identityv1alpha1.RoleSourceIdP {
		fromIdP = idpRole(tenant, user)
	}
	switch {
	case user.Spec.Role != nil:
		e.Role = *user.Spec.Role
	case fromIdP != "":
		e.Role = fromIdP
	case user.Status.Role != "":
		e.Role = user.Status.Role
	default:
		e.Role = tenant.Spec.DefaultRole
	}
	switch {
	case user.Spec.StorageQuota != nil:
		q := user.Spec.StorageQuota.DeepCopy()
		e.StorageQuota = &q
	case tenant.Spec.DefaultStorageQuota != nil:
		q := tenant.Spec.DefaultStorageQuota.DeepCopy()
		e.StorageQuota = &q
	}
	return e
}

// idpRole is the first role the identity provider sent that the tenant maps, preferring
// the one marked primary.
func idpRole(tenant *identityv1alpha1.ScimTenant, user *identityv1alpha1.ScimUser) string {
	var first string
	for _, r := range user.Spec.Roles {
		if _, ok := tenant.ClusterRoleFor(r.Value); !ok {
			continue
		}
		if r.Primary != nil && *r.Primary {
			return r.Value
		}
		if first == "" {
			first = r.Value
		}
	}
	return first
}
