package patch

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", s, err)
	}
	return m
}

func ops(t testing.TB, s string) []Operation {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var o []Operation
	if err := d.Decode(&o); err != nil {
		t.Fatalf("decoding %s: %v", s, err)
	}
	return o
}

const user = `{"userName": "alice", "active": true, "name": {"givenName": "Alice", "familyName": "Young"},
  "emails": [{"value": "alice@example.com", "type": "work", "primary": true}]}`

const group = `{"displayName": "Engineering", "members": [{"value": "u1"}, {"value": "u2", "display": "Bob"}, {"value": "u3"}]}`

// Every request shape of ../shared/scim/azure-ad.md, section by section.
func TestApply(t *testing.T) {
	for _, tc := range []struct {
		name   string
		res    *schema.Resource
		before string
		ops    string
		after  string
	}{
		{"T#5 replace filtered email value and familyName", schema.User, user,
			`[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]`,
			`{"userName": "alice", "active": true, "name": {"givenName": "Alice", "familyName": "updatedFamilyName"}, "emails": [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}]}`},
		{"T#6 replace userName", schema.User, user, `[{"op":"Replace","path":"userName","value":"new@example.com"}]`,
			`{"userName": "new@example.com", "active": true, "name": {"givenName": "Alice", "familyName": "Young"}, "emails": [{"value": "alice@example.com", "type": "work", "primary": true}]}`},
		{"T#7 disable with boolean", schema.User, `{"userName":"a","active":true}`, `[{"op":"Replace","path":"active","value":false}]`, `{"userName":"a","active":false}`},
		{"Q2 disable with string False", schema.User, `{"userName":"a","active":true}`, `[{"op":"Replace","path":"active","value":"False"}]`, `{"userName":"a","active":false}`},
		{"Q1 op in any case", schema.User, `{"userName":"a","active":true}`, `[{"op":"rEpLaCe","path":"active","value":"false"}]`, `{"userName":"a","active":false}`},
		{"Q3 add sets a single-valued attribute", schema.User, `{"userName":"a","active":false}`, `[{"op":"Add","path":"active","value":"True"}]`, `{"userName":"a","active":true}`},
		{"Q3 add a single-value string", schema.User, `{"userName":"a"}`, `[{"op":"Add","path":"nickName","value":"Babs"}]`, `{"userName":"a","nickName":"Babs"}`},
		{"T#13 add member with $ref null", schema.Group, group, `[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u4"}]}]`,
			`{"displayName": "Engineering", "members": [{"value": "u1"}, {"value": "u2", "display": "Bob"}, {"value": "u3"}, {"value": "u4"}]}`},
		{"add an existing member keeps one", schema.Group, group, `[{"op":"add","path":"members","value":[{"value":"u1","display":"Ann"}]}]`,
			`{"displayName": "Engineering", "members": [{"value": "u1", "display": "Ann"}, {"value": "u2", "display": "Bob"}, {"value": "u3"}]}`},
		{"Q4 remove with a value list removes exactly those", schema.Group, group, `[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"u2"}]}]`,
			`{"displayName": "Engineering", "members": [{"value": "u1"}, {"value": "u3"}]}`},
		{"remove members by filter", schema.Group, group, `[{"op":"remove","path":"members[value eq \"u1\"]"}]`,
			`{"displayName": "Engineering", "members": [{"value": "u2", "display": "Bob"}, {"value": "u3"}]}`},
		{"remove a member that is not there", schema.Group, group, `[{"op":"remove","path":"members[value eq \"nobody\"]"}]`, group},
		{"remove members without value clears", schema.Group, group, `[{"op":"remove","path":"members"}]`, `{"displayName": "Engineering"}`},
		{"bare string member", schema.Group, `{"displayName":"g"}`, `[{"op":"add","path":"members","value":"string id 1"}]`, `{"displayName":"g","members":[{"value":"string id 1"}]}`},
		{"Q19 several membership changes", schema.Group, group,
			`[{"op":"remove","path":"members[value eq \"u1\"]"},{"op":"add","path":"members","value":[{"value":"u5"},{"value":"u6"}]},{"op":"Remove","path":"members","value":[{"value":"u3"}]}]`,
			`{"displayName": "Engineering", "members": [{"value": "u2", "display": "Bob"}, {"value": "u5"}, {"value": "u6"}]}`},
		{"Okta rename with id in value", schema.Group, group, `[{"op":"replace","value":{"id":"abc","displayName":"Eng"}}]`,
			`{"displayName": "Eng", "members": [{"value": "u1"}, {"value": "u2", "display": "Bob"}, {"value": "u3"}]}`},
		{"Okta replace members", schema.Group, group, `[{"op":"replace","path":"members","value":[{"value":"u9"}]}]`, `{"displayName": "Engineering", "members": [{"value": "u9"}]}`},
		{"Okta deactivate path-less", schema.User, `{"userName":"a","active":true}`, `[{"op":"replace","value":{"active":false}}]`, `{"userName":"a","active":false}`},
		{"Q6 path-less replace with dotted and URN keys", schema.User, user,
			`[{"op":"Replace","value":{"name.givenName":"Barbara","name.familyName":"Jensen","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"701984","active":"False"}}]`,
			`{"userName": "alice", "active": false, "name": {"givenName": "Barbara", "familyName": "Jensen"}, "emails": [{"value": "alice@example.com", "type": "work", "primary": true}],
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}}`},
		{"Q7 filtered replace creates the missing element", schema.User, user, `[{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"555-0100"}]`,
			`{"userName": "alice", "active": true, "name": {"givenName": "Alice", "familyName": "Young"}, "emails": [{"value": "alice@example.com", "type": "work", "primary": true}], "phoneNumbers": [{"type": "mobile", "value": "555-0100"}]}`},
		{"Q8 manager as array with $ref (T Ex.5)", schema.User, `{"userName":"a"}`, `[{"op":"Add","path":"manager","value":[{"$ref":"http://example.com/scim/Users/m1","value":"m1"}]}]`,
			`{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1","$ref":"http://example.com/scim/Users/m1"}}}`},
		{"Q8 manager as a bare string with URN path", schema.User, `{"userName":"a"}`, `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"271"}]`,
			`{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"271"}}}`},
		{"Q18 legacy dotted extension path", schema.User, `{"userName":"a"}`, `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department","value":"R&D"}]`,
			`{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D"}}`},
		{"remove the manager", schema.User, `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}}`,
			`[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`, `{"userName":"a"}`},
		{"Q9 roles with JSON-encoded values", schema.User, `{"userName":"a"}`,
			`[{"op":"Add","path":"roles","value":[{"value":"{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}]}]`,
			`{"userName":"a","roles":[{"value":"Admin","display":"Admin"}]}`},
		{"Q9 roles filter with string True", schema.User, `{"userName":"a","roles":[{"value":"User","primary":true}]}`,
			`[{"op":"replace","path":"roles[primary eq \"True\"].value","value":"Admin"}]`, `{"userName":"a","roles":[{"value":"Admin","primary":true}]}`},
		{"Q20 no-op active true", schema.User, `{"userName":"a","active":true}`, `[{"op":"Replace","path":"active","value":true}]`, `{"userName":"a","active":true}`},
		{"replace complex merges sub-attributes", schema.User, user, `[{"op":"replace","path":"name","value":{"givenName":"Al"}}]`,
			`{"userName": "alice", "active": true, "name": {"givenName": "Al", "familyName": "Young"}, "emails": [{"value": "alice@example.com", "type": "work", "primary": true}]}`},
		{"replace with null removes", schema.User, `{"userName":"a","title":"CEO"}`, `[{"op":"replace","path":"title","value":null}]`, `{"userName":"a"}`},
		{"remove a sub-attribute", schema.User, user, `[{"op":"remove","path":"name.familyName"}]`,
			`{"userName": "alice", "active": true, "name": {"givenName": "Alice"}, "emails": [{"value": "alice@example.com", "type": "work", "primary": true}]}`},
		{"remove an email by filter", schema.User, user, `[{"op":"remove","path":"emails[type eq \"work\"]"}]`, `{"userName": "alice", "active": true, "name": {"givenName": "Alice", "familyName": "Young"}}`},
		{"custom extension attribute kept verbatim", schema.User, `{"userName":"a"}`,
			`[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute","value":"x"}]`,
			`{"userName":"a","urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User":{"CustomAttribute":"x"}}`},
		{"unknown attribute in a path-less value is ignored", schema.User, `{"userName":"a"}`, `[{"op":"add","value":{"adreses":"x","nickName":"n"}}]`, `{"userName":"a","nickName":"n"}`},
		{"password is accepted and not kept", schema.User, `{"userName":"a"}`, `[{"op":"replace","value":{"password":"hunter2"}}]`, `{"userName":"a"}`},
		{"a change in an extension leaves the stored extension as it was", schema.User,
			`{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"A","manager":{"value":"m1"}}}`,
			`[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"B"},{"op":"add","path":"manager","value":{"value":"m2"}}]`,
			`{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"B","manager":{"value":"m2"}}}`},
		{"a member named twice in one add is one member", schema.Group, `{"displayName":"g"}`,
			`[{"op":"add","path":"members","value":[{"value":"u9"},{"value":"u9","display":"Nine"}]}]`, `{"displayName":"g","members":[{"value":"u9","display":"Nine"}]}`},
		{"an element without a value already there is not added again", schema.User, `{"userName":"a","addresses":[{"type":"work","locality":"Oslo"}]}`,
			`[{"op":"add","path":"addresses","value":[{"type":"work","locality":"Oslo"},{"type":"home","locality":"Bergen"}]}]`,
			`{"userName":"a","addresses":[{"type":"work","locality":"Oslo"},{"type":"home","locality":"Bergen"}]}`},
		{"remove with a list of elements without a value", schema.User, `{"userName":"a","addresses":[{"type":"work","locality":"Oslo"},{"type":"home","locality":"Bergen"}]}`,
			`[{"op":"remove","path":"addresses","value":[{"type":"home","locality":"Bergen"}]}]`, `{"userName":"a","addresses":[{"type":"work","locality":"Oslo"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := decode(t, tc.before)
			snapshot := decode(t, tc.before)
			got, err := Apply(tc.res, before, ops(t, tc.ops))
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if want := decode(t, tc.after); !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("got  %s\nwant %s", g, w)
			}
			if !reflect.DeepEqual(before, snapshot) {
				t.Error("Apply modified its input")
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, ops, scimType string
	}{
		{"unknown op", `[{"op":"move","path":"title","value":"x"}]`, scimerr.InvalidSyntax},
		{"remove without path", `[{"op":"remove"}]`, scimerr.NoTarget},
		{"unknown attribute", `[{"op":"replace","path":"nosuch","value":"x"}]`, scimerr.InvalidPath},
		{"bad path", `[{"op":"replace","path":"emails[type eq","value":"x"}]`, scimerr.InvalidPath},
		{"read-only id", `[{"op":"replace","path":"id","value":"x"}]`, scimerr.Mutability},
		{"read-only groups", `[{"op":"add","path":"groups","value":[{"value":"g"}]}]`, scimerr.Mutability},
		{"wrong type", `[{"op":"replace","path":"active","value":"maybe"}]`, scimerr.InvalidValue},
		{"path-less scalar", `[{"op":"replace","value":"x"}]`, scimerr.InvalidValue},
		{"second op fails, first must not apply", `[{"op":"replace","path":"title","value":"x"},{"op":"replace","path":"active","value":7}]`, scimerr.InvalidValue},
		{"two primaries", `[{"op":"add","path":"emails","value":[{"value":"a","primary":true},{"value":"b","primary":true}]}]`, scimerr.InvalidValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := decode(t, user)
			_, err := Apply(schema.User, before, ops(t, tc.ops))
			e, ok := scimerr.As(err)
			if !ok || e.Status != 400 || e.ScimType != tc.scimType {
				t.Fatalf("got %v, want 400 %s", err, tc.scimType)
			}
			if !reflect.DeepEqual(before, decode(t, user)) {
				t.Error("a failed PATCH changed the resource")
			}
		})
	}
}
