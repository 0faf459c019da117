// Package patch applies SCIM PATCH operations (RFC 7644 §3.5.2) to a resource
// document, with the shapes Entra ID and Okta really send: op names in any case,
// path-less values whose keys are paths, removal of listed members by value, a
// filtered add that creates the element it names, and the manager in its several
// forms. A request applies completely or not at all.
package patch

import (
	"encoding/json"
	"maps"
	"reflect"
	"strconv"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// MaxOperations bounds the operations in one request.
const MaxOperations = 1000

// Request is the PatchOp message body.
type Request struct {
	Schemas    []string    `json:"schemas"`
	Operations []Operation `json:"Operations"`
}

// Operation is one PATCH operation.
type Operation struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// Apply returns a copy of doc with the operations applied in order; doc itself is
// never modified, so an error leaves the stored resource as it was.
//
// The copy shares doc's attribute values: every operation replaces the value it
// changes with a new one and never writes into a value it read. Only what schema.Set
// writes into, the document and the objects in it (extensions), is copied; a deep
// copy of a group of 1,000 members was 1,000 maps per request.
func Apply(res *schema.Resource, doc map[string]any, ops []Operation) (map[string]any, error) {
	if len(ops) > MaxOperations {
		return nil, scimerr.BadRequest(scimerr.TooMany, "more than %d operations", MaxOperations)
	}
	out := copyForWrite(doc)
	for i, op := range ops {
		if err := apply(res, out, op); err != nil {
			if e, ok := scimerr.As(err); ok {
				return nil, &scimerr.Error{Status: e.Status, ScimType: e.ScimType, Detail: "operation " + strconv.Itoa(i+1) + ": " + e.Detail}
			}
			return nil, err
		}
	}
	return out, nil
}

func apply(res *schema.Resource, doc map[string]any, op Operation) error {
	kind := strings.ToLower(strings.TrimSpace(op.Op))
	switch kind {
	case "add", "replace", "remove":
	default:
		return scimerr.BadRequest(scimerr.InvalidSyntax, "unknown op %q (add, replace or remove)", op.Op)
	}
	if strings.TrimSpace(op.Path) == "" {
		if kind == "remove" {
			return scimerr.BadRequest(scimerr.NoTarget, "remove needs a path")
		}
		return applyPathless(res, doc, kind, op.Value)
	}
	p, err := filter.ParsePath(res, op.Path)
	if err != nil {
		return err
	}
	return applyPath(doc, kind, p, op.Value)
}

// applyPathless handles an add or replace whose value is an object of attributes.
// Its keys may themselves be paths ("name.givenName", an extension URN followed by
// an attribute): Entra ID sends those. Okta includes the read-only id, which is
// skipped like every read-only attribute.
func applyPathless(res *schema.Resource, doc map[string]any, kind string, value any) error {
	obj, ok := value.(map[string]any)
	if !ok {
		return scimerr.BadRequest(scimerr.InvalidValue, "an operation without a path needs an object value")
	}
	for key, v := range obj {
		if strings.EqualFold(key, "schemas") {
			continue
		}
		if ext, isObj := v.(map[string]any); isObj && res.Extension(key) != nil {
			for k, sv := range ext {
				if err := applyPathlessKey(res, doc, kind, res.Extension(key).ID+":"+k, sv); err != nil {
					return err
				}
			}
			continue
		}
		if err := applyPathlessKey(res, doc, kind, key, v); err != nil {
			return err
		}
	}
	return nil
}

func applyPathlessKey(res *schema.Resource, doc map[string]any, kind, key string, v any) error {
	attr, err := res.ResolveString(key)
	if err != nil {
		return nil // unknown attributes are ignored, as in POST and PUT
	}
	if attr.Attr != nil && !schema.Writable(attr.Attr) {
		return nil
	}
	return applyPath(doc, kind, filter.PatchPath{Attr: attr}, v)
}

func applyPath(doc map[string]any, kind string, p filter.PatchPath, value any) error {
	a := p.Attr
	if a.Attr == nil {
		return applyUnknownExtension(doc, kind, a, value)
	}
	if !schema.Writable(a.Attr) || a.Sub != nil && a.Sub.Mutability == schema.ReadOnly {
		return scimerr.BadRequest(scimerr.Mutability, "attribute %q is read-only", a.String())
	}
	top := schema.Path{URN: a.URN, Attr: a.Attr, Name: a.Name}
	switch {
	case p.Filter != nil:
		return applyFiltered(doc, kind, top, p, value)
	case a.Sub != nil:
		return applySub(doc, kind, top, a.Sub, value)
	case kind == "remove":
		return remove(doc, top, value)
	}
	v, present, err := schema.Coerce(a.Attr, value)
	if err != nil {
		return err
	}
	if !present {
		if kind == "replace" {
			schema.Set(doc, top, nil)
		}
		return nil
	}
	current := schema.Get(doc, top)
	switch {
	case a.Attr.MultiValued && kind == "add":
		schema.Set(doc, top, appendUnique(asSlice(current), v.([]any)))
	case a.Attr.Type == schema.Complex && !a.Attr.MultiValued:
		// Sub-attributes not given are left as they are (RFC 7644 §3.5.2.1, §3.5.2.3).
		merged, _ := deepCopy(current).(map[string]any)
		if merged == nil {
			merged = map[string]any{}
		}
		for k, sv := range v.(map[string]any) {
			merged[k] = sv
		}
		schema.Set(doc, top, merged)
	default:
		// add on a single-valued attribute sets it (Entra sends add for active).
		schema.Set(doc, top, v)
	}
	return nil
}

// remove without a filter: the whole attribute, or, when a value lists elements of
// a multi-valued attribute, exactly those. Entra ID removes a member that way, and
// a server that cleared the list instead has wiped whole groups.
func remove(doc map[string]any, top schema.Path, value any) error {
	if value == nil || !top.Attr.MultiValued {
		schema.Set(doc, top, nil)
		return nil
	}
	v, present, err := schema.Coerce(top.Attr, value)
	if err != nil || !present {
		return err
	}
	removed := newElementSet(v.([]any))
	var kept []any
	for _, el := range asSlice(schema.Get(doc, top)) {
		if removed.indexOf(el) < 0 {
			kept = append(kept, el)
		}
	}
	schema.Set(doc, top, sliceOrNil(kept))
	return nil
}

// applySub handles "attr.sub": on a single-valued complex attribute it sets or
// removes the sub-attribute; on a multi-valued one it applies to every element.
func applySub(doc map[string]any, kind string, top schema.Path, sub *schema.Attribute, value any) error {
	var v any
	if kind != "remove" {
		var present bool
		var err error
		if v, present, err = schema.Coerce(sub, value); err != nil {
			return err
		}
		if !present {
			kind = "remove"
		}
	}
	if !top.Attr.MultiValued {
		m, _ := deepCopy(schema.Get(doc, top)).(map[string]any)
		if m == nil {
			if kind == "remove" {
				return nil
			}
			m = map[string]any{}
		}
		setOrDelete(m, sub.Name, v, kind)
		schema.Set(doc, top, mapOrNil(m))
		return nil
	}
	elements := asSlice(deepCopy(schema.Get(doc, top)))
	if len(elements) == 0 && kind != "remove" {
		elements = []any{map[string]any{}}
	}
	for _, el := range elements {
		if m, ok := el.(map[string]any); ok {
			setOrDelete(m, sub.Name, v, kind)
		}
	}
	schema.Set(doc, top, sliceOrNil(dropEmpty(elements)))
	return nil
}

// applyFiltered handles "attr[filter]" and "attr[filter].sub". An add or replace that
// matches nothing creates the element the filter describes (Entra ID relies on it to
// set a work email or phone the user did not have); a remove that matches nothing
// succeeds, so that a retried removal is not an error.
func applyFiltered(doc map[string]any, kind string, top schema.Path, p filter.PatchPath, value any) error {
	var v any
	if kind != "remove" {
		target := top.Attr
		if p.ElementSub != nil {
			target = p.ElementSub
		}
		var present bool
		var err error
		if v, present, err = schema.Coerce(singleValued(target), value); err != nil {
			return err
		}
		if !present {
			kind = "remove"
		}
	}
	elements := asSlice(deepCopy(schema.Get(doc, top)))
	matched := false
	var kept []any
	for _, el := range elements {
		m, ok := el.(map[string]any)
		if !ok || !p.Matches(m) {
			kept = append(kept, el)
			continue
		}
		matched = true
		switch {
		case kind == "remove" && p.ElementSub == nil:
			continue
		case p.ElementSub != nil:
			setOrDelete(m, p.ElementSub.Name, v, kind)
		default:
			for k, sv := range v.(map[string]any) {
				m[k] = sv
			}
		}
		kept = append(kept, m)
	}
	if !matched && kind != "remove" {
		el := p.Template()
		if p.ElementSub != nil {
			el[p.ElementSub.Name] = v
		} else {
			for k, sv := range v.(map[string]any) {
				el[k] = sv
			}
		}
		kept = append(kept, el)
	}
	schema.Set(doc, top, sliceOrNil(dropEmpty(kept)))
	return nil
}

// applyUnknownExtension keeps attributes of extensions the server has no schema for,
// as sent.
func applyUnknownExtension(doc map[string]any, kind string, a schema.Path, value any) error {
	if kind == "remove" || value == nil {
		schema.Set(doc, a, nil)
		return nil
	}
	schema.Set(doc, a, value)
	return nil
}

func singleValued(a *schema.Attribute) *schema.Attribute {
	if !a.MultiValued {
		return a
	}
	c := *a
	c.MultiValued = false
	return &c
}

func setOrDelete(m map[string]any, key string, v any, kind string) {
	if kind == "remove" {
		delete(m, key)
	} else {
		m[key] = v
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func sliceOrNil(s []any) any {
	if len(s) == 0 {
		return nil
	}
	return s
}

func mapOrNil(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func dropEmpty(s []any) []any {
	out := s[:0]
	for _, el := range s {
		if m, ok := el.(map[string]any); ok && len(m) == 0 {
			continue
		}
		out = append(out, el)
	}
	return out
}

// appendUnique adds the values not already present. Elements with a value
// sub-attribute are the same element when their values are equal (a member added
// twice is one member, its display refreshed).
func appendUnique(current, add []any) []any {
	out := append([]any(nil), current...)
	present := newElementSet(out)
	for _, v := range add {
		if i := present.indexOf(v); i >= 0 {
			if m, ok := out[i].(map[string]any); ok {
				merged := deepCopy(m).(map[string]any)
				for k, sv := range v.(map[string]any) {
					merged[k] = sv
				}
				out[i] = merged
			}
			continue
		}
		present.add(v, len(out))
		out = append(out, v)
	}
	return out
}

// elementSet finds elements of a multi-valued attribute: by their value
// sub-attribute when they have one, in one map lookup (a group's members are
// thousands, and a request adds or removes as many), else by deep equality.
type elementSet struct {
	byValue map[string]int
	others  []indexed // the elements without a value
}

type indexed struct {
	el any
	at int
}

func newElementSet(list []any) *elementSet {
	s := &elementSet{byValue: make(map[string]int, len(list))}
	for i, el := range list {
		s.add(el, i)
	}
	return s
}

// add notes el at index i; the first of equal elements is the one found.
func (s *elementSet) add(el any, i int) {
	if key, ok := valueKey(el); ok {
		if _, seen := s.byValue[key]; !seen {
			s.byValue[key] = i
		}
		return
	}
	s.others = append(s.others, indexed{el, i})
}

// indexOf is the index of the element equal to el, or -1.
func (s *elementSet) indexOf(el any) int {
	if key, ok := valueKey(el); ok {
		if i, found := s.byValue[key]; found {
			return i
		}
		return -1
	}
	for _, other := range s.others {
		if reflect.DeepEqual(other.el, el) {
			return other.at
		}
	}
	return -1
}

func valueKey(el any) (string, bool) {
	m, ok := el.(map[string]any)
	if !ok {
		return "", false
	}
	switch v := m["value"].(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// copyForWrite copies what schema.Set writes into: the document and the objects in
// it (an extension's attributes are set in its object).
func copyForWrite(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if obj, ok := v.(map[string]any); ok {
			v = maps.Clone(obj)
		}
		out[k] = v
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, sv := range t {
			m[k] = deepCopy(sv)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, sv := range t {
			s[i] = deepCopy(sv)
		}
		return s
	}
	return v
}
