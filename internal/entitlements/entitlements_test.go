package entitlements

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

func TestForUser(t *testing.T) {
	tenant := func(source identityv1alpha1.RoleSource) *identityv1alpha1.ScimTenant {
		return &identityv1alpha1.ScimTenant{Spec: identityv1alpha1.ScimTenantSpec{
			Workspace:           "team",
			DefaultRole:         "viewer",
			Roles:               []identityv1alpha1.RoleMapping{{Name: "viewer", ClusterRole: "view"}, {Name: "editor", ClusterRole: "edit"}},
			RoleSource:          source,
			DefaultStorageQuota: ptr.To(resource.MustParse("50Gi")),
		}}
	}
	idpRoles := []identityv1alpha1.MultiValuedAttribute{{Value: "unmapped"}, {Value: "viewer"}, {Value: "editor", Primary: ptr.To(true)}}
	tests := []struct {
		name      string
		tenant    *identityv1alpha1.ScimTenant
		user      identityv1alpha1.ScimUser
		wantRole  string
		wantQuota string
	}{
		{name: "new user gets the default", tenant: tenant(""), wantRole: "viewer", wantQuota: "50Gi"},
		{name: "recorded role is kept when the default changes", tenant: tenant(""),
			user: identityv1alpha1.ScimUser{Status: identityv1alpha1.ScimUserStatus{Role: "editor"}}, wantRole: "editor", wantQuota: "50Gi"},
		{name: "administrator override wins", tenant: tenant(identityv1alpha1.RoleSourceIdP),
			user: identityv1alpha1.ScimUser{Spec: identityv1alpha1.ScimUserSpec{Role: ptr.To("viewer"), Roles: idpRoles}}, wantRole: "viewer", wantQuota: "50Gi"},
		{name: "local source ignores SCIM roles", tenant: tenant(identityv1alpha1.RoleSourceLocal),
			user: identityv1alpha1.ScimUser{Spec: identityv1alpha1.ScimUserSpec{Roles: idpRoles}}, wantRole: "viewer", wantQuota: "50Gi"},
		{name: "IdP source takes the primary mapped role", tenant: tenant(identityv1alpha1.RoleSourceIdP),
			user: identityv1alpha1.ScimUser{Spec: identityv1alpha1.ScimUserSpec{Roles: idpRoles}}, wantRole: "editor", wantQuota: "50Gi"},
		{name: "IdP source with no mapped role falls back", tenant: tenant(identityv1alpha1.RoleSourceIdP),
			user: identityv1alpha1.ScimUser{Spec: identityv1alpha1.ScimUserSpec{Roles: idpRoles[:1]}}, wantRole: "viewer", wantQuota: "50Gi"},
		{name: "quota override", tenant: tenant(""),
			user: identityv1alpha1.ScimUser{Spec: identityv1alpha1.ScimUserSpec{StorageQuota: ptr.To(resource.MustParse("1Ti"))}}, wantRole: "viewer", wantQuota: "1Ti"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ForUser(tt.tenant, &tt.user)
			if got.Role != tt.wantRole || got.Workspace != "team" || got.StorageQuota.String() != tt.wantQuota {
				t.Fatalf("got role %q workspace %q quota %v; want %q team %s", got.Role, got.Workspace, got.StorageQuota, tt.wantRole, tt.wantQuota)
			}
		})
	}
}
