package filter

import (
	"reflect"
	"strings"
	"testing"

	fp "github.com/scim2/filter-parser/v2"

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
		// The parsed template with the request's values bound means what parsing the
		// filter itself means.
		direct, err := parseDirect(schema.User, s)
		if err != nil {
			t.Fatalf("%q parsed through its template but not directly: %v", s, err)
		}
		if flt.Match(doc) != direct.Match(doc) || !reflect.DeepEqual(flt.Equalities(), direct.Equalities()) {
			t.Fatalf("%q: the template and the direct parse disagree", s)
		}
		if flt.Match(only(doc, flt.Attributes())) != flt.Match(doc) {
			t.Fatalf("%q: the document cut to %v matches otherwise", s, flt.Attributes())
		}
	})
}

// parseDirect parses a filter without templates, as before they existed.
func parseDirect(res *schema.Resource, s string) (*Filter, error) {
	rewritten, err := lenient(strings.TrimSpace(s), true, urnFixer(res))
	if err != nil {
		return nil, err
	}
	expr, err := parseSafely(func() (fp.Expression, error) { return fp.ParseFilterNumber([]byte(rewritten)) })
	if err != nil {
		return nil, err
	}
	n, err := compile(res, nil, expr, nil)
	if err != nil {
		return nil, err
	}
	return &Filter{root: n}, nil
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
