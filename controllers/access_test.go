package controllers_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers"
	"github.com/scim-operator/scim-operator/internal/testenv"
)

// can asks the API server whether a user (with groups) may do verb on resource in
// namespace: effective access, not just the objects that should grant it.
func can(g Gomega, user string, groups []string, verb, resource, namespace string) bool {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, Groups: groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Resource: resource},
	}}
	g.Expect(k8sClient.Create(context.Background(), sar)).To(Succeed())
	return sar.Status.Allowed
}

var aggregateDefaultRoles = sync.OnceValue(func() error {
	return testenv.FillAggregatedRoles(context.Background(), k8sClient)
})

func accessTenant(t *testing.T, ns string, mutate func(*identityv1alpha1.ScimTenant)) *identityv1alpha1.ScimTenant {
	if err := aggregateDefaultRoles(); err != nil {
		t.Fatal(err)
	}
	return newTenantWithToken(t, ns, "idp", func(tn *identityv1alpha1.ScimTenant) {
		tn.Spec.SubjectPrefix = "oidc:"
		tn.Spec.Roles = []identityv1alpha1.RoleMapping{{Name: "viewer", ClusterRole: "view"}, {Name: "editor", ClusterRole: "edit"}}
		if mutate != nil {
			mutate(tn)
		}
	})
}

func TestUserAccessFollowsItsLifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "access-life"
	accessTenant(t, ns, nil)
	user := validUser(ns, "idp", "alice")
	g.Expect(k8sClient.Create(ctx, user)).To(Succeed())
	subject := "oidc:alice@example.com"

	// Created: the default role, bound in the workspace, effective at once.
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, subject, nil, "list", "pods", ns)).To(BeTrue())
		g.Expect(can(g, subject, nil, "create", "pods", ns)).To(BeFalse())
		c := condition(g, user, func() []metav1.Condition { return user.Status.Conditions }, identityv1alpha1.ConditionReady)
		g.Expect(c.Reason).To(Equal(controllers.ReasonBound))
		g.Expect(user.Finalizers).To(ContainElement(identityv1alpha1.FinalizerCleanup))
	}, eventually).Should(Succeed())
	var rb rbacv1.RoleBinding
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "scim-user-alice"}, &rb)).To(Succeed())
	g.Expect(rb.Labels).To(HaveKeyWithValue(identityv1alpha1.LabelManagedBy, "scim-operator"))

	// An administrator's role rebinds.
	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.Role = ptr.To("editor") })
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, subject, nil, "create", "pods", ns)).To(BeTrue())
	}, eventually).Should(Succeed())

	// A rename moves the binding to the new subject.
	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.UserName = "alice.smith@example.com" })
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, "oidc:alice.smith@example.com", nil, "create", "pods", ns)).To(BeTrue())
		g.Expect(can(g, subject, nil, "list", "pods", ns)).To(BeFalse())
	}, eventually).Should(Succeed())
	subject = "oidc:alice.smith@example.com"

	// Deactivated: no access, role kept; reactivated: access back.
	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.Active = ptr.To(false) })
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, subject, nil, "list", "pods", ns)).To(BeFalse())
		c := condition(g, user, func() []metav1.Condition { return user.Status.Conditions }, identityv1alpha1.ConditionSuspended)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(user.Status.Role).To(Equal("editor"))
	}, eventually).Should(Succeed())
	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.Active = ptr.To(true) })
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, subject, nil, "create", "pods", ns)).To(BeTrue())
	}, eventually).Should(Succeed())

	// A binding deleted by hand comes back.
	g.Expect(k8sClient.Delete(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "scim-user-alice"}})).To(Succeed())
	// The authorizer may still answer from the deleted binding for a moment: the binding
	// itself must be back.
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "scim-user-alice"}, &rb)).To(Succeed())
		g.Expect(can(g, subject, nil, "create", "pods", ns)).To(BeTrue())
	}, eventually).Should(Succeed())

	// A binding edited by hand is put back as the operator wants it: someone else's
	// subject goes, the user's comes back.
	rb.Subjects[0].Name = "oidc:mallory@example.com"
	g.Expect(k8sClient.Update(ctx, &rb)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, "oidc:mallory@example.com", nil, "list", "pods", ns)).To(BeFalse())
		g.Expect(can(g, subject, nil, "create", "pods", ns)).To(BeTrue())
	}, eventually).Should(Succeed())

	// A binding of the user's in a namespace that is no longer its workspace (a former
	// one, say) is a stray: found through the index of bindings, and removed.
	former := ns + "-former"
	g.Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: former}})).To(Succeed())
	stray := rb.DeepCopy()
	stray.ObjectMeta = metav1.ObjectMeta{Namespace: former, Name: rb.Name, Labels: rb.Labels}
	g.Expect(k8sClient.Create(ctx, stray)).To(Succeed())
	g.Eventually(func(g Gomega) {
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(stray), &rbacv1.RoleBinding{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the stray binding is still there: %v", err)
	}, eventually).Should(Succeed())
	g.Expect(can(g, subject, nil, "create", "pods", ns)).To(BeTrue())

	// Deleted: access gone, then the object (retention 0).
	g.Expect(k8sClient.Delete(ctx, user)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, subject, nil, "list", "pods", ns)).To(BeFalse())
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(user), &identityv1alpha1.ScimUser{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "got %v", err)
	}, eventually).Should(Succeed())
}

func TestDeletedUserIsRetainedWithoutAccess(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "access-retention"
	accessTenant(t, ns, func(tn *identityv1alpha1.ScimTenant) { tn.Spec.Deprovisioning.Retention = "3s" })
	user := validUser(ns, "idp", "bob")
	g.Expect(k8sClient.Create(ctx, user)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, "oidc:bob@example.com", nil, "list", "pods", ns)).To(BeTrue())
	}, eventually).Should(Succeed())
	g.Expect(k8sClient.Delete(ctx, user)).To(Succeed())
	deleted := time.Now()
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, "oidc:bob@example.com", nil, "list", "pods", ns)).To(BeFalse())
	}, eventually).Should(Succeed())
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(user), &identityv1alpha1.ScimUser{})).To(Succeed(), "removed before its retention")
	g.Eventually(func(g Gomega) {
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(user), &identityv1alpha1.ScimUser{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
	}, eventually).Should(Succeed())
	g.Expect(time.Since(deleted)).To(BeNumerically(">=", 2*time.Second))
}

func TestStorageQuotaNamespace(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "access-quota"
	accessTenant(t, ns, func(tn *identityv1alpha1.ScimTenant) {
		tn.Spec.StorageQuotaPolicy = identityv1alpha1.StorageQuotaEnforce
		tn.Spec.DefaultStorageQuota = ptr.To(resource.MustParse("5Gi"))
	})
	user := validUser(ns, "idp", "carol")
	g.Expect(k8sClient.Create(ctx, user)).To(Succeed())
	quotaNS := controllers.QuotaNamespaceName(user)
	subject := "oidc:carol@example.com"
	var rq corev1.ResourceQuota
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: quotaNS, Name: controllers.QuotaName}, &rq)).To(Succeed())
		g.Expect(rq.Spec.Hard.Name(corev1.ResourceRequestsStorage, resource.BinarySI).String()).To(Equal("5Gi"))
		g.Expect(rq.Spec.Hard).To(HaveKey(corev1.ResourcePersistentVolumeClaims))
		g.Expect(can(g, subject, nil, "create", "persistentvolumeclaims", quotaNS)).To(BeTrue())
	}, eventually).Should(Succeed())
	var namespace corev1.Namespace
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: quotaNS}, &namespace)).To(Succeed())
	g.Expect(namespace.Labels).To(HaveKeyWithValue(identityv1alpha1.LabelUser, "carol"))

	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.StorageQuota = ptr.To(resource.MustParse("10Gi")) })
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: quotaNS, Name: controllers.QuotaName}, &rq)).To(Succeed())
		g.Expect(rq.Spec.Hard.Name(corev1.ResourceRequestsStorage, resource.BinarySI).String()).To(Equal("10Gi"))
	}, eventually).Should(Succeed())

	// Suspended: unbound from the namespace, which stays with the user's data.
	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.Active = ptr.To(false) })
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, subject, nil, "create", "persistentvolumeclaims", quotaNS)).To(BeFalse())
	}, eventually).Should(Succeed())
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: quotaNS}, &namespace)).To(Succeed())
}

func TestGroupIsATeam(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "access-team"
	accessTenant(t, ns, nil)
	user := validUser(ns, "idp", "dave")
	g.Expect(k8sClient.Create(ctx, user)).To(Succeed())
	group := &identityv1alpha1.ScimGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "devs"},
		Spec: identityv1alpha1.ScimGroupSpec{TenantRef: identityv1alpha1.TenantReference{Name: "idp"}, DisplayName: "Developers",
			ExternalID: "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", Role: ptr.To("editor"),
			Members: []identityv1alpha1.GroupMember{{Value: "dave"}}},
	}
	g.Expect(k8sClient.Create(ctx, group)).To(Succeed())
	g.Eventually(func(g Gomega) {
		// A member logs in with the group in its token: the team binding applies.
		g.Expect(can(g, "oidc:someone", []string{"oidc:Developers"}, "create", "pods", ns)).To(BeTrue())
	}, eventually).Should(Succeed())

	// Entra puts group object ids in tokens: the tenant can bind by externalId.
	change(t, validTenant(ns, "idp"), func(tn *identityv1alpha1.ScimTenant) { tn.Spec.GroupSubject = identityv1alpha1.GroupSubjectExternalID })
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, "oidc:someone", []string{"oidc:8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}, "create", "pods", ns)).To(BeTrue())
		g.Expect(can(g, "oidc:someone", []string{"oidc:Developers"}, "create", "pods", ns)).To(BeFalse())
	}, eventually).Should(Succeed())

	g.Expect(k8sClient.Delete(ctx, group)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, "oidc:someone", []string{"oidc:8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}, "list", "pods", ns)).To(BeFalse())
	}, eventually).Should(Succeed())
}

// Whoever may write a ScimTenant chooses its workspace and roles: that must not be
// enough to have cluster-admin bound, or any role bound in someone else's namespace.
func TestTenantWritersCannotGrantBeyondWhatTheClusterAllows(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns, ws := "access-grant", "access-grant-ws"
	newNamespace(t, ws)
	tenant := accessTenant(t, ns, func(tn *identityv1alpha1.ScimTenant) {
		tn.Spec.Workspace = ws
		tn.Spec.Roles = append(tn.Spec.Roles, identityv1alpha1.RoleMapping{Name: "root", ClusterRole: "cluster-admin"})
	})
	user := validUser(ns, "idp", "erin")
	g.Expect(k8sClient.Create(ctx, user)).To(Succeed())
	group := &identityv1alpha1.ScimGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ops"},
		Spec:       identityv1alpha1.ScimGroupSpec{TenantRef: identityv1alpha1.TenantReference{Name: "idp"}, DisplayName: "Ops"},
	}
	g.Expect(k8sClient.Create(ctx, group)).To(Succeed())
	subject, team := "oidc:erin@example.com", []string{"oidc:Ops"}
	reasons := func(g Gomega) (string, string, string) {
		u := condition(g, user, func() []metav1.Condition { return user.Status.Conditions }, identityv1alpha1.ConditionReady)
		gr := condition(g, group, func() []metav1.Condition { return group.Status.Conditions }, identityv1alpha1.ConditionReady)
		tn := condition(g, tenant, func() []metav1.Condition { return tenant.Status.Conditions }, identityv1alpha1.ConditionReady)
		return u.Reason, gr.Reason, tn.Reason
	}

	// Another namespace that has not accepted the tenant: nothing is bound there.
	g.Eventually(func(g Gomega) {
		u, gr, tn := reasons(g)
		g.Expect([]string{u, gr, tn}).To(Equal([]string{controllers.ReasonWorkspaceNotPermitted, controllers.ReasonWorkspaceNotPermitted, controllers.ReasonWorkspaceNotPermitted}))
	}, eventually).Should(Succeed())
	g.Expect(can(g, subject, nil, "list", "pods", ws)).To(BeFalse())

	// Its administrators accept the tenant's namespace: access follows.
	acceptance := func(value string) {
		change(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ws}}, func(n *corev1.Namespace) {
			n.Annotations = map[string]string{identityv1alpha1.AnnotationWorkspaceTenants: value}
		})
	}
	acceptance(ns)
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, subject, nil, "list", "pods", ws)).To(BeTrue())
		g.Expect(can(g, "oidc:someone", team, "list", "pods", ws)).To(BeTrue())
		u, gr, tn := reasons(g)
		// The tenant still maps a role to cluster-admin, which it may not grant.
		g.Expect([]string{u, gr, tn}).To(Equal([]string{controllers.ReasonBound, controllers.ReasonBound, controllers.ReasonClusterRoleNotGrantable}))
	}, eventually).Should(Succeed())

	// Neither a user nor a team gets cluster-admin through the tenant's mapping.
	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.Role = ptr.To("root") })
	change(t, group, func(gr *identityv1alpha1.ScimGroup) { gr.Spec.Role = ptr.To("root") })
	g.Eventually(func(g Gomega) {
		u, gr, _ := reasons(g)
		g.Expect([]string{u, gr}).To(Equal([]string{controllers.ReasonClusterRoleNotGrantable, controllers.ReasonClusterRoleNotGrantable}))
		g.Expect(can(g, subject, nil, "list", "pods", ws)).To(BeFalse())
		g.Expect(can(g, "oidc:someone", team, "list", "pods", ws)).To(BeFalse())
	}, eventually).Should(Succeed())
	var rbs rbacv1.RoleBindingList
	g.Expect(k8sClient.List(ctx, &rbs)).To(Succeed())
	for _, rb := range rbs.Items {
		g.Expect(rb.RoleRef.Name).NotTo(Equal("cluster-admin"), "RoleBinding %s/%s", rb.Namespace, rb.Name)
	}

	// Withdrawing the acceptance withdraws the access it allowed.
	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.Role = ptr.To("viewer") })
	g.Eventually(func(g Gomega) { g.Expect(can(g, subject, nil, "list", "pods", ws)).To(BeTrue()) }, eventually).Should(Succeed())
	acceptance("someone-else")
	g.Eventually(func(g Gomega) {
		g.Expect(can(g, subject, nil, "list", "pods", ws)).To(BeFalse())
		u, _, _ := reasons(g)
		g.Expect(u).To(Equal(controllers.ReasonWorkspaceNotPermitted))
	}, eventually).Should(Succeed())
}

func TestSystemSubjectsAreNeverBound(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "access-system"
	newTenantWithToken(t, ns, "idp", func(tn *identityv1alpha1.ScimTenant) {
		tn.Spec.Roles = []identityv1alpha1.RoleMapping{{Name: "viewer", ClusterRole: "view"}}
	})
	for i, name := range []string{"system:masters", "SYSTEM:kube-controller-manager", " system:anonymous"} {
		user := validUser(ns, "idp", fmt.Sprintf("hostile-%d", i))
		user.Spec.UserName = name
		g.Expect(k8sClient.Create(ctx, user)).To(Succeed())
		g.Eventually(func(g Gomega) {
			c := condition(g, user, func() []metav1.Condition { return user.Status.Conditions }, identityv1alpha1.ConditionReady)
			g.Expect(c.Reason).To(Equal(controllers.ReasonSubjectRefused))
		}, eventually).Should(Succeed())
		var rbs rbacv1.RoleBindingList
		g.Expect(k8sClient.List(ctx, &rbs, client.InNamespace(ns), client.MatchingLabels{identityv1alpha1.LabelUser: user.Name})).To(Succeed())
		g.Expect(rbs.Items).To(BeEmpty())
	}
}

func TestOthersBindingsAreNeverTouched(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "access-foreign"
	accessTenant(t, ns, nil)
	foreign := func(name string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "platform-admin"}}}
	}
	g.Expect(k8sClient.Create(ctx, foreign("team-admins"))).To(Succeed())
	// A binding that happens to have the name the operator would use stays someone else's.
	g.Expect(k8sClient.Create(ctx, foreign("scim-user-erin"))).To(Succeed())
	user := validUser(ns, "idp", "erin")
	g.Expect(k8sClient.Create(ctx, user)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g, user, func() []metav1.Condition { return user.Status.Conditions }, identityv1alpha1.ConditionReady)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Message).To(ContainSubstring("not managed by scim-operator"))
	}, eventually).Should(Succeed())
	g.Expect(k8sClient.Delete(ctx, user)).To(Succeed())
	g.Eventually(func(g Gomega) {
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(user), &identityv1alpha1.ScimUser{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
	}, eventually).Should(Succeed())
	for _, name := range []string{"team-admins", "scim-user-erin"} {
		var rb rbacv1.RoleBinding
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &rb)).To(Succeed())
		g.Expect(rb.Subjects[0].Name).To(Equal("platform-admin"))
	}
}
