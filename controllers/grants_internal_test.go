package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

func TestGrantsCheckTenant(t *testing.T) {
	accepting := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a",
		Annotations: map[string]string{identityv1alpha1.AnnotationWorkspaceTenants: "elsewhere, idp"}}}
	silent := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}}
	c := fake.NewClientBuilder().WithObjects(accepting, silent).Build()
	grants := Grants{ClusterRoles: []string{"edit", "view"}}
	tenant := func(workspace string, mutate func(*identityv1alpha1.ScimTenantSpec)) *identityv1alpha1.ScimTenant {
		tn := &identityv1alpha1.ScimTenant{ObjectMeta: metav1.ObjectMeta{Namespace: "idp", Name: "entra"},
			Spec: identityv1alpha1.ScimTenantSpec{Workspace: workspace, DefaultRole: "viewer",
				Roles: []identityv1alpha1.RoleMapping{{Name: "viewer", ClusterRole: "view"}}}}
		if mutate != nil {
			mutate(&tn.Spec)
		}
		return tn
	}
	for _, tc := range []struct {
		name   string
		tenant *identityv1alpha1.ScimTenant
		reason string
	}{
		{"its own namespace", tenant("idp", nil), ""},
		{"a namespace that accepts it", tenant("team-a", nil), ""},
		{"a namespace that does not", tenant("kube-system", nil), ReasonWorkspaceNotPermitted},
		{"cluster-admin", tenant("idp", func(s *identityv1alpha1.ScimTenantSpec) {
			s.Roles = append(s.Roles, identityv1alpha1.RoleMapping{Name: "root", ClusterRole: "cluster-admin"})
		}), ReasonClusterRoleNotGrantable},
		{"quota namespaces without admin grantable", tenant("idp", func(s *identityv1alpha1.ScimTenantSpec) {
			s.StorageQuotaPolicy = identityv1alpha1.StorageQuotaEnforce
		}), ReasonClusterRoleNotGrantable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			workspace := &corev1.Namespace{}
			if err := c.Get(context.Background(), client.ObjectKey{Name: tc.tenant.Spec.Workspace}, workspace); client.IgnoreNotFound(err) != nil {
				t.Fatal(err)
			}
			refused := grants.checkTenant(tc.tenant, workspace)
			switch {
			case tc.reason == "" && refused != nil:
				t.Errorf("refused: %s", refused.message)
			case tc.reason != "" && (refused == nil || refused.reason != tc.reason):
				t.Errorf("got %+v, want a refusal %s", refused, tc.reason)
			}
		})
	}
	if _, err := grants.checkBinding(context.Background(), c, tenant("no-such", nil), "view"); !apierrors.IsNotFound(err) {
		t.Errorf("a missing workspace: %v, want NotFound", err)
	}
}
