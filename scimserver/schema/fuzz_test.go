package schema

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// FuzzNormalize: any JSON object body is accepted in a normal form that normalizes
// to itself, or refused with a 400.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		`{"userName":"a","active":"True","emails":[{"value":"x","primary":true}],"meta":{"resourceType":"User"}}`,
		`{"UserName":"a","Name":{"GivenName":"b"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Manager":{"Value":"m"}}}`,
		`{"userName":"a","department":null,"manager":"123","addresses":null}`,
		`{"userName":"a","urn:ietf:params:scim:schemas:extension:Custom:2.0:User":{"x":1}}`,
		`{"userName":"a","urn:ietf:params:scim:schemas:extension:Custom:2.0:User:attr":"v"}`,
		`{"userName":"a","roles":[{"value":"{\"id\":\"1\",\"value\":\"Admin\",\"displayName\":\"A\"}"}]}`,
		`{"userName":"a","x509Certificates":[{"value":"MIIC"}],"emails":{"value":"single"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		d := json.NewDecoder(bytes.NewReader([]byte(body)))
		d.UseNumber()
		var in map[string]any
		if d.Decode(&in) != nil || in == nil {
			return
		}
		for _, res := range Resources {
			out, err := res.Normalize(in)
			if err != nil {
				if e, ok := scimerr.As(err); !ok || e.Status != 400 {
					t.Fatalf("%v is not a 400", err)
				}
				continue
			}
			again, err := res.Normalize(out)
			if err != nil || !reflect.DeepEqual(out, again) {
				t.Fatalf("not a normal form: %v -> %v (%v)", out, again, err)
			}
			_ = res.Project(out, []string{"userName", "emails.value", "members"}, nil)
		}
	})
}
