package schema

import (
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// Path is an attribute reference resolved against a resource type.
type Path struct {
	// URN is the extension the attribute lives under ("" for core and common
	// attributes). For an extension the resource type does not know, Attr is nil and
	// Name holds the attribute as the client spelled it: such extensions are kept
	// verbatim, without a schema.
	URN  string
	Attr *Attribute
	Name string
	Sub  *Attribute
}

// Keys is where the path lives in a resource document: the top-level key, then the
// attribute under an extension, then the sub-attribute.
func (p Path) Keys() []string {
	var keys []string
	if p.URN != "" {
		keys = append(keys, p.URN)
	}
	keys = append(keys, p.Name)
	if p.Sub != nil {
		keys = append(keys, p.Sub.Name)
	}
	return keys
}

// String renders the path in canonical spelling.
func (p Path) String() string {
	s := p.Name
	if p.URN != "" {
		s = p.URN + ":" + s
	}
	if p.Sub != nil {
		s += "." + p.Sub.Name
	}
	return s
}

// Resolve finds the attribute urn:name.sub (urn and sub optional). Names match
// case-insensitively (RFC 7643 §2.1). An extension attribute named without its URN
// resolves too when no core attribute has that name: Entra ID sends `department` and
// `manager` bare.
func (r *Resource) Resolve(urn, name, sub string) (Path, error) {
	var p Path
	switch {
	case urn == "" || strings.EqualFold(urn, r.Core.ID):
		if a := CommonAttr(name); a != nil {
			p.Attr = a
		} else if a := r.Core.Attr(name); a != nil {
			p.Attr = a
		} else if urn == "" {
			for _, ext := range r.Extensions {
				if a := ext.Attr(name); a != nil {
					p.URN, p.Attr = ext.ID, a
					break
				}
			}
		}
	default:
		if ext := r.Extension(urn); ext != nil {
			p.URN, p.Attr = ext.ID, ext.Attr(name)
		} else if isURN(urn) {
			return Path{URN: urn, Name: name}, nil
		}
	}
	if p.Attr == nil {
		return Path{}, scimerr.BadRequest(scimerr.InvalidPath, "unknown attribute %q", joinPath(urn, name, sub))
	}
	p.Name = p.Attr.Name
	if sub != "" {
		if p.Attr.Type != Complex {
			return Path{}, scimerr.BadRequest(scimerr.InvalidPath, "attribute %q has no sub-attributes", p.Attr.Name)
		}
		if p.Sub = p.Attr.Sub(sub); p.Sub == nil {
			return Path{}, scimerr.BadRequest(scimerr.InvalidPath, "unknown attribute %q", joinPath(urn, name, sub))
		}
	}
	return p, nil
}

// ResolveString resolves a path written as one string, such as "name.givenName",
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value" or the
// pre-2018 Entra spelling "urn:…:enterprise:2.0:User.manager".
func (r *Resource) ResolveString(s string) (Path, error) {
	urn, rest := r.SplitURN(s)
	name, sub, _ := strings.Cut(rest, ".")
	return r.Resolve(urn, name, sub)
}

// SplitURN separates a schema URN prefix from the attribute path after it. Known
// URNs are matched case-insensitively and may be followed by ':' or (legacy Entra)
// '.'; an unknown URN ends at its last ':'.
func (r *Resource) SplitURN(s string) (urn, rest string) {
	if !isURN(s) {
		return "", s
	}
	for _, sc := range r.Schemas() {
		if len(s) > len(sc.ID) && strings.EqualFold(s[:len(sc.ID)], sc.ID) && (s[len(sc.ID)] == ':' || s[len(sc.ID)] == '.') {
			return sc.ID, s[len(sc.ID)+1:]
		}
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// CanonicalURN returns the resource's spelling of a known schema URN, or urn unchanged.
func (r *Resource) CanonicalURN(urn string) string {
	for _, sc := range r.Schemas() {
		if strings.EqualFold(sc.ID, urn) {
			return sc.ID
		}
	}
	return urn
}

func isURN(s string) bool { return len(s) > 4 && strings.EqualFold(s[:4], "urn:") }

func joinPath(urn, name, sub string) string {
	s := name
	if urn != "" {
		s = urn + ":" + s
	}
	if sub != "" {
		s += "." + sub
	}
	return s
}
