package chart_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/connectors/webhook"
	"github.com/scim-operator/scim-operator/controllers"
	"github.com/scim-operator/scim-operator/internal/testenv"
)

const (
	lpRelease   = "lp"
	lpNamespace = "scim-system"
	lpFullname  = "lp-scim-operator"
	idpNS       = "idp"
	workspace   = "team-a"
)

// The manager binary, run out of cluster as the chart's ServiceAccount with only what
// the chart grants it, goes through a whole provisioning flow. The API server's audit
// log then shows that it was refused nothing (the chart grants enough) and that it
// used every permission the chart grants (the chart grants nothing more).
func TestManagerNeedsExactlyTheChartsPermissions(t *testing.T) {
	needAPIServer(t)
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(60 * time.Second)
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	ctx := context.Background()

	// The ClusterRoles the tenant maps to have rules, as in a real cluster, so that
	// binding them takes the bind permission rather than holding them.
	g.Expect(testenv.FillAggregatedRoles(ctx, admin)).To(Succeed())
	for _, ns := range []string{workspace, "monitoring"} {
		g.Expect(ensureNamespace(ctx, ns, "test", nil)).To(Succeed())
	}
	// The workspace is not the tenant's namespace: a cluster administrator accepts it.
	g.Expect(admin.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: workspace}}, client.RawPatch(types.MergePatchType,
		fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, identityv1alpha1.AnnotationWorkspaceTenants, idpNS)))).To(Succeed())
	g.Expect(admin.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "prometheus"}})).To(Succeed())

	values := writeValues(t, map[string]any{
		"externalURL": "https://scim.example.com",
		"tenant": map[string]any{"enabled": true, "namespace": idpNS, "workspace": workspace,
			"storageQuotaPolicy": "Enforce"},
		"metrics": map[string]any{"readers": []any{map[string]any{"name": "prometheus", "namespace": "monitoring"}}},
	})
	objs := render(t, lpRelease, lpNamespace, "-f", values)
	g.Expect(apply(ctx, objs)).To(Succeed())

	serviceAccount := "system:serviceaccount:" + lpNamespace + ":" + lpFullname
	mgr := startManagerAs(t, serviceAccount, find(t, objs, "Deployment", lpFullname))
	t.Cleanup(func() {
		// A flow that stalls is most often a permission the chart lacks: say which.
		if refused := refusedRequests(t, serviceAccount); t.Failed() && len(refused) > 0 {
			t.Logf("requests refused to the chart's ServiceAccount:\n%s", strings.Join(refused, "\n"))
		}
	})

	token := secretToken(t, find(t, objs, "Secret", "entra-token"))
	scim := &scimClient{base: mgr.scimURL + "/scim/" + idpNS + "/entra/v2", token: token}
	g.Eventually(func() bool { return tenantReady(ctx, "entra") }).Should(BeTrue(), "tenant entra never became Ready")

	t.Run("helm test command", func(t *testing.T) { helmTestCommand(t, mgr.bin, scim) })
	provision(t, g, scim)
	secondTenantWithUnlabelledSecret(t, g, mgr.scimURL)
	metricNames := scrapeMetrics(t, g, mgr.metricsURL)
	mgr.stop(t)

	t.Run("logs carry no token and no personal data", func(t *testing.T) { checkLogs(t, mgr.LogPath, token, strangerToken) })
	t.Run("refused nothing", func(t *testing.T) {
		if refused := refusedRequests(t, serviceAccount); len(refused) > 0 {
			t.Errorf("the chart's ServiceAccount was refused:\n%s\nmanager log:\n%s", strings.Join(refused, "\n"), mgr.LogTail())
		}
	})
	t.Run("used every permission granted", func(t *testing.T) {
		used := map[string]bool{}
		for _, e := range auditEventsOf(t, serviceAccount) {
			// Any answer but 403 (a 404, a 409) means the request was authorized.
			if e.ObjectRef != nil && e.ResponseStatus.Code != http.StatusForbidden {
				used[permission(e.ObjectRef.APIGroup, e.ObjectRef.Resource, e.ObjectRef.Subresource, e.Verb)] = true
			}
		}
		// An informer starts with a streaming watch where the API server supports it,
		// and falls back to list where it does not (before Kubernetes 1.34): a watched
		// resource needs list too.
		for p := range used {
			if resource, ok := strings.CutSuffix(p, ":watch"); ok {
				used[resource+":list"] = true
			}
		}
		var unused []string
		for _, p := range grantedTo(t, objs, lpNamespace, lpFullname) {
			// bind is not a request: the API server checks it when a RoleBinding is
			// created, and below it is shown to be what allowed the bindings.
			if !used[p] && !strings.HasSuffix(p, "clusterroles:bind") {
				unused = append(unused, p)
			}
		}
		sort.Strings(unused)
		if len(unused) > 0 {
			t.Errorf("the chart grants permissions the manager never used (remove their RBAC markers, or cover them here):\n%s", strings.Join(unused, "\n"))
		}
	})
	t.Run("bind was needed", func(t *testing.T) {
		// provision saw the manager bind view, edit and admin without holding what
		// they grant: only the bind permission lets it.
		g := NewWithT(t)
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: serviceAccount, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + lpNamespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: workspace, Verb: "get", Resource: "pods"},
		}}
		g.Expect(admin.Create(ctx, sar)).To(Succeed())
		g.Expect(sar.Status.Allowed).To(BeFalse(), "the ServiceAccount holds view's rules itself, so bind is not proven necessary")
	})
	t.Run("bind only the grantable ClusterRoles", func(t *testing.T) {
		// Were the manager (or a ScimTenant writer through it) to bind anything else,
		// the API server would refuse: the chart grants bind on rbac.grantableClusterRoles only.
		g := NewWithT(t)
		for role, want := range map[string]bool{"admin": true, "edit": true, "view": true, "cluster-admin": false, "system:node": false} {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: serviceAccount, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + lpNamespace, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "bind", Group: rbacv1.GroupName, Resource: "clusterroles", Name: role},
			}}
			g.Expect(admin.Create(ctx, sar)).To(Succeed())
			g.Expect(sar.Status.Allowed).To(Equal(want), "may bind ClusterRole %s", role)
		}
	})
	t.Run("dashboard and alerts query exported metrics", func(t *testing.T) {
		checkQueriedMetrics(t, render(t, "dash", "dash", "-f", allFeatures), metricNames)
	})
}

// managerProcess is the manager binary running out of cluster.
type managerProcess struct {
	*testenv.Process
	bin        string
	scimURL    string
	metricsURL string
}

// startManagerAs builds the manager binary and runs it with the Deployment's arguments
// and a kubeconfig of the ServiceAccount's identity, on free local ports.
func startManagerAs(t *testing.T, user string, dep *unstructured.Unstructured) *managerProcess {
	t.Helper()
	dir := t.TempDir()
	bin, err := testenv.BuildManager(dir)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := env.AddUser(envtest.User{Name: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + lpNamespace}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := sa.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfigPath := writeTemp(t, "kubeconfig", kubeconfig)
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	scimAddr, metricsAddr := testenv.FreeAddr(), testenv.FreeAddr()
	// Later flags win: the pod's ports become free local ones (the probes' too, which
	// StartProcess adds), and out of cluster the Lease namespace cannot be read from the
	// pod's ServiceAccount.
	args = append(args, "--scim-bind-address="+scimAddr, "--metrics-bind-address="+metricsAddr,
		"--leader-election-namespace="+lpNamespace)
	proc, err := testenv.StartProcess(bin, args, kubeconfigPath, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proc.Kill)
	p := &managerProcess{Process: proc, bin: bin, scimURL: "http://" + scimAddr, metricsURL: "https://" + metricsAddr + "/metrics"}
	if err := p.WaitReady(60 * time.Second); err != nil {
		t.Fatalf("%v:\n%s", err, p.LogTail())
	}
	return p
}

// stop sends SIGTERM, as the kubelet does, and expects a clean exit that hands the
// Lease back within the pod's grace period.
func (p *managerProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.Stop(30 * time.Second); err != nil {
		t.Errorf("the manager did not stop cleanly on SIGTERM (%v):\n%s", err, p.LogTail())
	}
}

func secretToken(t *testing.T, s *unstructured.Unstructured) string {
	t.Helper()
	enc, _, _ := unstructured.NestedString(s.Object, "data", "token")
	tok, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || !strings.HasPrefix(string(tok), "scimop_") || len(tok) < 40 {
		t.Fatalf("the chart's token Secret holds no generated token (%q, %v)", tok, err)
	}
	return string(tok)
}

func tenantReady(ctx context.Context, name string) bool {
	tenant := &identityv1alpha1.ScimTenant{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: idpNS, Name: name}, tenant); err != nil {
		return false
	}
	return meta.IsStatusConditionTrue(tenant.Status.Conditions, identityv1alpha1.ConditionReady)
}

// scimClient speaks to one tenant as an identity provider does.
type scimClient struct {
	base, token string
}

func (c *scimClient) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() //nolint:errcheck // read fully
	doc := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc
}

func (c *scimClient) expect(t *testing.T, want int, method, path string, body any) map[string]any {
	t.Helper()
	got, doc := c.do(t, method, path, body)
	if got != want {
		t.Fatalf("%s %s: status %d, want %d: %v", method, path, got, want, doc)
	}
	return doc
}

func patchOp(op, path string, value any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": op, "path": path, "value": value}}}
}

// provision is what Entra ID and an admin do over a user's life, and the checks that
// the manager applied each step.
func provision(t *testing.T, g *WithT, scim *scimClient) {
	t.Helper()
	ctx := context.Background()
	hooks := newHookReceiver(t, g)
	userSchema := []string{"urn:ietf:params:scim:schemas:core:2.0:User"}
	alice := map[string]any{"schemas": userSchema, "userName": "alice@example.com", "externalId": "ext-alice-7f3a", "active": true,
		"displayName": "Alicia Liddellq", "name": map[string]any{"givenName": "Alicia", "familyName": "Liddellq"},
		"emails": []any{map[string]any{"value": "alicia.private@example.net", "primary": true}}}
	id := scim.expect(t, http.StatusCreated, http.MethodPost, "/Users", alice)["id"].(string)
	// A request the server refuses, naming a person: the refusal must not log the name.
	scim.expect(t, http.StatusBadRequest, http.MethodPost, "/Users", map[string]any{"schemas": userSchema,
		"userName": "bob.refused@example.com", "active": "maybe"})
	scim.expect(t, http.StatusConflict, http.MethodPost, "/Users", alice) // an identity provider's retry
	scim.expect(t, http.StatusOK, http.MethodGet, `/Users?filter=userName+eq+"alice@example.com"`, nil)
	scim.expect(t, http.StatusNotFound, http.MethodGet, "/Users/00000000-0000-4000-8000-000000000000", nil)
	team := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "team",
		"members": []any{map[string]any{"value": id}}}
	gid := scim.expect(t, http.StatusCreated, http.MethodPost, "/Groups", team)["id"].(string)
	scim.expect(t, http.StatusConflict, http.MethodPost, "/Groups", team)
	scim.expect(t, http.StatusNotFound, http.MethodGet, "/Groups/00000000-0000-4000-8000-000000000000", nil)

	userBinding := client.ObjectKey{Namespace: workspace, Name: "scim-user-" + id}
	g.Eventually(roleRefOf(userBinding)).Should(Equal("view"))
	g.Eventually(roleRefOf(client.ObjectKey{Namespace: workspace, Name: "scim-group-" + gid})).Should(Equal("view"))
	user := &identityv1alpha1.ScimUser{}
	g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: idpNS, Name: id}, user)).To(Succeed())
	quotaNS := controllers.QuotaNamespaceName(user)
	g.Eventually(roleRefOf(client.ObjectKey{Namespace: quotaNS, Name: "scim-user-" + id})).Should(Equal("admin"))

	// Entra renames the user: the binding's subject follows.
	scim.expect(t, http.StatusNoContent, http.MethodPatch, "/Users/"+id, patchOp("replace", "userName", "alice@example.org"))
	g.Eventually(subjectOf(userBinding)).Should(Equal("oidc:alice@example.org"))
	// An admin gives more room and a higher role: the quota and the binding change.
	g.Expect(admin.Patch(ctx, user, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"storageQuota":"10Gi","role":"editor"}}`)))).To(Succeed())
	g.Eventually(roleRefOf(userBinding)).Should(Equal("edit"))
	g.Eventually(func() string {
		rq := &corev1.ResourceQuota{}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: quotaNS, Name: controllers.QuotaName}, rq); err != nil {
			return err.Error()
		}
		q := rq.Spec.Hard[corev1.ResourceRequestsStorage]
		return q.String()
	}).Should(Equal("10Gi"))
	// Suspended twice and back: access goes and returns each time.
	for range 2 {
		scim.expect(t, http.StatusNoContent, http.MethodPatch, "/Users/"+id, patchOp("replace", "active", false))
		g.Eventually(roleRefOf(userBinding)).Should(Equal("absent"))
		scim.expect(t, http.StatusNoContent, http.MethodPatch, "/Users/"+id, patchOp("replace", "active", true))
		g.Eventually(roleRefOf(userBinding)).Should(Equal("edit"))
	}
	scim.expect(t, http.StatusNoContent, http.MethodPatch, "/Groups/"+gid, patchOp("remove", `members[value eq "`+id+`"]`, nil))
	stranger := &scimClient{base: scim.base, token: strangerToken}
	stranger.expect(t, http.StatusUnauthorized, http.MethodGet, "/Users", nil)

	scim.expect(t, http.StatusNoContent, http.MethodDelete, "/Groups/"+gid, nil)
	scim.expect(t, http.StatusNoContent, http.MethodDelete, "/Users/"+id, nil)
	g.Eventually(func() bool {
		return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Namespace: idpNS, Name: id}, &identityv1alpha1.ScimUser{}))
	}).Should(BeTrue(), "the deleted user was never released by its finalizer")
	g.Eventually(roleRefOf(userBinding)).Should(Equal("absent"))
	g.Eventually(roleRefOf(client.ObjectKey{Namespace: workspace, Name: "scim-group-" + gid})).Should(Equal("absent"))
	g.Expect(hooks.events(id)).To(ContainElements("upsert", "deactivate", "delete"), "the webhook app missed part of the user's life")
}

// strangerToken is a wrong token that provision presents.
const strangerToken = "scimop_not-the-token-at-all-000000000000"

// personalData is every value provision sends that identifies a person.
var personalData = []string{"alice@example.com", "alice@example.org", "ext-alice-7f3a", "Alicia", "Liddellq",
	"alicia.private@example.net", "bob.refused@example.com"}

// checkLogs reads the whole log of the manager, run at the chart's log level (info): it
// must name no token and no person, whatever happened (refusals and failures included).
func checkLogs(t *testing.T, path string, secrets ...string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	log := string(raw)
	if !strings.Contains(log, "Starting manager") || !strings.Contains(log, "Serving SCIM") {
		t.Fatalf("the manager's log at %s is not the whole log:\n%s", path, log)
	}
	for _, s := range append(secrets, personalData...) {
		for line := range strings.Lines(log) {
			if strings.Contains(strings.ToLower(line), strings.ToLower(s)) {
				t.Errorf("the log names %q at the chart's log level:\n%s", s, line)
			}
		}
	}
}

// hookReceiver is a webhook DownstreamApp of the tenant, so that the flow covers
// deliveries (and the dashboard's delivery metrics exist).
type hookReceiver struct {
	mu     sync.Mutex
	byUser map[string][]string
}

func newHookReceiver(t *testing.T, g *WithT) *hookReceiver {
	t.Helper()
	h := &hookReceiver{byUser: map[string][]string{}}
	const secret = "a-webhook-secret-for-the-flow"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := webhook.ReadUserDocument(r, []byte(secret), time.Now(), time.Minute)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		h.mu.Lock()
		h.byUser[doc.ID] = append(h.byUser[doc.ID], string(doc.Event))
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	g.Expect(admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: idpNS, Name: "hooks"},
		StringData: map[string]string{"secret": secret}})).To(Succeed())
	g.Expect(admin.Create(ctx, &identityv1alpha1.DownstreamApp{ObjectMeta: metav1.ObjectMeta{Namespace: idpNS, Name: "hooks"},
		Spec: identityv1alpha1.DownstreamAppSpec{TenantRef: identityv1alpha1.TenantReference{Name: "entra"},
			Scope:   identityv1alpha1.AppScope{Type: identityv1alpha1.ScopeAllUsers},
			Webhook: &identityv1alpha1.WebhookConnector{URL: srv.URL, SecretRef: identityv1alpha1.SecretReference{Name: "hooks"}}}})).To(Succeed())
	return h
}

func (h *hookReceiver) events(id string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.byUser[id])
}

// helmTestCommand runs what the chart's `helm test` pod runs: `scim-operator check`
// passes with the tenant's token, and without one when the server asks for it, and fails
// with a wrong token.
func helmTestCommand(t *testing.T, bin string, scim *scimClient) {
	url := "--url=" + scim.base + "/ServiceProviderConfig"
	for _, tc := range []struct {
		name, tokenFile string
		pass            bool
	}{
		{"the tenant's token", writeTemp(t, "token", []byte(scim.token+"\n")), true},
		{"no token Secret mounted", filepath.Join(t.TempDir(), "absent"), true},
		{"a wrong token", writeTemp(t, "wrong", []byte("scimop_wrong-token-0000000000000000")), false},
	} {
		out, err := exec.Command(bin, "check", url, "--token-file="+tc.tokenFile).CombinedOutput()
		if (err == nil) != tc.pass {
			t.Errorf("check with %s: passed=%v, want %v:\n%s", tc.name, err == nil, tc.pass, out)
		}
	}
}

// roleRefOf polls a RoleBinding's ClusterRole, "absent" when there is none.
func roleRefOf(key client.ObjectKey) func() string {
	return func() string {
		rb := &rbacv1.RoleBinding{}
		if err := admin.Get(context.Background(), key, rb); err != nil {
			if apierrors.IsNotFound(err) {
				return "absent"
			}
			return err.Error()
		}
		return rb.RoleRef.Name
	}
}

func subjectOf(key client.ObjectKey) func() string {
	return func() string {
		rb := &rbacv1.RoleBinding{}
		if err := admin.Get(context.Background(), key, rb); err != nil || len(rb.Subjects) == 0 {
			return fmt.Sprint(err)
		}
		return rb.Subjects[0].Name
	}
}

// secondTenantWithUnlabelledSecret is a tenant made by hand whose token Secret exists
// before it and carries no label: the manager must read it from the API server (the
// cache holds labelled Secrets only) and label it.
func secondTenantWithUnlabelledSecret(t *testing.T, g *WithT, scimURL string) {
	t.Helper()
	ctx := context.Background()
	tok := "scimop_okta-token-made-by-hand-0000000000"
	g.Expect(admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: idpNS, Name: "okta-token"},
		StringData: map[string]string{"token": tok}})).To(Succeed())
	tenant := testenv.Tenant(idpNS, "okta")
	tenant.Spec.Workspace = workspace
	g.Expect(admin.Create(ctx, tenant)).To(Succeed())
	g.Eventually(func() bool { return tenantReady(ctx, "okta") }).Should(BeTrue(), "tenant okta never became Ready")
	okta := &scimClient{base: scimURL + "/scim/" + idpNS + "/okta/v2", token: tok}
	g.Eventually(func() int { s, _ := okta.do(t, http.MethodGet, "/ServiceProviderConfig", nil); return s }).Should(Equal(http.StatusOK))
}

// scrapeMetrics reads /metrics as Prometheus does, with its ServiceAccount's token,
// and returns the names of the series the manager exports.
func scrapeMetrics(t *testing.T, g *WithT, url string) map[string]bool {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	tr, err := cs.CoreV1().ServiceAccounts("monitoring").CreateToken(context.Background(), "prometheus",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrTo(int64(600))}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	httpc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed, as in the ServiceMonitor
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpc.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close() //nolint:errcheck // read fully
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, _ := get("")
	g.Expect(status).To(Equal(http.StatusUnauthorized), "metrics served without a token")
	status, body := get(tr.Status.Token)
	g.Expect(status).To(Equal(http.StatusOK), "Prometheus, bound by metrics.readers, may not read the metrics: %s", body)
	names := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

func ptrTo[T any](v T) *T { return &v }

// selectorName is a metric name followed by its label matchers; every query of the
// dashboard and the alerts writes its selectors so.
var selectorName = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// checkQueriedMetrics fails for a dashboard panel or alert that queries a metric the
// manager does not export: it would show nothing, or never fire.
func checkQueriedMetrics(t *testing.T, objs []*unstructured.Unstructured, exported map[string]bool) {
	t.Helper()
	var exprs []string
	dashboard := find(t, objs, "ConfigMap", "-dashboard")
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	data, _, _ := unstructured.NestedStringMap(dashboard.Object, "data")
	if err := json.Unmarshal([]byte(data["scim-operator.json"]), &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	rules := find(t, objs, "PrometheusRule", "scim-operator")
	groups, _, _ := unstructured.NestedSlice(rules.Object, "spec", "groups")
	for _, grp := range groups {
		rs, _, _ := unstructured.NestedSlice(grp.(map[string]any), "rules")
		for _, r := range rs {
			expr, _, _ := unstructured.NestedString(r.(map[string]any), "expr")
			exprs = append(exprs, expr)
		}
	}
	if len(exprs) < 10 {
		t.Fatalf("only %d queries found in the dashboard and the alerts", len(exprs))
	}
	for _, e := range exprs {
		names := selectorName.FindAllStringSubmatch(e, -1)
		if len(names) == 0 {
			t.Errorf("query selects no metric by name{…}: %s", e)
		}
		for _, n := range names {
			if !exported[n[1]] {
				t.Errorf("query uses %s, which the manager does not export: %s", n[1], e)
			}
		}
	}
}

// auditEvent is what the test reads of an audit.k8s.io/v1 Event.
type auditEvent struct {
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		APIGroup    string `json:"apiGroup"`
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

func auditEventsOf(t *testing.T, user string) []auditEvent {
	t.Helper()
	f, err := os.Open(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // read-only
	var events []auditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log line: %v", err)
		}
		// A watch is logged when its response starts; it completes only when it ends.
		if e.User.Username == user && (e.Stage == "ResponseComplete" || e.Stage == "ResponseStarted") {
			events = append(events, e)
		}
	}
	if len(events) == 0 {
		t.Fatalf("no request of %s in the audit log", user)
	}
	return events
}

func refusedRequests(t *testing.T, user string) []string {
	t.Helper()
	var refused []string
	for _, e := range auditEventsOf(t, user) {
		if e.ResponseStatus.Code == http.StatusForbidden {
			refused = append(refused, e.Verb+" "+e.RequestURI)
		}
	}
	return refused
}

func permission(group, resource, subresource, verb string) string {
	if subresource != "" {
		resource += "/" + subresource
	}
	return group + "/" + resource + ":" + verb
}

// grantedTo expands every rule of the chart's Roles and ClusterRoles bound to the
// ServiceAccount into group/resource:verb permissions.
func grantedTo(t *testing.T, objs []*unstructured.Unstructured, namespace, serviceAccount string) []string {
	t.Helper()
	g := NewWithT(t)
	roles := map[string][]rbacv1.PolicyRule{}
	var bound []string
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole", "Role":
			var r rbacv1.ClusterRole
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &r)).To(Succeed())
			roles[o.GetKind()+"/"+o.GetName()] = r.Rules
		case "ClusterRoleBinding", "RoleBinding":
			var b rbacv1.RoleBinding
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &b)).To(Succeed())
			if slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
				return s.Kind == rbacv1.ServiceAccountKind && s.Name == serviceAccount && s.Namespace == namespace
			}) {
				bound = append(bound, b.RoleRef.Kind+"/"+b.RoleRef.Name)
			}
		}
	}
	var granted []string
	for _, role := range bound {
		for _, r := range roles[role] {
			granted = append(granted, permissionsOf(r)...)
		}
	}
	if len(granted) == 0 {
		t.Fatal("the chart grants its ServiceAccount nothing")
	}
	return granted
}

// permissionsOf expands one rule into its group/resource:verb permissions.
func permissionsOf(r rbacv1.PolicyRule) []string {
	var out []string
	for _, group := range r.APIGroups {
		for _, res := range r.Resources {
			for _, verb := range r.Verbs {
				out = append(out, permission(group, res, "", verb))
			}
		}
	}
	return out
}
