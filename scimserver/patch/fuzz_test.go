package patch

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// FuzzApply: any operation list applies or is refused with a 400, never changes its
// input, and leaves a document that is its own normal form.
func FuzzApply(f *testing.F) {
	for _, s := range []string{
		`[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"a@b.c"}]`,
		`[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]}]`,
		`[{"op":"Remove","path":"members","value":[{"value":"u1"}]}]`,
		`[{"op":"replace","value":{"name.givenName":"A","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"1","active":"False"}}]`,
		`[{"op":"add","path":"manager","value":[{"$ref":"x","value":"m"}]}]`,
		`[{"op":"add","path":"roles","value":[{"value":"{\"id\":\"1\",\"value\":\"Admin\"}"}]}]`,
		`[{"op":"remove","path":"name.familyName"}]`, `[{"op":"add","path":"phoneNumbers[type eq \"mobile\"].value","value":"1"}]`,
		`[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"B"},{"op":"add","path":"manager.value","value":"m2"}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, opsJSON string) {
		var ops []Operation
		if err := json.Unmarshal([]byte(opsJSON), &ops); err != nil {
			return
		}
		doc := map[string]any{"userName": "a", "active": true, "name": map[string]any{"givenName": "A"},
			"emails":                 []any{map[string]any{"value": "a@example.com", "type": "work", "primary": true}},
			schema.EnterpriseUserURN: map[string]any{"department": "A", "manager": map[string]any{"value": "m1"}}}
		before := deepCopy(doc)
		out, err := Apply(schema.User, doc, ops)
		if !reflect.DeepEqual(doc, before) {
			t.Fatal("Apply modified its input")
		}
		if err != nil {
			if e, ok := scimerr.As(err); !ok || e.Status != 400 {
				t.Fatalf("%v is not a 400", err)
			}
			return
		}
		again, err := schema.User.Normalize(out)
		if err != nil {
			t.Fatalf("the result does not normalize: %v: %v", out, err)
		}
		if !reflect.DeepEqual(roundTrip(t, again), roundTrip(t, out)) {
			t.Fatalf("the result is not in normal form:\n%v\n%v", out, again)
		}
	})
}

func roundTrip(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
