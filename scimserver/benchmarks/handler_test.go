// Package benchmarks_test measures the SCIM server's hot paths through its real HTTP
// handler over a real informer cache, indexed as the manager's is, filled from envtest:
// reads never reach the API server, so what is measured is the server's own work —
// routing, token check, index lookup, rendering and JSON. `make bench` runs them.
package benchmarks_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/testenv"
	"github.com/scim-operator/scim-operator/internal/token"
	"github.com/scim-operator/scim-operator/scimserver"
)

const (
	namespace = "bench"
	tenant    = "entra"
	bearer    = "scimop_a-benchmark-token-000000000000"
	users     = 1000
	members   = 1000
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if stopEnv != nil {
		stopEnv()
	}
	os.Exit(code)
}

var (
	setupOnce sync.Once
	handler   http.Handler
	setupErr  error
	stopEnv   func()
)

// server is a SCIM handler over users users and one group of members members, set up
// once for all benchmarks (envtest starts only when a benchmark runs).
func server(b *testing.B) http.Handler {
	b.Helper()
	setupOnce.Do(func() { handler, setupErr = setup() })
	if errors.Is(setupErr, testenv.ErrNoBinaries) {
		b.Skip(setupErr.Error())
	}
	if setupErr != nil {
		b.Fatal(setupErr)
	}
	return handler
}

func setup() (http.Handler, error) {
	env, cfg, err := testenv.StartQuiet()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopEnv = func() { cancel(); _ = env.Stop() }
	informers, err := cache.New(cfg, cache.Options{Scheme: manager.Scheme()})
	if err != nil {
		return nil, err
	}
	lookups := index.NewLookups()
	if err := lookups.Register(ctx, informers); err != nil {
		return nil, err
	}
	// Reading its own writes, as the manager's SCIM client does (manager.NewSCIMClient):
	// a PATCH after a PATCH reads what the first wrote.
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme(),
		Cache: &client.CacheOptions{Reader: informers, EnableReadYourWritesConsistency: ptr.To(true)}})
	if err != nil {
		return nil, err
	}
	go func() { _ = informers.Start(ctx) }()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return nil, err
	}
	objs := []client.Object{testenv.Tenant(namespace, tenant), token.NewSecret(namespace, tenant+"-token", tenant, bearer)}
	group := &identityv1alpha1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "big-group"},
		Spec: identityv1alpha1.ScimGroupSpec{TenantRef: identityv1alpha1.TenantReference{Name: tenant}, DisplayName: "Everyone"}}
	for i := range users {
		name := fmt.Sprintf("user-%05d", i)
		objs = append(objs, &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Spec: identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: tenant},
				UserName: name + "@example.com", ExternalID: "ext-" + name, DisplayName: "User " + name, Active: ptr.To(true),
				Name:   &identityv1alpha1.PersonName{GivenName: "Given", FamilyName: "Family " + name, Formatted: "Given Family"},
				Emails: []identityv1alpha1.MultiValuedAttribute{{Value: name + "@example.com", Type: "work"}},
				Title:  "Engineer", Enterprise: &identityv1alpha1.EnterpriseUser{Department: "R&D"}}})
		if i < members {
			group.Spec.Members = append(group.Spec.Members, identityv1alpha1.GroupMember{Value: name})
		}
	}
	objs = append(objs, group, &identityv1alpha1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "filled-group"},
		Spec: identityv1alpha1.ScimGroupSpec{TenantRef: identityv1alpha1.TenantReference{Name: tenant}, DisplayName: "Filled"}})
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return nil, err
		}
	}
	// Ready when the cache holds everything.
	for {
		var list identityv1alpha1.ScimUserList
		if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		var g identityv1alpha1.ScimGroup
		if len(list.Items) == users && c.Get(ctx, client.ObjectKeyFromObject(group), &g) == nil && lookups.HasSynced() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return scimserver.New(c, c, lookups, nil, logr.Discard(), scimserver.Options{RequestsPerSecond: 1e9, Burst: 1 << 30}).Handler(), nil
}

func get(b *testing.B, h http.Handler, path string) {
	b.Helper()
	b.ReportAllocs()
	req := httptest.NewRequest(http.MethodGet, "/scim/"+namespace+"/"+tenant+"/v2"+path, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkGetUser renders one user with its groups (Entra's GET /Users/{id}).
func BenchmarkGetUser(b *testing.B) { get(b, server(b), "/Users/user-00042") }

// BenchmarkLookupUserName is Entra's lookup before each create.
func BenchmarkLookupUserName(b *testing.B) {
	get(b, server(b), `/Users?filter=userName+eq+"user-00042@example.com"`)
}

// BenchmarkGetGroup1000Members renders a group of 1,000 members.
func BenchmarkGetGroup1000Members(b *testing.B) { get(b, server(b), "/Groups/big-group") }

// BenchmarkLookupGroupWithoutMembers is Entra's lookup of a group, here of 1,000
// members, which it asks for without them.
func BenchmarkLookupGroupWithoutMembers(b *testing.B) {
	get(b, server(b), `/Groups?excludedAttributes=members&filter=displayName+eq+"Everyone"`)
}

// BenchmarkListUsers100 is a ListResponse page of 100 users.
func BenchmarkListUsers100(b *testing.B) { get(b, server(b), "/Users?startIndex=1&count=100") }

// BenchmarkFillGroup1000 is a group filled with 1,000 members by one PATCH, as Entra ID
// sends them, then emptied by another; both are written to the API server.
func BenchmarkFillGroup1000(b *testing.B) {
	h := server(b)
	var members []string
	for i := range 1000 {
		members = append(members, fmt.Sprintf(`{"value": "user-%05d"}`, i))
	}
	list := strings.Join(members, ",")
	add := `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Add", "path": "members", "value": [` + list + `]}]}`
	remove := `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Remove", "path": "members", "value": [` + list + `]}]}`
	b.ReportAllocs()
	for b.Loop() {
		for _, body := range []string{add, remove} {
			req := httptest.NewRequest(http.MethodPatch, "/scim/"+namespace+"/"+tenant+"/v2/Groups/filled-group", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+bearer)
			req.Header.Set("Content-Type", "application/scim+json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNoContent {
				b.Fatalf("PATCH: %d %s", rec.Code, rec.Body.String())
			}
		}
	}
}
