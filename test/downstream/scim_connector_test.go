// Package downstream_test runs the SCIM connector against a real SCIM peer: this
// project's own SCIM server, serving a second tenant, with the operator restarted in the
// middle of the sync.
package downstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/testenv"
	"github.com/scim-operator/scim-operator/internal/token"
	"github.com/scim-operator/scim-operator/scimserver"
)

var (
	cfg       *rest.Config
	k8sClient client.Client
	setupErr  error
)

func TestMain(m *testing.M) {
	env, c, err := testenv.StartQuiet()
	if errors.Is(err, testenv.ErrNoBinaries) {
		setupErr = err
		os.Exit(m.Run())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg = c
	if k8sClient, err = client.New(cfg, client.Options{Scheme: manager.Scheme()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

const (
	users         = 120
	groups        = 3
	appToken      = "scimop_the-apps-own-token-0000000000"
	roleAttribute = "urn:example:params:scim:schemas:extension:app:2.0:User:role"
	quotaAttr     = "urn:example:params:scim:schemas:extension:app:2.0:User:quotaBytes"
)

// startOperator runs a whole operator (controllers and SCIM server) on addr, as a pod
// would, until stop is called.
func startOperator(t *testing.T, addr string) (stop func()) {
	t.Helper()
	mgr, err := manager.New(context.Background(), cfg, manager.Options{MetricsAddr: "0", ProbeAddr: "0",
		ExternalURL: "http://" + addr, MaxConcurrentReconciles: 4, SCIM: scimserver.Options{BindAddress: addr}, Restartable: true})
	if err != nil {
		t.Fatal(err)
	}
	stopMgr, err := testenv.StartManager(mgr)
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := stopMgr(); err != nil {
			t.Errorf("stopping the operator: %v", err)
		}
	}
}

// Users and groups of one tenant are provisioned, through the SCIM connector, into a
// second tenant served by the same operator's SCIM server, a real SCIM peer. The
// operator is stopped and started again in the middle: the app ends up with every user
// and group exactly once, with the role and quota attributes it asked for.
func TestSCIMConnectorConvergesAcrossARestart(t *testing.T) {
	if setupErr != nil {
		t.Skip(setupErr.Error())
	}
	g := NewWithT(t)
	ctx := context.Background()
	addr := testenv.FreeAddr()
	scimBase = "http://" + addr + "/scim/target/app/v2"
	for _, ns := range []string{"source", "target"} {
		g.Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	// The app: tenant "app" of namespace target, reached over SCIM with its own token.
	g.Expect(k8sClient.Create(ctx, token.NewSecret("target", "app-token", "app", appToken))).To(Succeed())
	g.Expect(k8sClient.Create(ctx, testenv.Tenant("target", "app"))).To(Succeed())
	// The identity provider's tenant, whose users the app receives.
	g.Expect(k8sClient.Create(ctx, token.NewSecret("source", "entra-token", "entra", "scimop_the-entra-token-0000000000000"))).To(Succeed())
	source := testenv.Tenant("source", "entra")
	source.Spec.DefaultStorageQuota = ptr.To(resource.MustParse("20Gi"))
	g.Expect(k8sClient.Create(ctx, source)).To(Succeed())
	g.Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "source", Name: "app-credentials"},
		StringData: map[string]string{"token": appToken}})).To(Succeed())
	g.Expect(k8sClient.Create(ctx, &identityv1alpha1.DownstreamApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: "source", Name: "portal"},
		Spec: identityv1alpha1.DownstreamAppSpec{
			TenantRef:   identityv1alpha1.TenantReference{Name: "entra"},
			Scope:       identityv1alpha1.AppScope{Type: identityv1alpha1.ScopeAllUsers},
			RoleMapping: []identityv1alpha1.AppRoleMapping{{Role: "viewer", AppRole: "member"}},
			SCIM: &identityv1alpha1.SCIMConnector{BaseURL: "http://" + addr + "/scim/target/app/v2",
				TokenSecretRef: identityv1alpha1.SecretReference{Name: "app-credentials"}, Groups: identityv1alpha1.SyncGroups,
				RoleAttribute: roleAttribute, QuotaAttribute: quotaAttr},
		},
	})).To(Succeed())
	for i := range users {
		u := &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "source", Name: fmt.Sprintf("user-%03d", i)},
			Spec: identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: "entra"},
				UserName: fmt.Sprintf("user-%03d@example.com", i), DisplayName: fmt.Sprintf("User %d", i)}}
		g.Expect(k8sClient.Create(ctx, u)).To(Succeed())
	}
	for i := range groups {
		grp := &identityv1alpha1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "source", Name: fmt.Sprintf("group-%d", i)},
			Spec: identityv1alpha1.ScimGroupSpec{TenantRef: identityv1alpha1.TenantReference{Name: "entra"}, DisplayName: fmt.Sprintf("Team %d", i)}}
		for j := i; j < users; j += groups {
			grp.Spec.Members = append(grp.Spec.Members, identityv1alpha1.GroupMember{Value: fmt.Sprintf("user-%03d", j)})
		}
		g.Expect(k8sClient.Create(ctx, grp)).To(Succeed())
	}

	start := time.Now()
	stop := startOperator(t, addr)
	g.Eventually(func() int { return len(appUsers(g)) }, time.Minute, 50*time.Millisecond).Should(BeNumerically(">=", users/4))
	stop() // mid-sync: some users are created in the app, their status not yet written
	t.Logf("restarted with %d of %d users in the app", len(appUsers(g)), users)
	stop = startOperator(t, addr)
	defer stop()

	g.Eventually(func(g Gomega) {
		var list identityv1alpha1.ScimUserList
		g.Expect(k8sClient.List(ctx, &list, client.InNamespace("source"))).To(Succeed())
		for _, u := range list.Items {
			g.Expect(u.Status.Apps).To(ContainElement(And(HaveField("App", "portal"), HaveField("State", identityv1alpha1.AppDeliverySynced))), u.Name)
		}
	}, 2*time.Minute, time.Second).Should(Succeed())
	inApp := appUsers(g)
	g.Expect(inApp).To(HaveLen(users), "users in the app: duplicates or losses")
	t.Logf("%d users and %d groups in the app %s after the start, across a restart", users, groups, time.Since(start).Round(100*time.Millisecond))

	// Each user is the app's own resource, with the attributes the app named, and the
	// source user knows the app's id.
	var sourceUser identityv1alpha1.ScimUser
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "source", Name: "user-007"}, &sourceUser)).To(Succeed())
	remoteID := sourceUser.Status.Apps[0].RemoteID
	g.Expect(inApp).To(HaveKeyWithValue("user-007@example.com", remoteID))
	doc := scimGet(g, "/Users/"+remoteID)
	g.Expect(doc).To(HaveKeyWithValue("urn:example:params:scim:schemas:extension:app:2.0:User",
		And(HaveKeyWithValue("role", "member"), HaveKeyWithValue("quotaBytes", BeEquivalentTo(20<<30)))))
	g.Expect(doc).To(HaveKeyWithValue("displayName", "User 7"))

	// Groups arrive with the app's ids of their members.
	g.Eventually(func(g Gomega) {
		list := scimGet(g, "/Groups")
		g.Expect(list["totalResults"]).To(BeEquivalentTo(groups))
		for _, r := range list["Resources"].([]any) {
			grp := r.(map[string]any)
			g.Expect(grp["members"]).To(HaveLen(users/groups), "group %v", grp["displayName"])
		}
	}, time.Minute, time.Second).Should(Succeed())
	team0 := scimGet(g, `/Groups?filter=displayName+eq+"Team+0"`)["Resources"].([]any)[0].(map[string]any)
	g.Expect(team0["members"]).To(ContainElement(HaveKeyWithValue("value", inApp["user-000@example.com"])))

	// Deactivated and deleted in the identity provider: the same in the app.
	var u1 identityv1alpha1.ScimUser
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "source", Name: "user-001"}, &u1)).To(Succeed())
	u1.Spec.Active = ptr.To(false)
	g.Expect(k8sClient.Update(ctx, &u1)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(scimGet(g, "/Users/"+inApp["user-001@example.com"])["active"]).To(BeFalse()) }, time.Minute).Should(Succeed())
	g.Expect(k8sClient.Delete(ctx, &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "source", Name: "user-002"}})).To(Succeed())
	g.Eventually(func() map[string]string { return appUsers(g) }, time.Minute).ShouldNot(HaveKey("user-002@example.com"))
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: "source", Name: "user-002"}, &identityv1alpha1.ScimUser{}))
	}, time.Minute).Should(BeTrue())
}

// appUsers is every user the app holds, userName → the app's id, read from the API server.
func appUsers(g Gomega) map[string]string {
	var list identityv1alpha1.ScimUserList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace("target"))).To(Succeed())
	out := map[string]string{}
	for _, u := range list.Items {
		g.Expect(out).NotTo(HaveKey(u.Spec.UserName), "userName %s twice in the app", u.Spec.UserName)
		out[u.Spec.UserName] = u.Name
	}
	return out
}

// scimBase is the app's tenant URL, on the address the operator serves.
var scimBase string

func scimGet(g Gomega, path string) map[string]any {
	req, err := http.NewRequest(http.MethodGet, scimBase+path, nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+appToken)
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close() //nolint:errcheck // read fully
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), path)
	doc := map[string]any{}
	g.Expect(json.NewDecoder(resp.Body).Decode(&doc)).To(Succeed())
	return doc
}
