package controllers

import (
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
)

// A user deleted just after its binding was made must not leave the binding behind,
// granting access to an identity that no longer exists.
func TestReleaseRemovesBindingsTheCacheHasNotShown(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := identityv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	user := &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "idp", Name: "u1",
		Finalizers: []string{identityv1alpha1.FinalizerCleanup}, DeletionTimestamp: &metav1.Time{Time: time.Now()}},
		Spec:   identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: "entra"}, UserName: "u1@example.com"},
		Status: identityv1alpha1.ScimUserStatus{Workspace: "team"}}
	ours := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "scim-user-u1",
		Labels: identityLabels(identityv1alpha1.LabelUser, user, "entra")},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}}
	// Someone else's binding of the same name where the user's quota namespace would be.
	theirs := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: QuotaNamespaceName(user), Name: "scim-user-u1"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"}}
	api := fake.NewClientBuilder().WithScheme(scheme).WithObjects(user, ours, theirs).Build()

	// The index is empty, as one whose RoleBinding watch lags behind the identities'
	// (after an API server restart, say) would be right after a binding was made.
	stale := index.NewRoleBindings().Users
	_, err := finalizeIdentity(context.Background(), api, api, nil, deletion{obj: user, owned: stale,
		bindings: userBindingNames(nil, user)})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Get(context.Background(), client.ObjectKeyFromObject(ours), &rbacv1.RoleBinding{}); !apierrors.IsNotFound(err) {
		t.Errorf("the deleted user's binding outlived it (%v)", err)
	}
	if err := api.Get(context.Background(), client.ObjectKeyFromObject(theirs), &rbacv1.RoleBinding{}); err != nil {
		t.Errorf("someone else's binding was touched: %v", err)
	}
	if err := api.Get(context.Background(), client.ObjectKeyFromObject(user), &identityv1alpha1.ScimUser{}); !apierrors.IsNotFound(err) {
		t.Errorf("the user was not released (%v)", err)
	}
}
