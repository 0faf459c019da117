package filter

import (
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// FuzzParse: any filter either parses, or is refused with 400 invalidFilter; a
// parsed filter evaluates against a user without failing.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`userName eq "bjensen"`, `externalId eq jyoung`, `name.familyName co "O'Malley"`,
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		`emails[type eq "work"].value eq "x"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`not (userName pr)`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "1"`,
		`title pr and userType eq "Employee"`, `userName eq "a\"b\\c"`, `((userName eq "a"))`, `active eq "True"`,
		`roles[primary eq "True"].value eq "Admin"`, `x eq 1e400`, `userName sw O`,
	} {
		f.Add(s)
	}
	doc := map[string]any{"userName": "bjensen", "active": true, "emails": []any{map[string]any{"value": "b@example.com", "type": "work"}},
		"meta": map[string]any{"lastModified": "2020-01-01T00:00:00Z"}, "name": map[string]any{"familyName": "Jensen"}}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := Parse(schema.User, s)
		if err != nil {
			if e, ok := scimerr.As(err); !ok || e.Status != 400 || e.ScimType != scimerr.InvalidFilter {
				t.Fatalf("%q: %v is not a 400 invalidFilter", s, err)
			}
			return
		}
		flt.Match(doc)
		_ = flt.Equalities()
	})
}

// FuzzParsePath: any PATCH path resolves or is refused with 400 invalidPath.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		`members[value eq "2819c223"]`, `emails[type eq "work"].value`, `name.givenName`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager`, `roles[primary eq "True"].value`,
		`urn:ietf:params:scim:schemas:extension:Custom:2.0:User:attr`, `addresses[type eq "work"].streetAddress`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(schema.User, s)
		if err != nil {
			if e, ok := scimerr.As(err); !ok || e.Status != 400 {
				t.Fatalf("%q: %v is not a 400", s, err)
			}
			return
		}
		_ = p.Template()
		p.Matches(map[string]any{"type": "work", "value": "x", "primary": true})
	})
}
