package schema

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Entra create (T#1): meta, roles:[] and schemas dropped, string boolean",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","active":"True","meta":{"resourceType":"User"},"roles":[]}`,
			`{"userName":"u","active":true}`},
		{"case-insensitive names (Microsoft's tests)",
			`{"UserName":"u","Name":{"FamilyName":"f"},"Emails":[{"Value":"e","Primary":"true","Type":"work"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Department":"d","Manager":{"Value":"m"}}}`,
			`{"userName":"u","name":{"familyName":"f"},"emails":[{"value":"e","primary":true,"type":"work"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d","manager":{"value":"m"}}}`},
		{"Entra Ex.2: nulls, top-level enterprise attributes, a typo'd schema URN",
			`{"schemas":["urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],"userName":"u","addresses":null,"title":null,"department":"d","manager":"123"}`,
			`{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d","manager":{"value":"123"}}}`},
		{"read-only and write-only attributes are not stored",
			`{"id":"x","userName":"u","password":"p","groups":[{"value":"g"}],"meta":{"version":"1"}}`, `{"userName":"u"}`},
		{"custom extensions kept verbatim, object or attribute path",
			`{"userName":"u","urn:ietf:params:scim:schemas:extension:Acme:2.0:User":{"badge":7},"urn:ietf:params:scim:schemas:extension:Other:2.0:User:level":"3"}`,
			`{"userName":"u","urn:ietf:params:scim:schemas:extension:Acme:2.0:User":{"badge":7},"urn:ietf:params:scim:schemas:extension:Other:2.0:User":{"level":"3"}}`},
		{"enterprise attribute by full path, complex", `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":{"value":"m"}}`,
			`{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}}}`},
		{"a single object for a multi-valued attribute", `{"userName":"u","emails":{"value":"e"}}`, `{"userName":"u","emails":[{"value":"e"}]}`},
		{"numbers for strings", `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":701984}}`,
			`{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := User.Normalize(decode(t, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if want := decode(t, tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
		})
	}
}

func TestNormalizeRefuses(t *testing.T) {
	for _, in := range []string{
		`{"userName":true}`, `{"userName":"u","active":"yes"}`, `{"userName":"u","name":"Bob"}`,
		`{"userName":"u","emails":[{"value":"a","primary":true},{"value":"b","primary":true}]}`,
		`{"userName":"u","meta":{},"manager":[{"value":"a"},{"value":"b"}]}`,
	} {
		_, err := User.Normalize(decode(t, in))
		if e, ok := scimerr.As(err); !ok || e.Status != 400 || e.ScimType != scimerr.InvalidValue {
			t.Errorf("%s: %v, want 400 invalidValue", in, err)
		}
	}
}

func TestProject(t *testing.T) {
	doc := func() map[string]any {
		return decode(t, `{"schemas":["s"],"id":"1","userName":"u","name":{"givenName":"g","familyName":"f"},
			"emails":[{"value":"e","type":"work"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d","costCenter":"c"},"meta":{"version":"v"}}`)
	}
	for _, tc := range []struct {
		name               string
		attributes, except []string
		want               string
	}{
		{"attributes keep id and schemas", []string{"userName"}, nil, `{"schemas":["s"],"id":"1","userName":"u"}`},
		{"sub-attributes and case", []string{"NAME.givenName", "emails.value"}, nil, `{"schemas":["s"],"id":"1","name":{"givenName":"g"},"emails":[{"value":"e"}]}`},
		{"a value filter selects the attribute", []string{`emails[type eq "work"]`}, nil, `{"schemas":["s"],"id":"1","emails":[{"value":"e","type":"work"}]}`},
		{"extension attribute", []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}, nil,
			`{"schemas":["s"],"id":"1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d"}}`},
		{"excluded", nil, []string{"name", "emails", "meta", "id", "department"},
			`{"schemas":["s"],"id":"1","userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":"c"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := User.Project(doc(), tc.attributes, tc.except), decode(t, tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
		})
	}
}

// ExcludedKeys are the top-level keys Project removes, and only when it removes
// nothing deeper.
func TestExcludedKeys(t *testing.T) {
	for _, tc := range []struct {
		res      *Resource
		excluded []string
		want     []string
		ok       bool
	}{
		{User, nil, nil, true},
		{Group, []string{"members"}, []string{"members"}, true},
		{User, []string{"Name", "emails", "meta", "id", "nosuch", `groups[type eq "direct"]`}, []string{"name", "emails", "meta", "groups"}, true},
		{User, []string{"name", "name.givenName"}, nil, false},
		{User, []string{"department"}, nil, false},
	} {
		keys, ok := tc.res.ExcludedKeys(tc.excluded)
		if ok != tc.ok || !slices.Equal(keys, tc.want) {
			t.Errorf("%s %v: %v, %v; want %v, %v", tc.res.Name, tc.excluded, keys, ok, tc.want, tc.ok)
		}
	}
}

// Discovery renders every attribute the validation knows, camelCase and without nulls.
func TestSchemaDocs(t *testing.T) {
	for _, res := range Resources {
		for _, sc := range res.Schemas() {
			b, _ := json.Marshal(SchemaDoc(sc, "https://x"))
			if bytes.Contains(b, []byte("null")) {
				t.Errorf("%s: null in %s", sc.ID, b)
			}
			var d struct {
				Attributes []struct{ Name string } `json:"attributes"`
			}
			_ = json.Unmarshal(b, &d)
			if len(d.Attributes) != len(sc.Attributes) {
				t.Errorf("%s: %d attributes rendered, %d defined", sc.ID, len(d.Attributes), len(sc.Attributes))
			}
			for _, a := range d.Attributes {
				if p, err := res.ResolveString(sc.ID + ":" + a.Name); err != nil || p.Attr == nil {
					t.Errorf("%s: advertised %s does not resolve: %v", sc.ID, a.Name, err)
				}
			}
		}
	}
}
