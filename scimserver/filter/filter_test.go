package filter

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

const alice = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "externalId": "jyoung",
  "userName": "Alice@Example.com",
  "name": {"familyName": "Employee", "givenName": "Alice"},
  "displayName": "BobIsAmazing",
  "active": true,
  "emails": [{"value": "alice@example.com", "type": "work", "primary": true}, {"value": "alice@home.org", "type": "home"}],
  "roles": [{"value": "Admin", "primary": true}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
  "meta": {"resourceType": "User", "created": "2020-01-23T04:56:22Z", "lastModified": "2020-01-23T04:56:22Z"}
}`

func doc(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMatch(t *testing.T) {
	user := doc(t, alice)
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{`userName eq "alice@example.com"`, true}, // caseExact=false
		{`UserName EQ "ALICE@EXAMPLE.COM"`, true},
		{`userName eq "bob"`, false},
		{`externalId eq jyoung`, true},    // Entra's documented unquoted value
		{`externalId eq "JYOUNG"`, false}, // caseExact=true
		{`id eq "2819c223-7f76-453a-919d-413861904646"`, true},
		{`DisplayName eq "BobIsAmazing"`, true},
		{`userName sw A`, true},
		{`userName ew ".com"`, true},
		{`userName co "example"`, true},
		{`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`, true},
		{`emails[type eq "work" and value co "@example.com"]`, true},
		{`emails[type eq "work"].value eq "alice@example.com"`, true}, // Entra matching shape
		{`emails[type eq "home"].value eq "alice@example.com"`, false},
		{`emails[type eq "work"].value pr`, true},
		{`emails co "home.org"`, true},
		{`active eq true`, true},
		{`active eq "True"`, true},
		{`active eq false`, false},
		{`not (active eq false)`, true},
		{`title pr`, false},
		{`title eq null`, true},
		{`userName pr and not (title pr)`, true},
		{`roles[primary eq "True"].value eq "Admin"`, true},
		{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, true},
		{`meta.lastModified lt "2015-10-10T00:00:00Z"`, false},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber eq "701984"`, true}, // legacy Entra
		{`manager eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{`userName gt "a" and userName lt "b"`, true},
		{`userName ne "alice@example.com"`, false},
		{`emails.type ne "other"`, true},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := Parse(schema.User, tc.filter)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := f.Match(user); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
			if got := f.Match(only(user, f.Attributes())); got != tc.want {
				t.Errorf("Match of the document cut to %v = %v, want %v", f.Attributes(), got, tc.want)
			}
		})
	}
}

// only is doc with the top-level keys named, as a store renders it for a filter.
func only(doc map[string]any, keys []string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := doc[k]; ok {
			out[k] = v
		}
	}
	return out
}

func TestInvalid(t *testing.T) {
	for _, s := range []string{
		``, `userName`, `userName eq`, `userName zz "x"`, `nosuch eq "x"`, `name.nosuch eq "x"`,
		`userName eq "unterminated`, `(userName eq "x"`, `emails[type eq "work"`, `userName[value eq "x"]`,
		`active gt true`, `meta.created gt "yesterday"`, `emails[type[value eq "x"] eq "y"]`,
		`userName eq "x" and`, strings.Repeat("(", 5000),
	} {
		t.Run(s, func(t *testing.T) {
			_, err := Parse(schema.User, s)
			e, ok := scimerr.As(err)
			if !ok || e.Status != 400 || e.ScimType != scimerr.InvalidFilter {
				t.Fatalf("got %v, want a 400 invalidFilter", err)
			}
		})
	}
}

func TestEqualities(t *testing.T) {
	for _, tc := range []struct{ filter, attr, value string }{
		{`userName eq "x"`, "userName", "x"},
		{`externalId eq "x" and active eq true`, "externalId", "x"},
		{`members[value eq "x"]`, "members.value", "x"},
		{`id eq 54D382A4-1 and manager eq 2819c223`, "id", "54D382A4-1"},
	} {
		res := schema.User
		if strings.HasPrefix(tc.filter, "members") {
			res = schema.Group
		}
		f, err := Parse(res, tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		eqs := f.Equalities()
		if len(eqs) == 0 || eqs[0].Attribute != tc.attr || eqs[0].Value != tc.value {
			t.Errorf("%s: Equalities = %v", tc.filter, eqs)
		}
	}
	f, _ := Parse(schema.User, `userName eq "x" or userName eq "y"`)
	if len(f.Equalities()) != 0 {
		t.Error("an or must not narrow the candidates")
	}
}
