package schema

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// Normalize validates a resource body from a client (POST, PUT, or a path-less
// PATCH value) and returns it in canonical form: canonical attribute names, extension
// attributes under their schema URN, booleans as booleans. What a client may not set
// (id, meta, groups), what is never stored (password), nulls (Entra's "not set") and
// unknown core attributes are left out; attributes of extensions the server does not
// know are kept verbatim under their URN. A wrong type is an invalidValue error.
func (r *Resource) Normalize(in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for key, v := range in {
		if strings.EqualFold(key, "schemas") {
			continue
		}
		if err := r.normalizeKey(out, key, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *Resource) normalizeKey(out map[string]any, key string, v any) error {
	if obj, ok := v.(map[string]any); ok && isURN(key) && !r.namesKnownAttribute(key) {
		switch {
		case r.CanonicalURN(key) == r.Core.ID:
			for k, sv := range obj {
				if err := r.normalizeKey(out, k, sv); err != nil {
					return err
				}
			}
			return nil
		case r.Extension(key) != nil:
			for k, sv := range obj {
				if err := r.normalizeKey(out, r.Extension(key).ID+":"+k, sv); err != nil {
					return err
				}
			}
			return nil
		default:
			// An extension the server has no schema for (Entra's custom ones): kept as sent.
			return setUnknownExtension(out, key, obj)
		}
	}
	p, err := r.ResolveString(key)
	if err != nil {
		return nil // unknown attributes are ignored (RFC 7644 §3.3 lets a server ignore them; Microsoft's tests expect it)
	}
	if p.Attr == nil {
		if v == nil {
			return nil
		}
		ext, _ := out[p.URN].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			out[p.URN] = ext
		}
		ext[p.Name] = v
		return nil
	}
	if !Writable(p.Attr) {
		return nil
	}
	value, present, err := Coerce(p.Attr, v)
	if err != nil || !present {
		return err
	}
	if p.Sub != nil {
		if !Writable(p.Sub) {
			return nil
		}
		subValue, subPresent, err := Coerce(p.Sub, v)
		if err != nil || !subPresent {
			return err
		}
		parent, _ := Get(out, Path{URN: p.URN, Attr: p.Attr, Name: p.Name}).(map[string]any)
		if parent == nil {
			parent = map[string]any{}
		}
		parent[p.Sub.Name] = subValue
		value = parent
	}
	Set(out, Path{URN: p.URN, Attr: p.Attr, Name: p.Name}, value)
	return nil
}

// namesKnownAttribute tells "urn:…:enterprise:2.0:User:manager" (an attribute path
// under a known schema) from a schema URN.
func (r *Resource) namesKnownAttribute(key string) bool {
	urn, rest := r.SplitURN(key)
	if rest == "" {
		return false
	}
	for _, sc := range r.Schemas() {
		if sc.ID == urn {
			return true
		}
	}
	return false
}

func setUnknownExtension(out map[string]any, urn string, obj map[string]any) error {
	ext, _ := out[urn].(map[string]any)
	if ext == nil {
		ext = map[string]any{}
	}
	for k, v := range obj {
		if v != nil {
			ext[k] = v
		}
	}
	if len(ext) > 0 {
		out[urn] = ext
	}
	return nil
}

// Writable tells whether clients may set the attribute.
func Writable(a *Attribute) bool {
	return a.Mutability != ReadOnly && a.Returned != ReturnedNever
}

// Get reads the value at a top-level path (no sub-attribute) from a document.
func Get(doc map[string]any, p Path) any {
	if p.URN != "" {
		ext, _ := doc[p.URN].(map[string]any)
		return ext[p.Name]
	}
	return doc[p.Name]
}

// Set writes (or, for nil, deletes) the value at a top-level path, creating or
// dropping the extension object as needed.
func Set(doc map[string]any, p Path, v any) {
	if p.URN == "" {
		if v == nil {
			delete(doc, p.Name)
		} else {
			doc[p.Name] = v
		}
		return
	}
	ext, _ := doc[p.URN].(map[string]any)
	if ext == nil {
		if v == nil {
			return
		}
		ext = map[string]any{}
		doc[p.URN] = ext
	}
	if v == nil {
		delete(ext, p.Name)
		if len(ext) == 0 {
			delete(doc, p.URN)
		}
		return
	}
	ext[p.Name] = v
}

// Coerce checks a client value against an attribute and returns it in canonical
// form; present is false for null and for empty values, which mean "not set".
func Coerce(a *Attribute, v any) (value any, present bool, err error) {
	if v == nil {
		return nil, false, nil
	}
	if !a.MultiValued {
		// Entra ID sends single-valued complex attributes (manager) wrapped in an array.
		if arr, ok := v.([]any); ok {
			switch len(arr) {
			case 0:
				return nil, false, nil
			case 1:
				v = arr[0]
			default:
				return nil, false, scimerr.BadRequest(scimerr.InvalidValue, "attribute %q is single-valued", a.Name)
			}
		}
		return coerceSingle(a, v)
	}
	arr, ok := v.([]any)
	if !ok {
		arr = []any{v}
	}
	values := make([]any, 0, len(arr))
	primaries := 0
	for _, el := range arr {
		c, present, err := coerceSingle(a, el)
		if err != nil {
			return nil, false, err
		}
		if !present {
			continue
		}
		if m, ok := c.(map[string]any); ok && m["primary"] == true {
			primaries++
		}
		values = append(values, c)
	}
	if primaries > 1 {
		return nil, false, scimerr.BadRequest(scimerr.InvalidValue, "attribute %q has more than one primary value", a.Name)
	}
	if len(values) == 0 {
		return nil, false, nil
	}
	return values, true, nil
}

func coerceSingle(a *Attribute, v any) (any, bool, error) {
	if v == nil {
		return nil, false, nil
	}
	switch a.Type {
	case Complex:
		return coerceComplex(a, v)
	case Boolean:
		switch b := v.(type) {
		case bool:
			return b, true, nil
		case string:
			// Entra ID sends "True" and "False" (gh:AzureAD/SCIMReferenceCode#21).
			if strings.EqualFold(b, "true") {
				return true, true, nil
			}
			if strings.EqualFold(b, "false") {
				return false, true, nil
			}
		}
	case Integer:
		if n, ok := v.(json.Number); ok {
			if _, err := n.Int64(); err == nil {
				return v, true, nil
			}
		}
	case Decimal:
		if n, ok := v.(json.Number); ok {
			if _, err := n.Float64(); err == nil {
				return v, true, nil
			}
		}
	case DateTime:
		if s, ok := v.(string); ok {
			if _, err := ParseDateTime(s); err == nil {
				return v, true, nil
			}
		}
	default: // string, reference, binary
		switch s := v.(type) {
		case string:
			return v, true, nil // v as it came: no new interface value to allocate
		case json.Number:
			// Identifiers such as employeeNumber come as JSON numbers from some clients.
			return s.String(), true, nil
		}
	}
	return nil, false, scimerr.BadRequest(scimerr.InvalidValue, "attribute %q must be of type %s, got %s", a.Name, a.Type, describe(v))
}

func coerceComplex(a *Attribute, v any) (any, bool, error) {
	var in map[string]any
	switch c := v.(type) {
	case map[string]any:
		in = c
	case string:
		// A bare string stands for the value sub-attribute: Entra sends the manager
		// as its id, and Microsoft's tests add members as plain ids.
		if a.Sub("value") == nil {
			return nil, false, scimerr.BadRequest(scimerr.InvalidValue, "attribute %q must be an object", a.Name)
		}
		in = map[string]any{"value": c}
	default:
		return nil, false, scimerr.BadRequest(scimerr.InvalidValue, "attribute %q must be an object, got %s", a.Name, describe(v))
	}
	if out, ok := alreadyCanonical(a, in); ok {
		return out, len(out) > 0, nil
	}
	// Sub-attribute names are matched case-insensitively before anything reads them.
	canonical := make(map[string]any, len(in))
	for k, sv := range in {
		sub := a.Sub(k)
		if sub == nil && strings.EqualFold(k, "displayName") && a.Sub("displayName") == nil {
			// Microsoft's tests name a member's display "displayName".
			sub = a.Sub("display")
		}
		if sub != nil {
			canonical[sub.Name] = sv
		} else if _, known := canonical[k]; !known {
			canonical[k] = sv
		}
	}
	canonical = decodeEncodedValue(canonical)
	out := map[string]any{}
	for k, sv := range canonical {
		sub := a.Sub(k)
		if sub == nil || sub.Mutability == ReadOnly || sub.Name != k {
			continue
		}
		c, present, err := coerceSingle(sub, sv)
		if err != nil {
			return nil, false, err
		}
		if present {
			out[sub.Name] = c
		}
	}
	if len(out) == 0 {
		return nil, false, nil
	}
	return out, true, nil
}

// alreadyCanonical returns in itself when coercing it would make an equal copy, as
// for the members an identity provider adds by the thousand ({"value": id}): every
// key a writable sub-attribute's own name, every value already in canonical form, no
// encoded value to unwrap. The caller owns in (it was decoded for this request).
func alreadyCanonical(a *Attribute, in map[string]any) (map[string]any, bool) {
	if _, encoded := encodedValue(in); encoded {
		return nil, false
	}
	for k, v := range in {
		sub := a.Sub(k)
		if sub == nil || sub.Name != k || sub.Mutability == ReadOnly {
			return nil, false
		}
		c, present, err := coerceSingle(sub, v)
		if err != nil || !present || !sameScalar(c, v) {
			return nil, false
		}
	}
	return in, true
}

// sameScalar reports whether coercing v gave v back.
func sameScalar(coerced, v any) bool {
	switch c := coerced.(type) {
	case string, bool, json.Number:
		return c == v
	}
	return false
}

// decodeEncodedValue unwraps Entra ID's app role assignments, whose value is the JSON
// of the whole role ({"value":"{\"id\":…,\"value\":\"Admin\",…}"}).
func decodeEncodedValue(in map[string]any) map[string]any {
	s, encoded := encodedValue(in)
	if !encoded {
		return in
	}
	var inner map[string]any
	if err := json.Unmarshal([]byte(s), &inner); err != nil {
		return in
	}
	if _, ok := inner["value"]; !ok {
		return in
	}
	out := maps.Clone(in)
	for k, v := range inner {
		if k == "value" || out[k] == nil {
			out[k] = v
		}
	}
	// Entra's role JSON names the display "displayName".
	if out["display"] == nil && inner["displayName"] != nil {
		out["display"] = inner["displayName"]
	}
	if v, ok := out["value"].(string); ok {
		out["value"] = v
	} else {
		out["value"] = fmt.Sprint(out["value"])
	}
	return out
}

// encodedValue returns in's value when it may be the JSON of an app role assignment.
func encodedValue(in map[string]any) (string, bool) {
	s, ok := in["value"].(string)
	return s, ok && strings.HasPrefix(strings.TrimSpace(s), "{")
}

// ParseDateTime parses an xsd:dateTime as SCIM uses it (RFC 3339, fractional
// seconds of any length).
func ParseDateTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// CheckRequired reports the first required attribute a document lacks.
func (r *Resource) CheckRequired(doc map[string]any) error {
	for _, a := range r.Core.Attributes {
		if !a.Required {
			continue
		}
		if s, ok := doc[a.Name].(string); !ok || strings.TrimSpace(s) == "" {
			return scimerr.BadRequest(scimerr.InvalidValue, "attribute %q is required", a.Name)
		}
	}
	return nil
}
