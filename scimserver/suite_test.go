package scimserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/testenv"
	"github.com/scim-operator/scim-operator/internal/token"
	"github.com/scim-operator/scim-operator/scimserver"
)

var (
	cfg        *rest.Config
	k8sClient  client.Client
	mgrClient  client.Client
	mgrReader  client.Reader
	mgrCache   cache.Cache
	mgrLookups *index.Lookups
	server     *httptest.Server
)

// TestMain runs the SCIM server as production runs it: over a manager's cache and
// client, against a real API server, with the reconcilers running.
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	env, c, err := testenv.StartQuiet()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	cfg = c
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mgr, err := manager.New(ctx, cfg, manager.Options{MetricsAddr: "0", ProbeAddr: "0", MaxConcurrentReconciles: 16})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if k8sClient, err = client.New(cfg, client.Options{Scheme: manager.Scheme()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if mgrClient, err = manager.NewSCIMClient(mgr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mgrReader, mgrCache = mgr.GetAPIReader(), mgr.GetCache()
	mgrLookups = index.NewLookups()
	if err := mgrLookups.Register(ctx, mgrCache); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := scimserver.New(mgrClient, mgrReader, mgrLookups, mgr.GetEventRecorder("scim-operator"), ctrl.Log.WithName("scim"),
		scimserver.Options{RequestsPerSecond: 10000})
	server = httptest.NewServer(srv.Handler())
	defer server.Close()
	stop, err := testenv.StartManager(mgr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code
}

var tenantSeq atomic.Int64

// tenantFixture is a fresh namespace with an enabled tenant and a token for it.
type tenantFixture struct {
	Namespace, Name, Token string
	Tenant                 *identityv1alpha1.ScimTenant
}

// URL is the tenant URL on the test server.
func (f tenantFixture) URL() string {
	return server.URL + "/scim/" + f.Namespace + "/" + f.Name + "/v2"
}

func newTenant(t testing.TB, mutate ...func(*identityv1alpha1.ScimTenant)) tenantFixture {
	t.Helper()
	ctx := context.Background()
	ns := fmt.Sprintf("scim-%d-%d", time.Now().UnixNano()%100000, tenantSeq.Add(1))
	if err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	name := "entra"
	tok, _, err := token.Issue(ctx, k8sClient, ns, name, name+"-token", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tenant := testenv.Tenant(ns, name)
	for _, m := range mutate {
		m(tenant)
	}
	if err := k8sClient.Create(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	f := tenantFixture{Namespace: ns, Name: name, Token: tok, Tenant: tenant}
	// The server reads tenants and Secrets from the cache: wait until it has them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _, _ := f.client(t).do("GET", "/ServiceProviderConfig", nil)
		if status == http.StatusOK {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("tenant never became reachable: %d", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f tenantFixture) client(t testing.TB) *scimClient {
	return &scimClient{t: t, base: f.URL(), token: f.Token}
}

// scimClient is a small SCIM client over HTTP.
type scimClient struct {
	t       testing.TB
	base    string
	token   string
	headers map[string]string
}

// do sends a request; body may be a string (sent as is) or a value (sent as JSON).
func (c *scimClient) do(method, path string, body any, headers ...string) (int, map[string]any, http.Header) {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if ct := resp.Header.Get("Content-Type"); ct != scimserver.ContentType {
			c.t.Errorf("%s %s: Content-Type %q, want %q", method, path, ct, scimserver.ContentType)
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: response is not a JSON object: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out, resp.Header
}

// must sends a request and fails the test unless the status is want.
func (c *scimClient) must(want int, method, path string, body any, headers ...string) map[string]any {
	c.t.Helper()
	status, out, _ := c.do(method, path, body, headers...)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %v", method, path, status, want, out)
	}
	return out
}

// scimError checks that a response is a SCIM error with the status and scimType.
func scimError(t testing.TB, body map[string]any, status int, scimType string) {
	t.Helper()
	if body == nil {
		t.Fatalf("no error body")
	}
	schemas, _ := body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Errorf("error schemas = %v", body["schemas"])
	}
	if body["status"] != fmt.Sprint(status) {
		t.Errorf("error status = %v, want %d", body["status"], status)
	}
	if scimType != "" && body["scimType"] != scimType {
		t.Errorf("scimType = %v, want %s (detail: %v)", body["scimType"], scimType, body["detail"])
	}
	if d, _ := body["detail"].(string); d == "" {
		t.Errorf("error without detail")
	}
}

func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
