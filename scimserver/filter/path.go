package filter

import (
	"strings"

	fp "github.com/scim2/filter-parser/v2"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// PatchPath is a resolved PATCH path (RFC 7644 §3.5.2): an attribute, optionally a
// value filter selecting elements of a multi-valued attribute, and optionally a
// sub-attribute of those elements.
type PatchPath struct {
	// Attr is the attribute (Sub set for "name.givenName" without a filter).
	Attr schema.Path
	// Filter selects elements; nil when the path has none.
	Filter node
	// ElementSub is the sub-attribute after a filter ("emails[…].value").
	ElementSub *schema.Attribute
}

// paths keeps resolved PATCH paths: identity providers send the same few over and over
// (Entra ID's `emails[type eq "work"].value`), and parsing one costs hundreds of
// microseconds. Bounded like the filter templates.
var paths parseCache[PatchPath]

// ParsePath parses and resolves a PATCH path for the resource type.
func ParsePath(res *schema.Resource, s string) (PatchPath, error) {
	key := parseKey{res: res, text: s}
	if p, hit := paths.Get(key); hit {
		return p, nil
	}
	p, err := parsePath(res, s)
	if err != nil {
		return p, err
	}
	paths.Put(key, p)
	return p, nil
}

func parsePath(res *schema.Resource, s string) (PatchPath, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxLength {
		return PatchPath{}, scimerr.BadRequest(scimerr.InvalidPath, "invalid path %q", s)
	}
	rewritten, err := lenient(s, false, urnFixer(res))
	if err != nil {
		return PatchPath{}, scimerr.BadRequest(scimerr.InvalidPath, "invalid path %q: %v", s, err)
	}
	p, err := parseSafely(func() (fp.Path, error) { return fp.ParsePathNumber([]byte(rewritten)) })
	if err != nil {
		return PatchPath{}, scimerr.BadRequest(scimerr.InvalidPath, "cannot parse path %q: %v", s, err)
	}
	attr, err := res.Resolve(p.AttributePath.URI(), p.AttributePath.AttributeName, p.AttributePath.SubAttributeName())
	if err != nil {
		return PatchPath{}, err
	}
	out := PatchPath{Attr: attr}
	if p.ValueExpression == nil {
		if p.SubAttribute != nil {
			return PatchPath{}, scimerr.BadRequest(scimerr.InvalidPath, "invalid path %q", s)
		}
		return out, nil
	}
	if attr.Attr == nil || attr.Attr.Type != schema.Complex || !attr.Attr.MultiValued || attr.Sub != nil {
		return PatchPath{}, scimerr.BadRequest(scimerr.InvalidPath, "value filter on %q, which is not a multi-valued complex attribute", attr.String())
	}
	out.Filter, err = compile(res, &attr, p.ValueExpression, nil)
	if err != nil {
		e, _ := scimerr.As(err)
		return PatchPath{}, scimerr.BadRequest(scimerr.InvalidPath, "%s", e.Detail)
	}
	if p.SubAttribute != nil {
		if out.ElementSub = attr.Attr.Sub(*p.SubAttribute); out.ElementSub == nil {
			return PatchPath{}, scimerr.BadRequest(scimerr.InvalidPath, "%q has no sub-attribute %q", attr.Name, *p.SubAttribute)
		}
	}
	return out, nil
}

// Matches tells whether an element of the multi-valued attribute passes the filter.
func (p PatchPath) Matches(element map[string]any) bool {
	return p.Filter == nil || p.Filter.match(element)
}

// Template is the element a filter describes through its equalities
// (`emails[type eq "work"]` → {"type": "work"}): Entra ID expects a filtered add or
// replace that matches nothing to create it.
func (p PatchPath) Template() map[string]any {
	out := map[string]any{}
	if p.Filter == nil {
		return out
	}
	for _, eq := range p.Filter.equalities() {
		if sub := p.Attr.Attr.Sub(eq.Attribute); sub != nil {
			if v, present, err := schema.Coerce(sub, eq.Value); err == nil && present {
				out[sub.Name] = v
			}
		}
	}
	return out
}
