package controllers_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers"
	"github.com/scim-operator/scim-operator/internal/token"
)

const eventually = 20 * time.Second

func newNamespace(t *testing.T, name string) {
	t.Helper()
	if err := k8sClient.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

// newTenantWithToken creates a namespace holding a tenant, adjusted by mutate, and its token Secret.
func newTenantWithToken(t *testing.T, namespace, name string, mutate func(*identityv1alpha1.ScimTenant)) *identityv1alpha1.ScimTenant {
	t.Helper()
	newNamespace(t, namespace)
	ctx := context.Background()
	if err := k8sClient.Create(ctx, token.NewSecret(namespace, name+"-token", name, "a-token-of-enough-length")); err != nil {
		t.Fatal(err)
	}
	tenant := validTenant(namespace, name)
	mutate(tenant)
	if err := k8sClient.Create(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	return tenant
}

// change applies mutate to the latest version of obj, as kubectl edit would.
func change[T client.Object](t *testing.T, obj T, mutate func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return k8sClient.Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func condition(g Gomega, obj client.Object, conds func() []metav1.Condition, typ string) *metav1.Condition {
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	c := meta.FindStatusCondition(conds(), typ)
	g.Expect(c).NotTo(BeNil(), "condition %s", typ)
	return c
}

func TestTenantBecomesReadyWithURLAndToken(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	newNamespace(t, "tenant-ready")
	tenant := validTenant("tenant-ready", "entra")
	g.Expect(k8sClient.Create(ctx, tenant)).To(Succeed())

	// No Secret yet: the tenant says exactly what is missing.
	g.Eventually(func(g Gomega) {
		c := condition(g, tenant, func() []metav1.Condition { return tenant.Status.Conditions }, identityv1alpha1.ConditionTokenValid)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal("TokenSecretNotFound"))
		g.Expect(c.Message).To(ContainSubstring(`"entra-token"`))
	}, eventually).Should(Succeed())

	// An unlabelled Secret is labelled by the operator, so that the SCIM server sees it.
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-ready", Name: "entra-token"},
		Data:       map[string][]byte{token.KeySHA256: []byte(token.Hash("a-token-of-enough-length"))},
	}
	g.Expect(k8sClient.Create(ctx, secret)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g, tenant, func() []metav1.Condition { return tenant.Status.Conditions }, identityv1alpha1.ConditionReady)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(c.ObservedGeneration).To(Equal(tenant.Generation))
		g.Expect(tenant.Status.TenantURL).To(Equal(externalURL + "/scim/tenant-ready/entra/v2"))
		g.Expect(tenant.Status.Users).To(Equal(ptr.To(int32(0))))
		g.Expect(tenant.Status.ObservedGeneration).To(Equal(tenant.Generation))
	}, eventually).Should(Succeed())
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(secret), secret)).To(Succeed())
	g.Expect(secret.Labels).To(HaveKeyWithValue(identityv1alpha1.LabelTenant, "entra"))

	// An expired token makes the tenant unusable, and says so.
	change(t, secret, func(s *corev1.Secret) {
		s.Annotations = map[string]string{token.AnnotationExpiresAt: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}
	})
	g.Eventually(func(g Gomega) {
		c := condition(g, tenant, func() []metav1.Condition { return tenant.Status.Conditions }, identityv1alpha1.ConditionTokenValid)
		g.Expect(c.Reason).To(Equal("TokenExpired"))
	}, eventually).Should(Succeed())

	// The per-tenant URL override wins over the manager's.
	change(t, tenant, func(tn *identityv1alpha1.ScimTenant) { tn.Spec.ExternalBaseURL = "https://id.example.org/base" })
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(tenant), tenant)).To(Succeed())
		g.Expect(tenant.Status.TenantURL).To(Equal("https://id.example.org/base/scim/tenant-ready/entra/v2"))
	}, eventually).Should(Succeed())
}

func TestTenantReportsMissingConfigurationAndRecovers(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	tenant := newTenantWithToken(t, "tenant-missing", "okta", func(tn *identityv1alpha1.ScimTenant) {
		tn.Spec.Workspace = "okta-workspace"
		tn.Spec.Roles = append(tn.Spec.Roles, identityv1alpha1.RoleMapping{Name: "auditor", ClusterRole: "scim-test-auditor"})
	})
	ready := func(g Gomega) *metav1.Condition {
		return condition(g, tenant, func() []metav1.Condition { return tenant.Status.Conditions }, identityv1alpha1.ConditionReady)
	}

	g.Eventually(func(g Gomega) {
		c := ready(g)
		g.Expect(c.Reason).To(Equal("WorkspaceNotFound"))
		g.Expect(c.Message).To(ContainSubstring(`"okta-workspace"`))
	}, eventually).Should(Succeed())

	newNamespace(t, "okta-workspace")
	g.Eventually(func(g Gomega) {
		c := ready(g)
		g.Expect(c.Reason).To(Equal("ClusterRoleNotFound"))
		g.Expect(c.Message).To(ContainSubstring("scim-test-auditor (role auditor)"))
	}, eventually).Should(Succeed())

	g.Expect(k8sClient.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "scim-test-auditor"}})).To(Succeed())
	// The workspace is another namespace: it must accept this tenant's namespace.
	g.Eventually(func(g Gomega) {
		c := ready(g)
		g.Expect(c.Reason).To(Equal(controllers.ReasonWorkspaceNotPermitted))
		g.Expect(c.Message).To(ContainSubstring("kubectl annotate namespace okta-workspace identity.scim-operator.io/workspace-for=tenant-missing"))
	}, eventually).Should(Succeed())

	change(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "okta-workspace"}}, func(ns *corev1.Namespace) {
		ns.Annotations = map[string]string{identityv1alpha1.AnnotationWorkspaceTenants: "elsewhere, tenant-missing"}
	})
	g.Eventually(func(g Gomega) {
		c := ready(g)
		g.Expect(c.Reason).To(Equal(controllers.ReasonClusterRoleNotGrantable))
		g.Expect(c.Message).To(ContainSubstring("scim-test-auditor (role auditor)"))
	}, eventually).Should(Succeed())

	change(t, tenant, func(tn *identityv1alpha1.ScimTenant) { tn.Spec.Roles = tn.Spec.Roles[:len(tn.Spec.Roles)-1] })
	g.Eventually(func(g Gomega) {
		g.Expect(ready(g).Status).To(Equal(metav1.ConditionTrue))
	}, eventually).Should(Succeed())

	change(t, tenant, func(tn *identityv1alpha1.ScimTenant) { tn.Spec.Paused = ptr.To(true) })
	g.Eventually(func(g Gomega) { g.Expect(ready(g).Reason).To(Equal("Paused")) }, eventually).Should(Succeed())
}

func TestUserGetsDefaultsOnceAndCountsShowOnTenant(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	tenant := newTenantWithToken(t, "users", "idp", func(tn *identityv1alpha1.ScimTenant) {
		tn.Spec.Roles = append(tn.Spec.Roles, identityv1alpha1.RoleMapping{Name: "editor", ClusterRole: "edit"})
	})

	user := validUser("users", "idp", "alice")
	g.Expect(k8sClient.Create(ctx, user)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g, user, func() []metav1.Condition { return user.Status.Conditions }, identityv1alpha1.ConditionReady)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(user.Status.Role).To(Equal("viewer"))
		g.Expect(user.Status.Workspace).To(Equal("users"))
	}, eventually).Should(Succeed())

	// A new default does not move a user who already has a role.
	change(t, tenant, func(tn *identityv1alpha1.ScimTenant) { tn.Spec.DefaultRole = "editor" })
	g.Consistently(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(user), user)).To(Succeed())
		g.Expect(user.Status.Role).To(Equal("viewer"))
	}, 2*time.Second).Should(Succeed())

	// Deactivation shows as Suspended.
	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.Active = ptr.To(false) })
	g.Eventually(func(g Gomega) {
		c := condition(g, user, func() []metav1.Condition { return user.Status.Conditions }, identityv1alpha1.ConditionSuspended)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	}, eventually).Should(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "users", Name: "idp"}, tenant)).To(Succeed())
		g.Expect(tenant.Status.Users).To(Equal(ptr.To(int32(1))))
	}, eventually).Should(Succeed())
}

func TestGroupReportsUnresolvedMembersUntilTheyExist(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	newNamespace(t, "groups")
	g.Expect(k8sClient.Create(ctx, validTenant("groups", "idp"))).To(Succeed())
	group := &identityv1alpha1.ScimGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: "groups", Name: "g1"},
		Spec: identityv1alpha1.ScimGroupSpec{
			TenantRef:   identityv1alpha1.TenantReference{Name: "idp"},
			DisplayName: "Engineers",
			Members:     []identityv1alpha1.GroupMember{{Value: "bob"}, {Value: "carol"}},
		},
	}
	g.Expect(k8sClient.Create(ctx, group)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g, group, func() []metav1.Condition { return group.Status.Conditions }, identityv1alpha1.ConditionMembersResolved)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(group.Status.UnresolvedMembers).To(ConsistOf("bob", "carol"))
		g.Expect(group.Status.MemberCount).To(Equal(ptr.To(int32(2))))
	}, eventually).Should(Succeed())

	for _, name := range []string{"bob", "carol"} {
		g.Expect(k8sClient.Create(ctx, validUser("groups", "idp", name))).To(Succeed())
	}
	g.Eventually(func(g Gomega) {
		c := condition(g, group, func() []metav1.Condition { return group.Status.Conditions }, identityv1alpha1.ConditionMembersResolved)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(group.Status.UnresolvedMembers).To(BeEmpty())
		g.Expect(group.Status.UnresolvedMemberCount).To(Equal(ptr.To(int32(0))))
	}, eventually).Should(Succeed())
}
