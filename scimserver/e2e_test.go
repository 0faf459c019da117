package scimserver_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/internal/testenv"
	"github.com/scim-operator/scim-operator/internal/token"
	"github.com/scim-operator/scim-operator/scimserver"
)

func entraUser(userName string) map[string]any {
	return map[string]any{
		"schemas":    []any{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"externalId": "ext-" + userName,
		"userName":   userName,
		"active":     "True",
		"emails":     []any{map[string]any{"primary": true, "type": "work", "value": userName + "@example.com"}},
		"meta":       map[string]any{"resourceType": "User"},
		"name":       map[string]any{"formatted": "Given Family", "familyName": "Family", "givenName": "Given"},
		"roles":      []any{},
		"password":   "never-stored",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":          map[string]any{"department": "R&D", "manager": map[string]any{"value": "m-1"}},
		"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": map[string]any{"costCode": "42"},
	}
}

func TestTenantsAndAuth(t *testing.T) {
	a := newTenant(t)
	b := newTenant(t)
	for _, tc := range []struct {
		name   string
		client *scimClient
		path   string
		status int
	}{
		{"unknown tenant", &scimClient{t: t, base: server.URL + "/scim/" + a.Namespace + "/nosuch/v2", token: a.Token}, "/Users", 404},
		{"unknown namespace", &scimClient{t: t, base: server.URL + "/scim/nosuch/entra/v2", token: a.Token}, "/Users", 404},
		{"no token", &scimClient{t: t, base: a.URL()}, "/Users", 401},
		{"wrong token", &scimClient{t: t, base: a.URL(), token: "scimop_wrong-token-wrong-token"}, "/Users", 401},
		{"another tenant's token", &scimClient{t: t, base: a.URL(), token: b.Token}, "/Users", 401},
		{"basic auth", &scimClient{t: t, base: a.URL(), headers: map[string]string{"Authorization": "Basic " + a.Token}}, "/Users", 401},
		{"own token", a.client(t), "/Users", 200},
		{"lower-case bearer", &scimClient{t: t, base: a.URL(), headers: map[string]string{"Authorization": "bearer " + a.Token}}, "/Users", 200},
		{"outside any tenant", &scimClient{t: t, base: server.URL, token: a.Token}, "/scim/v2/Users", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.client.t = t
			status, body, header := tc.client.do("GET", tc.path, nil)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if status >= 400 {
				scimError(t, body, status, "")
			}
			if status == 401 && !strings.HasPrefix(header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge")
			}
		})
	}

	t.Run("disabled tenant is 404", func(t *testing.T) {
		c := newTenant(t)
		setTenant(t, c, func(s *identityv1alpha1.ScimTenant) { s.Spec.Enabled = new(false) })
		eventually(t, 10*time.Second, func() error {
			if status, _, _ := c.client(t).do("GET", "/Users", nil); status != 404 {
				return fmt.Errorf("status %d", status)
			}
			return nil
		})
	})
	t.Run("paused tenant is 503 with Retry-After", func(t *testing.T) {
		c := newTenant(t)
		setTenant(t, c, func(s *identityv1alpha1.ScimTenant) { s.Spec.Paused = new(true) })
		eventually(t, 10*time.Second, func() error {
			status, body, header := c.client(t).do("GET", "/Users", nil)
			if status != 503 || header.Get("Retry-After") == "" || body["status"] != "503" {
				return fmt.Errorf("status %d, Retry-After %q", status, header.Get("Retry-After"))
			}
			return nil
		})
	})
	t.Run("an expired token is refused", func(t *testing.T) {
		c := newTenant(t)
		expired, _, err := token.Issue(context.Background(), k8sClient, c.Namespace, c.Name, "old", time.Now().Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if status, _, _ := (&scimClient{t: t, base: c.URL(), token: expired}).do("GET", "/Users", nil); status != 401 {
			t.Fatalf("status %d, want 401", status)
		}
	})
	t.Run("an issued token opens the tenant until it is revoked", func(t *testing.T) {
		c := newTenant(t)
		ctx := context.Background()
		issued, _, err := token.Issue(ctx, k8sClient, c.Namespace, c.Name, "second", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		second := &scimClient{t: t, base: c.URL(), token: issued}
		statusBecomes := func(want int) {
			t.Helper()
			eventually(t, 10*time.Second, func() error {
				if status, _, _ := second.do("GET", "/Users", nil); status != want {
					return fmt.Errorf("status %d, want %d", status, want)
				}
				return nil
			})
		}
		statusBecomes(200)
		if _, err := token.Revoke(ctx, k8sClient, c.Namespace, c.Name, "second"); err != nil {
			t.Fatal(err)
		}
		statusBecomes(401)
		if status, _, _ := c.client(t).do("GET", "/Users", nil); status != 200 {
			t.Fatalf("the tenant's other token: status %d after revoking one", status)
		}
	})
}

// Two tenants in one namespace (two identity providers, or two Entra apps) share no
// resource: ids, filters, writes and uniqueness are each tenant's own.
func TestTenantsInOneNamespaceSeeOnlyTheirOwn(t *testing.T) {
	a := newTenant(t)
	ctx := context.Background()
	tok, _, err := token.Issue(ctx, k8sClient, a.Namespace, "okta", "okta-token", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Create(ctx, testenv.Tenant(a.Namespace, "okta")); err != nil {
		t.Fatal(err)
	}
	b := &scimClient{t: t, base: server.URL + "/scim/" + a.Namespace + "/okta/v2", token: tok}
	eventually(t, 10*time.Second, func() error {
		if status, _, _ := b.do("GET", "/ServiceProviderConfig", nil); status != 200 {
			return fmt.Errorf("status %d", status)
		}
		return nil
	})
	ac := a.client(t)
	user := ac.must(201, "POST", "/Users", map[string]any{"userName": "shared@example.com", "displayName": "A's"})
	group := ac.must(201, "POST", "/Groups", map[string]any{"displayName": "Shared"})
	for _, res := range []struct{ path string }{{"/Users/" + user["id"].(string)}, {"/Groups/" + group["id"].(string)}} {
		b.must(404, "GET", res.path, nil)
		b.must(404, "PATCH", res.path, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "B's"}}})
		b.must(404, "DELETE", res.path, nil)
	}
	if list := b.must(200, "GET", `/Users?filter=userName+eq+"shared@example.com"`, nil); list["totalResults"] != float64(0) {
		t.Errorf("the other tenant's filter found %v", list["totalResults"])
	}
	// Uniqueness is per tenant: the other one may hold the same names.
	b.must(201, "POST", "/Users", map[string]any{"userName": "shared@example.com"})
	b.must(201, "POST", "/Groups", map[string]any{"displayName": "Shared"})
	if got := ac.must(200, "GET", "/Users/"+user["id"].(string), nil); got["displayName"] != "A's" {
		t.Errorf("the first tenant's user changed: %v", got)
	}
	ac.must(200, "GET", "/Groups/"+group["id"].(string), nil)
}

func setTenant(t *testing.T, f tenantFixture, mutate func(*identityv1alpha1.ScimTenant)) {
	t.Helper()
	update(t, &identityv1alpha1.ScimTenant{}, client.ObjectKey{Namespace: f.Namespace, Name: f.Name}, mutate)
}

// update changes an object as an administrator would, retrying on conflicts with
// the reconcilers' status writes.
func update[T client.Object](t *testing.T, obj T, key client.ObjectKey, mutate func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8sClient.Get(context.Background(), key, obj); err != nil {
			return err
		}
		mutate(obj)
		return k8sClient.Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUserLifecycle(t *testing.T) {
	f := newTenant(t)
	c := f.client(t)

	status, created, header := c.do("POST", "/Users", entraUser("Alice"))
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	id, _ := created["id"].(string)
	if id == "" || header.Get("Location") != f.URL()+"/Users/"+id || header.Get("ETag") == "" {
		t.Fatalf("create: id %q, Location %q, ETag %q", id, header.Get("Location"), header.Get("ETag"))
	}
	if created["active"] != true {
		t.Errorf("active = %v, want the boolean true", created["active"])
	}
	if _, ok := created["password"]; ok {
		t.Error("the password was returned")
	}
	if ext, _ := created["urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"].(map[string]any); ext["costCode"] != "42" {
		t.Errorf("custom extension not kept: %v", created)
	}
	schemas := fmt.Sprint(created["schemas"])
	if !strings.Contains(schemas, "enterprise:2.0:User") || !strings.Contains(schemas, "CustomExtensionName") {
		t.Errorf("schemas = %s", schemas)
	}

	// Stored as a ScimUser named by the id, without the password.
	var u identityv1alpha1.ScimUser
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: f.Namespace, Name: id}, &u); err != nil {
		t.Fatal(err)
	}
	if u.Spec.UserName != "Alice" || u.Spec.Enterprise == nil || u.Spec.Enterprise.Department != "R&D" || u.Spec.Enterprise.Manager == nil || u.Spec.Enterprise.Manager.Value != "m-1" || u.Spec.TenantRef.Name != f.Name {
		t.Errorf("stored spec = %+v", u.Spec)
	}

	got := c.must(200, "GET", "/Users/"+id, nil)
	if got["userName"] != "Alice" {
		t.Errorf("GET = %v", got)
	}
	for _, q := range []string{`userName eq "alice"`, `userName eq "ALICE"`, `externalId eq "ext-Alice"`, `emails[type eq "work"].value eq "Alice@example.com"`, `id eq "` + id + `"`} {
		list := c.must(200, "GET", "/Users?filter="+url.QueryEscape(q), nil)
		if list["totalResults"] != float64(1) {
			t.Errorf("%s: totalResults = %v", q, list["totalResults"])
		}
	}
	list := c.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "nobody"`), nil)
	if list["totalResults"] != float64(0) || list["Resources"] == nil {
		t.Errorf("empty result = %v (Resources must be present and empty)", list)
	}

	// An administrator's role survives every SCIM write.
	update(t, &u, client.ObjectKeyFromObject(&u), func(u *identityv1alpha1.ScimUser) {
		u.Spec.Role = new("admin")
		u.Spec.StorageQuota = new(resource.MustParse("5Gi"))
	})
	time.Sleep(100 * time.Millisecond)
	patched := c.must(200, "PATCH", "/Users/"+id, map[string]any{
		"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{
			map[string]any{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"},
			map[string]any{"op": "Replace", "path": "name.familyName", "value": "Updated"},
		},
	}, "Prefer", "return=representation")
	if patched["name"].(map[string]any)["familyName"] != "Updated" {
		t.Errorf("PATCH = %v", patched)
	}
	replaced := entraUser("Alice")
	replaced["displayName"] = "Alice A."
	c.must(200, "PUT", "/Users/"+id, replaced)
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: f.Namespace, Name: id}, &u); err != nil {
		t.Fatal(err)
	}
	if u.Spec.Role == nil || *u.Spec.Role != "admin" || u.Spec.StorageQuota == nil || u.Spec.DisplayName != "Alice A." {
		t.Errorf("after PUT: role %v, quota %v, displayName %q", u.Spec.Role, u.Spec.StorageQuota, u.Spec.DisplayName)
	}

	// Deactivation keeps the user visible (Entra reads it back) and records an Event.
	c.must(204, "PATCH", "/Users/"+id, map[string]any{"Operations": []any{map[string]any{"op": "Replace", "path": "active", "value": "False"}}})
	if got := c.must(200, "GET", "/Users/"+id, nil); got["active"] != false {
		t.Errorf("after disable: active = %v", got["active"])
	}
	eventually(t, 10*time.Second, func() error { return hasEvent(f.Namespace, id, "Deactivated") })
	eventually(t, 10*time.Second, func() error { return hasEvent(f.Namespace, id, "Provisioned") })

	c.must(204, "DELETE", "/Users/"+id, nil)
	status, body, _ := c.do("GET", "/Users/"+id, nil)
	if status != 404 {
		t.Fatalf("GET after DELETE: %d", status)
	}
	scimError(t, body, 404, "")
	status, body, _ = c.do("DELETE", "/Users/"+id, nil)
	if status != 404 {
		t.Errorf("second DELETE: %d %v", status, body)
	}
}

func hasEvent(namespace, name, reason string) error {
	var events eventsv1.EventList
	if err := k8sClient.List(context.Background(), &events, client.InNamespace(namespace)); err != nil {
		return err
	}
	for _, e := range events.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			return nil
		}
	}
	return fmt.Errorf("no %s event for %s", reason, name)
}

func TestUserValidation(t *testing.T) {
	c := newTenant(t).client(t)
	for _, tc := range []struct {
		name     string
		body     any
		status   int
		scimType string
	}{
		{"malformed JSON", `{"userName": `, 400, "invalidSyntax"},
		{"not an object", `["userName"]`, 400, "invalidSyntax"},
		{"empty body", ``, 400, "invalidSyntax"},
		{"no userName", map[string]any{"displayName": "x"}, 400, "invalidValue"},
		{"blank userName", map[string]any{"userName": "  "}, 400, "invalidValue"},
		{"wrong type", map[string]any{"userName": "x", "active": "perhaps"}, 400, "invalidValue"},
		{"object for a string", map[string]any{"userName": map[string]any{"a": 1}}, 400, "invalidValue"},
		{"too long for the schema", map[string]any{"userName": strings.Repeat("x", 2000)}, 400, "invalidValue"},
		{"unknown attributes are ignored", map[string]any{"userName": "ok", "adreses": "x", "UserType": "Employee"}, 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			status, body, _ := c.do("POST", "/Users", tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if status >= 400 {
				scimError(t, body, status, tc.scimType)
			} else if body["userType"] != "Employee" {
				t.Errorf("case-insensitive attribute not taken: %v", body)
			}
		})
	}
}

// Entra ID and Okta retry creates; replicas race. Exactly one create may win.
func TestRacingCreatesOfOneUserName(t *testing.T) {
	f := newTenant(t)
	const racers = 20
	statuses := make(chan int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			name := "racer@example.com"
			if i%2 == 1 {
				name = "RACER@example.com" // userName is unique case-insensitively
			}
			status, _, _ := f.client(t).do("POST", "/Users", map[string]any{"userName": name})
			statuses <- status
		})
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[201] != 1 || counts[409] != racers-1 {
		t.Fatalf("statuses = %v, want one 201 and %d 409", counts, racers-1)
	}
	var users identityv1alpha1.ScimUserList
	if err := k8sClient.List(context.Background(), &users, client.InNamespace(f.Namespace)); err != nil {
		t.Fatal(err)
	}
	if len(users.Items) != 1 {
		t.Fatalf("%d ScimUsers stored, want 1", len(users.Items))
	}
	status, body, _ := f.client(t).do("POST", "/Users", map[string]any{"userName": "Racer@Example.com"})
	if status != 409 {
		t.Fatalf("a later duplicate: %d", status)
	}
	scimError(t, body, 409, "uniqueness")
}

func TestUniquenessOnRename(t *testing.T) {
	c := newTenant(t).client(t)
	a := c.must(201, "POST", "/Users", map[string]any{"userName": "a"})
	c.must(201, "POST", "/Users", map[string]any{"userName": "b"})
	status, body, _ := c.do("PATCH", "/Users/"+a["id"].(string), map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "userName", "value": "B"}}})
	if status != 409 {
		t.Fatalf("rename onto a taken userName: %d %v", status, body)
	}
	scimError(t, body, 409, "uniqueness")
	// Renamed away, the old name is free again, and a new user may take it.
	c.must(204, "PATCH", "/Users/"+a["id"].(string), map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "userName", "value": "c"}}})
	eventually(t, 5*time.Second, func() error {
		status, body, _ := c.do("POST", "/Users", map[string]any{"userName": "a"})
		if status != 201 {
			return fmt.Errorf("re-using a freed userName: %d %v", status, body)
		}
		return nil
	})
	g := c.must(201, "POST", "/Groups", map[string]any{"displayName": "Admins"})
	status, body, _ = c.do("POST", "/Groups", map[string]any{"displayName": "admins"})
	if status != 409 {
		t.Fatalf("duplicate displayName: %d", status)
	}
	scimError(t, body, 409, "uniqueness")
	c.must(204, "DELETE", "/Groups/"+g["id"].(string), nil)
	c.must(201, "POST", "/Groups", map[string]any{"displayName": "Admins"})
}

// Entra ID sends a PATCH per membership change, many at once.
func TestConcurrentMemberAdds(t *testing.T) {
	f := newTenant(t)
	c := f.client(t)
	group := c.must(201, "POST", "/Groups", map[string]any{"displayName": "Everyone"})
	gid := group["id"].(string)
	const adders = 30
	var wg sync.WaitGroup
	errs := make(chan string, adders)
	for i := range adders {
		wg.Go(func() {
			status, body, _ := f.client(t).do("PATCH", "/Groups/"+gid, map[string]any{
				"schemas":    []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"$ref": nil, "value": fmt.Sprintf("member-%02d", i)}}}},
			})
			if status != 204 {
				errs <- fmt.Sprintf("%d %v", status, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	var g identityv1alpha1.ScimGroup
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: f.Namespace, Name: gid}, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Spec.Members) != adders {
		t.Fatalf("%d members stored, want %d", len(g.Spec.Members), adders)
	}
}

func TestGroups(t *testing.T) {
	f := newTenant(t)
	c := f.client(t)
	alice := c.must(201, "POST", "/Users", map[string]any{"userName": "alice"})["id"].(string)
	bob := c.must(201, "POST", "/Users", map[string]any{"userName": "bob"})["id"].(string)
	group := c.must(201, "POST", "/Groups", map[string]any{
		"schemas":     []any{"urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId":  "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
		"displayName": "Engineering",
		"meta":        map[string]any{"resourceType": "Group"},
	})
	gid := group["id"].(string)
	if len(asList(group["members"])) != 0 {
		t.Errorf("new group has members: %v", group["members"])
	}
	c.must(204, "PATCH", "/Groups/"+gid, map[string]any{"Operations": []any{
		map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": alice}, map[string]any{"value": bob, "display": "Bob"}, map[string]any{"value": "not-yet-provisioned"}}},
	}})
	got := c.must(200, "GET", "/Groups/"+gid, nil)
	if n := len(got["members"].([]any)); n != 3 {
		t.Fatalf("%d members, want 3 (unresolved members are kept)", n)
	}
	if got := c.must(200, "GET", "/Groups/"+gid+"?excludedAttributes=members", nil); got["members"] != nil || got["displayName"] != "Engineering" {
		t.Errorf("excludedAttributes=members: %v", got)
	}
	for _, q := range []string{`displayName eq "engineering"`, `externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"`, `members[value eq "` + alice + `"]`, `members.value eq "` + bob + `"`} {
		if list := c.must(200, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(q), nil); list["totalResults"] != float64(1) {
			t.Errorf("%s: %v", q, list["totalResults"])
		}
	}
	// A user's groups come from membership.
	user := c.must(200, "GET", "/Users/"+alice, nil)
	groups, _ := user["groups"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["value"] != gid || groups[0].(map[string]any)["display"] != "Engineering" {
		t.Errorf("alice's groups = %v", user["groups"])
	}
	// The group's status reports the member that does not resolve.
	eventually(t, 10*time.Second, func() error {
		var g identityv1alpha1.ScimGroup
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: f.Namespace, Name: gid}, &g); err != nil {
			return err
		}
		if g.Status.UnresolvedMemberCount == nil || *g.Status.UnresolvedMemberCount != 1 {
			return fmt.Errorf("unresolvedMemberCount = %v", g.Status.UnresolvedMemberCount)
		}
		return nil
	})
	// Entra's removal: a value list removes exactly those members.
	c.must(204, "PATCH", "/Groups/"+gid, map[string]any{"Operations": []any{
		map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"$ref": nil, "value": bob}}},
	}})
	got = c.must(200, "GET", "/Groups/"+gid, nil)
	if n := len(got["members"].([]any)); n != 2 {
		t.Fatalf("after removing bob: %d members, want 2", n)
	}
	// PATCH with attributes asks for the group back.
	patched := c.must(200, "PATCH", "/Groups/"+gid+"?attributes=displayName", map[string]any{"Operations": []any{
		map[string]any{"op": "replace", "value": map[string]any{"id": gid, "displayName": "Eng"}},
	}})
	if patched["displayName"] != "Eng" || patched["members"] != nil {
		t.Errorf("PATCH ?attributes=displayName = %v", patched)
	}
	c.must(204, "DELETE", "/Groups/"+gid, nil)
	c.must(404, "GET", "/Groups/"+gid, nil)
}

func TestListing(t *testing.T) {
	c := newTenant(t).client(t)
	for _, n := range []string{"carol", "alice", "dave", "bob", "erin"} {
		c.must(201, "POST", "/Users", map[string]any{"userName": n, "title": strings.ToUpper(n[:1]), "name": map[string]any{"familyName": "Employee"}})
	}
	page := c.must(200, "GET", "/Users?startIndex=1&count=2", nil)
	if page["totalResults"] != float64(5) || page["itemsPerPage"] != float64(2) || page["startIndex"] != float64(1) {
		t.Fatalf("page = %v", page)
	}
	// Paging in creation order sees every user exactly once.
	seen := map[string]bool{}
	for start := 1; start <= 5; start += 2 {
		p := c.must(200, "GET", fmt.Sprintf("/Users?startIndex=%d&count=2", start), nil)
		for _, r := range p["Resources"].([]any) {
			seen[r.(map[string]any)["userName"].(string)] = true
		}
	}
	if len(seen) != 5 {
		t.Errorf("paging saw %v", seen)
	}
	sorted := c.must(200, "GET", "/Users?sortBy=userName&sortOrder=descending&attributes=userName", nil)
	var names []string
	for _, r := range sorted["Resources"].([]any) {
		m := r.(map[string]any)
		names = append(names, m["userName"].(string))
		if m["title"] != nil || m["id"] == nil {
			t.Errorf("attributes=userName returned %v", m)
		}
	}
	if strings.Join(names, ",") != "erin,dave,carol,bob,alice" {
		t.Errorf("sorted = %v", names)
	}
	if got := c.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName sw "a" or title eq "B"`), nil); got["totalResults"] != float64(2) {
		t.Errorf("or filter: %v", got["totalResults"])
	}
	if got := c.must(200, "GET", "/Users/?filter=name.FamilyName+eq+Employee&count=0", nil); got["totalResults"] != float64(5) || len(got["Resources"].([]any)) != 0 {
		t.Errorf("count=0: %v", got)
	}
	status, body, _ := c.do("GET", "/Users?filter="+url.QueryEscape(`userName eq`), nil)
	if status != 400 {
		t.Fatalf("bad filter: %d", status)
	}
	scimError(t, body, 400, "invalidFilter")
	status, body, _ = c.do("GET", "/Users?filter="+url.QueryEscape(`nosuch eq "x"`), nil)
	if status != 400 {
		t.Fatalf("unknown attribute: %d", status)
	}
	scimError(t, body, 400, "invalidFilter")
	search := c.must(200, "POST", "/Users/.search", map[string]any{
		"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter":  `userName ew "e"`, "attributes": []any{"userName"}, "sortBy": "userName", "startIndex": 1, "count": 10,
	})
	if search["totalResults"] != float64(2) { // alice, dave
		t.Errorf(".search = %v", search)
	}
	// Entra's compatibility flag rides on the tenant URL; unknown parameters are ignored.
	if got := c.must(200, "GET", "/Users?aadOptscim062020&filter="+url.QueryEscape(`userName eq "alice"`), nil, "Accept", "*/*"); got["totalResults"] != float64(1) {
		t.Errorf("?aadOptscim062020: %v", got["totalResults"])
	}
	root := c.must(200, "POST", "/.search", map[string]any{"filter": `userName eq "alice"`})
	if root["totalResults"] != float64(1) {
		t.Errorf("root .search = %v", root)
	}
}

// Reads render users and groups straight from the cache's objects, without copying
// them: whatever a read does, the cache keeps what the API server has.
func TestReadsLeaveTheCacheAsTheAPIServerHasIt(t *testing.T) {
	f := newTenant(t)
	c := f.client(t)
	user := c.must(201, "POST", "/Users", map[string]any{"userName": "reader@example.com", "displayName": "Reader",
		"name":   map[string]any{"givenName": "Rea", "familyName": "Der"},
		"emails": []any{map[string]any{"value": "reader@example.com", "type": "work", "primary": true}},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "R&D", "manager": map[string]any{"value": "boss"}}})
	id := user["id"].(string)
	group := c.must(201, "POST", "/Groups", map[string]any{"displayName": "Readers", "members": []any{map[string]any{"value": id}}})
	lookup := "/Users?filter=" + url.QueryEscape(`userName eq "reader@example.com"`)
	for _, path := range []string{
		lookup, lookup + "&excludedAttributes=emails,name.givenName,groups", lookup + "&attributes=emails.value,name",
		"/Users/" + id + "?excludedAttributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
		"/Users?filter=" + url.QueryEscape(`emails[type eq "work"].value co "reader"`) + "&attributes=" + url.QueryEscape(`emails[type eq "work"]`),
		"/Groups?filter=" + url.QueryEscape(`displayName eq "Readers"`) + "&excludedAttributes=members.value",
		"/Groups?filter=" + url.QueryEscape(`members.value eq "`+id+`"`) + "&attributes=members",
	} {
		c.must(200, "GET", path, nil)
	}
	ctx := context.Background()
	for _, pair := range []struct {
		name                 string
		inCache, inAPIServer client.Object
	}{
		{id, &identityv1alpha1.ScimUser{}, &identityv1alpha1.ScimUser{}},
		{group["id"].(string), &identityv1alpha1.ScimGroup{}, &identityv1alpha1.ScimGroup{}},
	} {
		key := client.ObjectKey{Namespace: f.Namespace, Name: pair.name}
		if err := mgrReader.Get(ctx, key, pair.inAPIServer); err != nil {
			t.Fatal(err)
		}
		// The cache's own object, not a copy; the reconcilers may still be writing
		// status, so only what reads render is compared.
		if err := mgrCache.Get(ctx, key, pair.inCache, client.UnsafeDisableDeepCopy); err != nil {
			t.Fatal(err)
		}
		if got, want := specOf(pair.inCache), specOf(pair.inAPIServer); !equality.Semantic.DeepEqual(got, want) {
			t.Errorf("%s: the cache holds\n%#v\nthe API server\n%#v", key, got, want)
		}
		if got, want := pair.inCache.GetAnnotations(), pair.inAPIServer.GetAnnotations(); !equality.Semantic.DeepEqual(got, want) {
			t.Errorf("%s: annotations in the cache %v, in the API server %v", key, got, want)
		}
	}
}

func specOf(o client.Object) any {
	switch o := o.(type) {
	case *identityv1alpha1.ScimUser:
		return o.Spec
	case *identityv1alpha1.ScimGroup:
		return o.Spec
	}
	return nil
}

func TestETags(t *testing.T) {
	c := newTenant(t).client(t)
	_, created, header := c.do("POST", "/Users", map[string]any{"userName": "etag"})
	id, etag := created["id"].(string), header.Get("ETag")
	if meta := created["meta"].(map[string]any); meta["version"] != etag {
		t.Errorf("meta.version %v != ETag %s", meta["version"], etag)
	}
	if status, _, _ := c.do("GET", "/Users/"+id, nil, "If-None-Match", etag); status != 304 {
		t.Errorf("If-None-Match current: %d", status)
	}
	for _, query := range []string{"", "?attributes=userName"} {
		_, got, header := c.do("GET", "/Users/"+id+query, nil)
		if meta, _ := got["meta"].(map[string]any); header.Get("ETag") != etag || query == "" && meta["version"] != etag {
			t.Errorf("GET%s: ETag %q, meta %v; created with %q", query, header.Get("ETag"), got["meta"], etag)
		}
	}
	c.must(204, "PATCH", "/Users/"+id, map[string]any{"Operations": []any{map[string]any{"op": "add", "path": "title", "value": "x"}}}, "If-Match", etag)
	status, body, _ := c.do("PATCH", "/Users/"+id, map[string]any{"Operations": []any{map[string]any{"op": "add", "path": "title", "value": "y"}}}, "If-Match", etag)
	if status != 412 {
		t.Fatalf("stale If-Match: %d %v", status, body)
	}
	scimError(t, body, 412, "")
	if status, _, _ := c.do("DELETE", "/Users/"+id, nil, "If-Match", etag); status != 412 {
		t.Errorf("stale If-Match on DELETE: %d", status)
	}
	if got := c.must(200, "GET", "/Users/"+id, nil); got["title"] != "x" {
		t.Errorf("a refused PATCH changed the user: %v", got["title"])
	}
}

// meta.lastModified is created's until the resource is first changed (RFC 7643 section
// 3.1: "the value MUST be the same"), and later than it after.
func TestLastModified(t *testing.T) {
	c := newTenant(t).client(t)
	for _, r := range []struct{ endpoint, attribute string }{{"/Users", "userName"}, {"/Groups", "displayName"}} {
		created := c.must(201, "POST", r.endpoint, map[string]any{r.attribute: "modified"})
		id := created["id"].(string)
		for _, doc := range []map[string]any{created, c.must(200, "GET", r.endpoint+"/"+id, nil)} {
			if meta := doc["meta"].(map[string]any); meta["lastModified"] != meta["created"] {
				t.Errorf("%s: meta.lastModified %v of a resource never changed, created %v", r.endpoint, meta["lastModified"], meta["created"])
			}
		}
		c.must(204, "PATCH", r.endpoint+"/"+id, map[string]any{"Operations": []any{map[string]any{"op": "add", "path": "externalId", "value": "x"}}})
		meta := c.must(200, "GET", r.endpoint+"/"+id, nil)["meta"].(map[string]any)
		createdAt, err1 := time.Parse(time.RFC3339, meta["created"].(string))
		modifiedAt, err2 := time.Parse(time.RFC3339Nano, meta["lastModified"].(string))
		if err1 != nil || err2 != nil || !modifiedAt.After(createdAt) {
			t.Errorf("%s: after a change meta.lastModified %v, created %v", r.endpoint, meta["lastModified"], meta["created"])
		}
	}
}

// Bad input gets a SCIM error and never changes what is stored.
func TestBadPatchChangesNothing(t *testing.T) {
	f := newTenant(t)
	c := f.client(t)
	created := c.must(201, "POST", "/Users", entraUser("atomic"))
	id := created["id"].(string)
	before := c.must(200, "GET", "/Users/"+id, nil)
	for _, body := range []any{
		map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "x"}, map[string]any{"op": "replace", "path": "active", "value": 3}}},
		map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "x"}, map[string]any{"op": "remove", "path": "userName"}}},
		map[string]any{"Operations": []any{map[string]any{"op": "jump", "path": "title"}}},
		map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "emails[type eq", "value": "x"}}},
		map[string]any{"Operations": "not a list"},
		`{"Operations": [`,
	} {
		status, resp, _ := c.do("PATCH", "/Users/"+id, body)
		if status != 400 {
			t.Errorf("%v: status %d", body, status)
		} else {
			scimError(t, resp, 400, "")
		}
	}
	after := c.must(200, "GET", "/Users/"+id, nil)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("a failed PATCH changed the user:\n%v\n%v", before, after)
	}
}

func TestBulk(t *testing.T) {
	c := newTenant(t).client(t)
	resp := c.must(200, "POST", "/Bulk", map[string]any{
		"schemas":      []any{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"},
		"failOnErrors": 2,
		"Operations": []any{
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "u1", "data": map[string]any{"userName": "bulk1"}},
			map[string]any{"method": "POST", "path": "/Groups", "bulkId": "g1", "data": map[string]any{"displayName": "bulk", "members": []any{map[string]any{"value": "bulkId:u1"}}}},
			map[string]any{"method": "PATCH", "path": "/Users/bulkId:u1", "data": map[string]any{"Operations": []any{map[string]any{"op": "add", "path": "title", "value": "t"}}}},
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "dup", "data": map[string]any{"userName": "bulk1"}},
			map[string]any{"method": "DELETE", "path": "/Users/bulkId:nosuch"},
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "never", "data": map[string]any{"userName": "never"}},
		},
	})
	ops := resp["Operations"].([]any)
	var statuses []string
	for _, o := range ops {
		statuses = append(statuses, o.(map[string]any)["status"].(string))
	}
	if strings.Join(statuses, ",") != "201,201,204,409,409" {
		t.Fatalf("statuses = %v (failOnErrors 2 stops after the second failure)", statuses)
	}
	uid := strings.TrimPrefix(ops[0].(map[string]any)["location"].(string), c.base+"/Users/")
	group := c.must(200, "GET", strings.TrimPrefix(ops[1].(map[string]any)["location"].(string), c.base), nil)
	if group["members"].([]any)[0].(map[string]any)["value"] != uid {
		t.Errorf("bulkId reference not resolved: %v", group["members"])
	}
	if u := c.must(200, "GET", "/Users/"+uid, nil); u["title"] != "t" {
		t.Errorf("bulk PATCH not applied: %v", u)
	}
	if got := c.must(200, "GET", "/Users?filter=userName+eq+%22never%22", nil); got["totalResults"] != float64(0) {
		t.Error("an operation after failOnErrors ran")
	}
	many := make([]any, 1001)
	for i := range many {
		many[i] = map[string]any{"method": "DELETE", "path": "/Users/x"}
	}
	status, body, _ := c.do("POST", "/Bulk", map[string]any{"Operations": many})
	if status != 413 {
		t.Fatalf("1001 operations: %d", status)
	}
	scimError(t, body, 413, "")
}

func TestLimits(t *testing.T) {
	c := newTenant(t).client(t)
	big := map[string]any{"userName": "big", "title": strings.Repeat("x", 2<<20)}
	status, body, _ := c.do("POST", "/Users", big)
	if status != 413 {
		t.Fatalf("2 MiB body: %d", status)
	}
	scimError(t, body, 413, "")
	status, body, _ = c.do("PUT", "/Users", map[string]any{"userName": "x"})
	if status != 405 {
		t.Fatalf("PUT on the collection: %d %v", status, body)
	}
	if status, _, _ := c.do("GET", "/Users/"+strings.Repeat("A", 300), nil); status != 404 {
		t.Errorf("invalid id: %d", status)
	}
	if status, _, _ := c.do("GET", "/Nonsense", nil); status != 404 {
		t.Errorf("unknown endpoint: %d", status)
	}
}

func TestDiscovery(t *testing.T) {
	f := newTenant(t)
	c := f.client(t)
	spc := c.must(200, "GET", "/ServiceProviderConfig", nil)
	if spc["patch"].(map[string]any)["supported"] != true || spc["bulk"].(map[string]any)["maxOperations"] != float64(1000) {
		t.Errorf("ServiceProviderConfig = %v", spc)
	}
	if alias := c.must(200, "GET", "/serviceConfiguration", nil); fmt.Sprint(alias["patch"]) != fmt.Sprint(spc["patch"]) {
		t.Error("/serviceConfiguration differs")
	}
	rts := c.must(200, "GET", "/ResourceTypes", nil)["Resources"].([]any)
	if rts[0].(map[string]any)["endpoint"] != "/Users" || len(rts) != 2 {
		t.Errorf("ResourceTypes = %v", rts)
	}
	c.must(200, "GET", "/ResourceTypes/Group", nil)
	schemas := c.must(200, "GET", "/Schemas", nil)
	if schemas["totalResults"] != float64(3) {
		t.Errorf("Schemas = %v", schemas["totalResults"])
	}
	user := c.must(200, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", nil)
	if user["description"] != "User Account" {
		t.Errorf("User schema = %v", user["description"])
	}
	for _, a := range user["attributes"].([]any) {
		if a.(map[string]any)["name"] == "userName" && (a.(map[string]any)["uniqueness"] != "server" || a.(map[string]any)["caseExact"] != false) {
			t.Errorf("userName = %v", a)
		}
	}
	c.must(404, "GET", "/Schemas/urn:nosuch", nil)
	if status, _, _ := c.do("POST", "/ServiceProviderConfig", map[string]any{}); status != 405 {
		t.Errorf("POST /ServiceProviderConfig: %d", status)
	}
}

func TestRateLimit(t *testing.T) {
	f := newTenant(t)
	limited := httptest.NewServer(scimserver.New(mgrClient, mgrReader, mgrLookups, nil, ctrl.Log, scimserver.Options{RequestsPerSecond: 1, Burst: 3}).Handler())
	defer limited.Close()
	c := &scimClient{t: t, base: limited.URL + "/scim/" + f.Namespace + "/" + f.Name + "/v2", token: f.Token}
	var statuses []int
	var retryAfter string
	for range 5 {
		status, body, header := c.do("GET", "/Users", nil)
		statuses = append(statuses, status)
		if status == 429 {
			retryAfter = header.Get("Retry-After")
			scimError(t, body, 429, "")
		}
	}
	if fmt.Sprint(statuses) != "[200 200 200 429 429]" || retryAfter == "" {
		t.Fatalf("statuses %v, Retry-After %q", statuses, retryAfter)
	}
	// Requests without a valid token have a budget of their own: they cannot spend
	// the identity provider's.
	fresh := newTenant(t)
	valid := &scimClient{t: t, base: limited.URL + "/scim/" + fresh.Namespace + "/" + fresh.Name + "/v2", token: fresh.Token}
	forged := &scimClient{t: t, base: valid.base, token: "scimop_" + strings.Repeat("x", 43)}
	statuses = nil
	for range 5 {
		status, _, _ := forged.do("GET", "/Users", nil)
		statuses = append(statuses, status)
	}
	if fmt.Sprint(statuses) != "[401 401 401 429 429]" {
		t.Fatalf("statuses of a wrong token: %v", statuses)
	}
	valid.must(200, "GET", "/Users", nil)
	// Another tenant has a budget of its own.
	other := newTenant(t)
	oc := &scimClient{t: t, base: limited.URL + "/scim/" + other.Namespace + "/" + other.Name + "/v2", token: other.Token}
	oc.must(200, "GET", "/Users", nil)
}

// A replica whose indexes have not yet taken in every identity (just started, before
// it is ready) answers 503 with Retry-After instead of "no such user", which would
// make the identity provider create the user again.
func TestNoAnswersBeforeTheIndexesAreSynced(t *testing.T) {
	f := newTenant(t)
	starting := httptest.NewServer(scimserver.New(mgrClient, mgrReader, index.NewLookups(), nil, ctrl.Log, scimserver.Options{}).Handler())
	defer starting.Close()
	c := &scimClient{t: t, base: starting.URL + "/scim/" + f.Namespace + "/" + f.Name + "/v2", token: f.Token}
	status, body, header := c.do("GET", `/Users?filter=userName+eq+"someone"`, nil)
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
		t.Fatalf("a lookup before the indexes synced got %d (Retry-After %q): %s", status, header.Get("Retry-After"), body)
	}
	scimError(t, body, http.StatusServiceUnavailable, "")
}

// Failed authentications are limited per client address, found through the trusted
// proxy's X-Forwarded-For: an address that keeps failing is refused even with a valid
// token, before it is compared, while the identity provider's address is unaffected.
func TestFailedAuthenticationsPerAddress(t *testing.T) {
	f := newTenant(t)
	srv := httptest.NewServer(scimserver.New(mgrClient, mgrReader, mgrLookups, nil, ctrl.Log, scimserver.Options{
		FailedAuthPerSecond: 0.01, FailedAuthBurst: 3, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}).Handler())
	defer srv.Close()
	base := srv.URL + "/scim/" + f.Namespace + "/" + f.Name + "/v2"
	from := func(addr, url, token string) int {
		req, _ := http.NewRequest(http.MethodGet, url+"/Users", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Forwarded-For", addr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	attacker, idp := "198.51.100.1", "203.0.113.9"
	var statuses []int
	for _, url := range []string{base, srv.URL + "/scim/" + f.Namespace + "/no-such-tenant/v2", base} {
		statuses = append(statuses, from(attacker, url, "scimop_"+strings.Repeat("x", 43)))
	}
	// Once its budget is spent, even the right token does not get through.
	statuses = append(statuses, from(attacker, base, f.Token))
	if fmt.Sprint(statuses) != "[401 404 401 429]" {
		t.Fatalf("statuses of the failing address: %v", statuses)
	}
	if got := from(idp, base, f.Token); got != http.StatusOK {
		t.Errorf("the identity provider's address got %d", got)
	}
	// A client claiming another address behind the proxy's entry gains nothing.
	if got := from("203.0.113.9, "+attacker, base, f.Token); got != http.StatusTooManyRequests {
		t.Errorf("a forged X-Forwarded-For escaped the limit: %d", got)
	}
}

func TestMetrics(t *testing.T) {
	f := newTenant(t)
	c := f.client(t)
	c.must(201, "POST", "/Users", map[string]any{"userName": "counted"})
	c.must(404, "GET", "/Users/nosuch", nil)
	tenant := f.Namespace + "/" + f.Name
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, fam := range families {
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["tenant"] != tenant {
				continue
			}
			switch fam.GetName() {
			case "scim_requests_total":
				found[labels["method"]+" "+labels["resource"]+" "+labels["code"]] = true
			case "scim_request_duration_seconds":
				found["duration "+labels["method"]] = m.GetHistogram().GetSampleCount() > 0
			case "scim_identity_changes_total":
				found[labels["resource"]+" "+labels["action"]] = m.GetCounter().GetValue() == 1
			}
		}
	}
	for _, want := range []string{"POST Users 201", "GET Users 404", "duration POST", "User created"} {
		if !found[want] {
			t.Errorf("no %q sample for tenant %s: %v", want, tenant, found)
		}
	}
}

// The server runs as the manager runs it (Start), and notes each tenant's last
// request in its status now and then, not on every request.
func TestServeAndLastRequestTime(t *testing.T) {
	f := newTenant(t)
	addr := testenv.FreeAddr()
	srv := scimserver.New(mgrClient, mgrReader, mgrLookups, nil, ctrl.Log, scimserver.Options{BindAddress: addr, ActivityInterval: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	c := &scimClient{t: t, base: "http://" + addr + "/scim/" + f.Namespace + "/" + f.Name + "/v2", token: f.Token}
	eventually(t, 5*time.Second, func() error {
		req, _ := http.NewRequest("GET", c.base+"/ServiceProviderConfig", nil)
		req.Header.Set("Authorization", "Bearer "+f.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		return nil
	})
	before := time.Now().Add(-time.Second)
	eventually(t, 10*time.Second, func() error {
		var tenant identityv1alpha1.ScimTenant
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: f.Namespace, Name: f.Name}, &tenant); err != nil {
			return err
		}
		if tenant.Status.LastRequestTime == nil || tenant.Status.LastRequestTime.Time.Before(before) {
			return fmt.Errorf("lastRequestTime = %v", tenant.Status.LastRequestTime)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// The readiness check passes only while the SCIM port accepts connections: a replica
// whose caches synced before its server listened was ready for a moment in which a
// Service's connection to it was refused.
func TestReadyOnlyWhileListening(t *testing.T) {
	addr := testenv.FreeAddr()
	srv := scimserver.New(mgrClient, mgrReader, mgrLookups, nil, ctrl.Log, scimserver.Options{BindAddress: addr})
	if srv.Listening(nil) == nil {
		t.Fatal("ready before the server was started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	eventually(t, 5*time.Second, func() error { return srv.Listening(nil) })
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("ready, but a connection was refused: %v", err)
	}
	_ = conn.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
	if srv.Listening(nil) == nil {
		t.Error("still ready after the server stopped")
	}
}

// What Entra ID does, end to end: a user created through SCIM gets its RoleBinding
// in the workspace; deactivated through SCIM, it loses it.
func TestSCIMProvisioningGrantsAndRevokesAccess(t *testing.T) {
	f := newTenant(t, func(tn *identityv1alpha1.ScimTenant) { tn.Spec.SubjectPrefix = "oidc:" })
	c := f.client(t)
	id := c.must(201, "POST", "/Users", entraUser("grace"))["id"].(string)
	bindingOf := func() (*rbacv1.RoleBinding, error) {
		var rb rbacv1.RoleBinding
		err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: f.Namespace, Name: "scim-user-" + id}, &rb)
		return &rb, err
	}
	eventually(t, 20*time.Second, func() error {
		rb, err := bindingOf()
		if err != nil {
			return err
		}
		if rb.Subjects[0].Name != "oidc:grace" || rb.RoleRef.Name != "view" {
			return fmt.Errorf("binding %v to %v", rb.Subjects, rb.RoleRef)
		}
		return nil
	})
	c.must(204, "PATCH", "/Users/"+id, map[string]any{"Operations": []any{map[string]any{"op": "Replace", "path": "active", "value": "False"}}})
	eventually(t, 20*time.Second, func() error {
		if _, err := bindingOf(); !apierrors.IsNotFound(err) {
			return fmt.Errorf("binding still there: %v", err)
		}
		return nil
	})
}

// Under onDelete: Retain a SCIM DELETE keeps the ScimUser, without access and
// invisible to SCIM, and frees its userName.
func TestDeleteUnderRetain(t *testing.T) {
	f := newTenant(t, func(tn *identityv1alpha1.ScimTenant) { tn.Spec.Deprovisioning.OnDelete = identityv1alpha1.DeleteRetain })
	c := f.client(t)
	id := c.must(201, "POST", "/Users", map[string]any{"userName": "kept"})["id"].(string)
	c.must(204, "DELETE", "/Users/"+id, nil)
	c.must(404, "GET", "/Users/"+id, nil)
	if got := c.must(200, "GET", "/Users?filter=userName+eq+%22kept%22", nil); got["totalResults"] != float64(0) {
		t.Errorf("a deleted user is listed: %v", got)
	}
	var u identityv1alpha1.ScimUser
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: f.Namespace, Name: id}, &u); err != nil {
		t.Fatalf("the ScimUser was not retained: %v", err)
	}
	if u.Annotations[identityv1alpha1.AnnotationDeletedAt] == "" {
		t.Errorf("annotations = %v", u.Annotations)
	}
	if again := c.must(201, "POST", "/Users", map[string]any{"userName": "kept"}); again["id"] == id {
		t.Error("the re-created user took the retained one's id")
	}
}
