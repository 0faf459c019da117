package scimserver_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/scim-operator/scim-operator/internal/testenv"
)

// shared returns a file of the third-party conformance data, or skips the test.
func shared(t *testing.T, rel string) string {
	t.Helper()
	dir := testenv.SharedDir()
	if dir == "" {
		t.Skip("../shared (third-party SCIM conformance data) is absent: peer suites skipped")
	}
	return filepath.Join(dir, rel)
}

type sequenceStep struct {
	Name                    string            `json:"name"`
	Group                   string            `json:"group"`
	Method                  string            `json:"method"`
	Path                    string            `json:"path"`
	Body                    json.RawMessage   `json:"body"`
	ExpectStatus            int               `json:"expect_status"`
	AcceptableStatuses      []int             `json:"acceptable_statuses"`
	ExpectBodySubset        json.RawMessage   `json:"expect_body_subset"`
	ExpectPresent           []string          `json:"expect_present"`
	ExpectAbsent            []string          `json:"expect_absent"`
	ExpectAbsentMemberValue string            `json:"expect_absent_member_value"`
	Capture                 map[string]string `json:"capture"`
	CaptureStatic           map[string]string `json:"capture_static"`
}

// TestEntraSequence replays ../shared/scim/azure-ad-sequence.json: every request
// Microsoft documents for the Entra ID provisioning client, with the documented
// responses as expectations, plus what each step must have changed.
func TestEntraSequence(t *testing.T) {
	raw, err := os.ReadFile(shared(t, "scim/azure-ad-sequence.json"))
	if err != nil {
		t.Fatal(err)
	}
	var seq struct {
		Requests []sequenceStep `json:"requests"`
	}
	if err := json.Unmarshal(raw, &seq); err != nil {
		t.Fatal(err)
	}
	f := newTenant(t)
	c := f.client(t)
	vars := map[string]string{"nonexistentId": uuid.NewString(), "randomGuid": uuid.NewString(), "managerId": uuid.NewString()}
	bound := false
	for _, step := range seq.Requests {
		if !strings.HasPrefix(step.Group, "tutorial.") || step.Group == "tutorial.examples" {
			if !bound {
				// The independent examples act on fresh resources (the tutorial deleted its own).
				vars["userId"] = c.must(201, "POST", "/Users", map[string]any{"userName": "compat@example.com",
					"emails": []any{map[string]any{"type": "work", "value": "compat@example.com"}}})["id"].(string)
				vars["groupId"] = c.must(201, "POST", "/Groups", map[string]any{"displayName": "compat",
					"members": []any{map[string]any{"value": "u1091"}, map[string]any{"value": "7f4bc1a3-285e-48ae-8202-5accb43efb0e"}, map[string]any{"value": "kept"}}})["id"].(string)
				bound = true
			}
		}
		t.Run(step.Name, func(t *testing.T) {
			c.t = t
			path := expand(step.Path, vars)
			if base, query, ok := strings.Cut(path, "?"); ok {
				path = base + "?" + encodeQuery(query)
			}
			var body any
			if len(step.Body) > 0 && string(step.Body) != "null" {
				body = []byte(expand(string(step.Body), vars))
			}
			status, got, _ := c.do(step.Method, path, body)
			want := append([]int{step.ExpectStatus}, step.AcceptableStatuses...)
			if !slices.Contains(want, status) {
				t.Fatalf("status %d, want one of %v: %v", status, want, got)
			}
			if status == 204 && step.Method == "PATCH" {
				// 204 is an answer the sequence accepts; the documented body is then
				// what the resource reads back as.
				_, got, _ = c.do("GET", path, nil)
			}
			if len(step.ExpectBodySubset) > 0 && string(step.ExpectBodySubset) != "null" {
				var subset any
				if err := json.Unmarshal([]byte(expand(string(step.ExpectBodySubset), vars)), &subset); err != nil {
					t.Fatal(err)
				}
				if err := isSubset(subset, any(got), "body", nil); err != nil {
					t.Errorf("%v\nresponse: %v", err, got)
				}
			}
			for _, p := range step.ExpectPresent {
				if lookup(got, p) == nil {
					t.Errorf("%s missing from %v", p, got)
				}
			}
			for _, p := range step.ExpectAbsent {
				if lookup(got, p) != nil {
					t.Errorf("%s present in %v", p, got)
				}
			}
			if v := expand(step.ExpectAbsentMemberValue, vars); v != "" {
				for _, m := range asList(got["members"]) {
					if m.(map[string]any)["value"] == v {
						t.Errorf("member %s still present", v)
					}
				}
			}
			for name, p := range step.Capture {
				vars[name] = fmt.Sprint(lookup(got, p))
			}
			for name, v := range step.CaptureStatic {
				vars[name] = v
			}
			if check, ok := entraEffects[step.Name]; ok {
				check(t, c, vars)
			}
		})
	}
}

// entraEffects checks what a step must have changed, beyond the documented response.
var entraEffects = map[string]func(*testing.T, *scimClient, map[string]string){
	"Example 2 - provision a user with null attributes": func(t *testing.T, c *scimClient, v map[string]string) {
		u := c.must(200, "GET", "/Users/"+v["jyoungId"], nil)
		for _, absent := range []string{"title", "addresses", "phoneNumbers", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"} {
			if u[absent] != nil {
				t.Errorf("null %s stored: %v", absent, u[absent])
			}
		}
	},
	"Example 5 - set manager": func(t *testing.T, c *scimClient, v map[string]string) {
		u := c.must(200, "GET", "/Users/"+v["jyoungId"], nil)
		if got := lookup(u, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager.value"); got != "00aa00aa-bb11-cc22-dd33-44ee44ee44ee" {
			t.Errorf("manager = %v", got)
		}
	},
	"compat: disable user - default (no flag)": func(t *testing.T, c *scimClient, v map[string]string) {
		if u := c.must(200, "GET", "/Users/"+v["userId"], nil); u["active"] != false {
			t.Errorf("active = %v", u["active"])
		}
	},
	"compat: add single-value string - default": func(t *testing.T, c *scimClient, v map[string]string) {
		if u := c.must(200, "GET", "/Users/"+v["userId"], nil); u["nickName"] != "Babs" {
			t.Errorf("nickName = %v", u["nickName"])
		}
	},
	"compat: replace multiple attributes - default": func(t *testing.T, c *scimClient, v map[string]string) {
		u := c.must(200, "GET", "/Users/"+v["userId"], nil)
		if u["displayName"] != "Pvlo" || lookup(u, "name.familyName") != "Pkqf" || u["externalId"] != "Eqpj" ||
			lookup(u, "emails.0.value") != "TestBcwqnm@test.microsoft.com" ||
			lookup(u, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber") != "Eqpj" {
			t.Errorf("user = %v", u)
		}
	},
	"compat: replace multiple attributes - aadOptscim062020": func(t *testing.T, c *scimClient, v map[string]string) {
		u := c.must(200, "GET", "/Users/"+v["userId"], nil)
		if u["displayName"] != "Bjfe" || lookup(u, "name.givenName") != "Kkom" ||
			lookup(u, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber") != "Aklq" || u["name.givenName"] != nil {
			t.Errorf("user = %v", u)
		}
	},
	"compat: remove group member - default": func(t *testing.T, c *scimClient, v map[string]string) {
		if got := memberValues(c.must(200, "GET", "/Groups/"+v["groupId"], nil)); got != "7f4bc1a3-285e-48ae-8202-5accb43efb0e,kept" {
			t.Errorf("members = %s, want only u1091 removed", got)
		}
	},
	"compat: remove group member - aadOptscim062020": func(t *testing.T, c *scimClient, v map[string]string) {
		if got := memberValues(c.must(200, "GET", "/Groups/"+v["groupId"], nil)); got != "kept" {
			t.Errorf("members = %s", got)
		}
	},
	"roles: SingleAppRoleAssignment - PATCH": func(t *testing.T, c *scimClient, v map[string]string) {
		roles := fmt.Sprint(c.must(200, "GET", "/Users/"+v["roleUserId"], nil)["roles"])
		if !strings.Contains(roles, "value:25") || !strings.Contains(roles, "display:Role1234") || !strings.Contains(roles, "value:Admin") {
			t.Errorf("roles = %s", roles)
		}
	},
}

func memberValues(group map[string]any) string {
	var out []string
	for _, m := range asList(group["members"]) {
		out = append(out, m.(map[string]any)["value"].(string))
	}
	return strings.Join(out, ",")
}

func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// encodeQuery URL-encodes a query written unencoded, as the documentation prints it.
func encodeQuery(q string) string {
	var parts []string
	for kv := range strings.SplitSeq(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	return strings.Join(parts, "&")
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// lookup follows a dotted path; numbers index arrays, and a key may itself contain
// dots only when it is a URN (extension objects).
func lookup(v any, path string) any {
	if strings.HasPrefix(path, "urn:") {
		i := strings.LastIndex(path, ":")
		j := strings.Index(path[i:], ".")
		if j < 0 {
			m, _ := v.(map[string]any)
			return m[path]
		}
		m, _ := v.(map[string]any)
		return lookup(m[path[:i+j]], path[i+j+1:])
	}
	for seg := range strings.SplitSeq(path, ".") {
		switch t := v.(type) {
		case map[string]any:
			v = t[seg]
		case []any:
			var n int
			if _, err := fmt.Sscan(seg, &n); err != nil || n >= len(t) {
				return nil
			}
			v = t[n]
		default:
			return nil
		}
	}
	return v
}

// isSubset: every key of want is in got with a matching value, except the keys
// ignored (with the reason); every element of a wanted array matches some element
// of the actual one; a null in want means absent or empty.
func isSubset(want, got any, at string, ignored map[string]string) error {
	switch w := want.(type) {
	case nil:
		if g, ok := got.([]any); got == nil || ok && len(g) == 0 {
			return nil
		}
		return fmt.Errorf("%s: want nothing, got %v", at, got)
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %v", at, got)
		}
		for k, wv := range w {
			if _, skip := ignored[k]; skip {
				continue
			}
			if err := isSubset(wv, g[k], at+"."+k, ignored); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %v", at, got)
		}
		for i, wv := range w {
			if !slices.ContainsFunc(g, func(gv any) bool { return isSubset(wv, gv, at, ignored) == nil }) {
				return fmt.Errorf("%s[%d]: no element matches %v in %v", at, i, wv, g)
			}
		}
	default:
		if !reflect.DeepEqual(want, got) {
			return fmt.Errorf("%s: want %v, got %v", at, want, got)
		}
	}
	return nil
}
