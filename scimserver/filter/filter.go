// Package filter parses SCIM filters (RFC 7644 §3.4.2.2) with
// github.com/scim2/filter-parser/v2, checks every attribute against the resource's
// schema, and evaluates the result against rendered resource documents. Anything it
// cannot parse or resolve is an invalidFilter error: an identity provider that got an
// empty list instead would create a duplicate.
package filter

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"

	fp "github.com/scim2/filter-parser/v2"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

var errUnterminated = scimerr.BadRequest(scimerr.InvalidFilter, "unterminated string in filter")

// MaxLength bounds a filter; longer ones are refused before parsing.
const MaxLength = 4096

// Filter is a parsed filter bound to a resource type.
type Filter struct {
	root node
}

// Parse parses and resolves a filter for the resource type.
func Parse(res *schema.Resource, s string) (*Filter, error) {
	n, err := parseExpression(res, nil, s)
	if err != nil {
		return nil, err
	}
	return &Filter{root: n}, nil
}

func parseExpression(res *schema.Resource, parent *schema.Path, s string) (node, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, scimerr.BadRequest(scimerr.InvalidFilter, "empty filter")
	}
	if len(s) > MaxLength {
		return nil, scimerr.BadRequest(scimerr.InvalidFilter, "filter longer than %d bytes", MaxLength)
	}
	rewritten, err := lenient(s, true, urnFixer(res))
	if err != nil {
		return nil, err
	}
	expr, values, err := parseTemplate(res, rewritten)
	if err != nil {
		return nil, scimerr.BadRequest(scimerr.InvalidFilter, "cannot parse filter %q: %v", s, err)
	}
	return compile(res, parent, expr, values)
}

// parseSafely turns a parser panic on hostile input into an error.
func parseSafely[T any](parse func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = scimerr.BadRequest(scimerr.InvalidFilter, "malformed expression")
		}
	}()
	return parse()
}

func urnFixer(res *schema.Resource) func(string) string {
	return func(word string) string {
		urn, rest := res.SplitURN(word)
		if urn == "" || res.CanonicalURN(urn) != urn || rest == "" {
			return word
		}
		return urn + ":" + rest
	}
}

// Match tells whether a rendered resource document matches the filter.
func (f *Filter) Match(doc map[string]any) bool { return f.root.match(doc) }

// Equality is a comparison `attribute eq "value"` that every match must satisfy,
// which the store answers from an index instead of scanning.
type Equality struct {
	Attribute string // canonical path, e.g. "userName", "members.value"
	Value     string
}

// Equalities lists the string equalities that every matching resource satisfies.
func (f *Filter) Equalities() []Equality { return f.root.equalities() }

// Attributes lists the top-level keys of a document the filter reads: a document
// rendered with only these matches as the whole one does.
func (f *Filter) Attributes() []string { return f.root.attributes(nil) }

type node interface {
	match(scope map[string]any) bool
	equalities() []Equality
	// attributes appends the top-level document keys the node reads.
	attributes(to []string) []string
}

// topLevel appends the key a path starts at, once.
func topLevel(to []string, p schema.Path) []string {
	key := p.Name
	if p.URN != "" {
		key = p.URN
	}
	if slices.Contains(to, key) {
		return to
	}
	return append(to, key)
}

// compile turns a parsed filter into nodes; values are the literals a template's
// ordinals stand for (nil when expr holds the literals themselves).
func compile(res *schema.Resource, parent *schema.Path, expr fp.Expression, values []string) (node, error) {
	switch e := expr.(type) {
	case *fp.LogicalExpression:
		l, err := compile(res, parent, e.Left, values)
		if err != nil {
			return nil, err
		}
		r, err := compile(res, parent, e.Right, values)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(string(e.Operator), "or") {
			return orNode{l, r}, nil
		}
		return andNode{l, r}, nil
	case *fp.NotExpression:
		n, err := compile(res, parent, e.Expression, values)
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	case *fp.ValuePath:
		if parent != nil {
			return nil, scimerr.BadRequest(scimerr.InvalidFilter, "nested value filters are not allowed")
		}
		p, err := resolve(res, nil, e.AttributePath)
		if err != nil {
			return nil, err
		}
		if p.Attr == nil || p.Attr.Type != schema.Complex || !p.Attr.MultiValued || p.Sub != nil {
			return nil, scimerr.BadRequest(scimerr.InvalidFilter, "value filter on %q, which is not a multi-valued complex attribute", p.String())
		}
		inner, err := compile(res, &p, e.ValueFilter, values)
		if err != nil {
			return nil, err
		}
		return valuePathNode{path: p, inner: inner}, nil
	case *fp.AttributeExpression:
		return compileComparison(res, parent, e, values)
	}
	return nil, scimerr.BadRequest(scimerr.InvalidFilter, "unsupported expression")
}

func compileComparison(res *schema.Resource, parent *schema.Path, e *fp.AttributeExpression, values []string) (node, error) {
	p, err := resolve(res, parent, e.AttributePath)
	if err != nil {
		return nil, err
	}
	leaf := p.Sub
	if leaf == nil {
		leaf = p.Attr
	}
	if leaf != nil && leaf.Type == schema.Complex {
		// `emails co "@example.com"` compares the value sub-attribute.
		if leaf = leaf.Sub("value"); leaf == nil {
			return nil, scimerr.BadRequest(scimerr.InvalidFilter, "cannot compare complex attribute %q", p.String())
		}
	}
	op := strings.ToLower(string(e.Operator))
	value := bind(values, e.CompareValue)
	if s, ok := value.(string); ok {
		value = unescape(s)
	}
	if leaf != nil && leaf.Type == schema.Boolean && op != "pr" && op != "eq" && op != "ne" {
		return nil, scimerr.BadRequest(scimerr.InvalidFilter, "operator %q does not apply to boolean %q", op, p.String())
	}
	if leaf != nil && leaf.Type == schema.DateTime && op != "pr" && value != nil {
		s, ok := value.(string)
		if !ok {
			return nil, scimerr.BadRequest(scimerr.InvalidFilter, "%q needs a date-time value", p.String())
		}
		t, err := schema.ParseDateTime(s)
		if err != nil {
			return nil, scimerr.BadRequest(scimerr.InvalidFilter, "%q is not an RFC 3339 date-time", s)
		}
		value = t
	}
	return cmpNode{path: p, inElement: parent != nil, leaf: leaf, op: op, value: value}, nil
}

func resolve(res *schema.Resource, parent *schema.Path, ap fp.AttributePath) (schema.Path, error) {
	var p schema.Path
	var err error
	if parent != nil {
		sub := parent.Attr.Sub(ap.AttributeName)
		if sub == nil || ap.URIPrefix != nil || ap.SubAttribute != nil {
			return p, scimerr.BadRequest(scimerr.InvalidFilter, "%q has no sub-attribute %q", parent.Name, ap.String())
		}
		return schema.Path{URN: parent.URN, Attr: parent.Attr, Name: parent.Name, Sub: sub}, nil
	}
	p, err = res.Resolve(ap.URI(), ap.AttributeName, ap.SubAttributeName())
	if err != nil {
		e, _ := scimerr.As(err)
		return p, scimerr.BadRequest(scimerr.InvalidFilter, "%s", e.Detail)
	}
	return p, nil
}

// unescape decodes the JSON escapes the parser leaves in string values.
func unescape(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var s string
	if err := json.Unmarshal([]byte(`"`+raw+`"`), &s); err != nil {
		return raw
	}
	return s
}

type andNode struct{ l, r node }

func (n andNode) match(s map[string]any) bool     { return n.l.match(s) && n.r.match(s) }
func (n andNode) attributes(to []string) []string { return n.r.attributes(n.l.attributes(to)) }
func (n andNode) equalities() []Equality {
	return append(n.l.equalities(), n.r.equalities()...)
}

type orNode struct{ l, r node }

func (n orNode) match(s map[string]any) bool { return n.l.match(s) || n.r.match(s) }
func (n orNode) equalities() []Equality      { return nil }
func (n orNode) attributes(to []string) []string {
	return n.r.attributes(n.l.attributes(to))
}

type notNode struct{ n node }

func (n notNode) match(s map[string]any) bool { return !n.n.match(s) }
func (n notNode) equalities() []Equality      { return nil }
func (n notNode) attributes(to []string) []string {
	return n.n.attributes(to)
}

type valuePathNode struct {
	path  schema.Path
	inner node
}

func (n valuePathNode) match(doc map[string]any) bool {
	for _, el := range elements(schema.Get(doc, n.path)) {
		if n.inner.match(el) {
			return true
		}
	}
	return false
}

// attributes is the value path's own attribute: the inner filter reads its elements.
func (n valuePathNode) attributes(to []string) []string { return topLevel(to, n.path) }

func (n valuePathNode) equalities() []Equality {
	eqs := n.inner.equalities()
	for i := range eqs {
		eqs[i].Attribute = n.path.Name + "." + eqs[i].Attribute
		if n.path.URN != "" {
			eqs[i].Attribute = n.path.URN + ":" + eqs[i].Attribute
		}
	}
	return eqs
}

func elements(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, el := range arr {
		if m, ok := el.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

type cmpNode struct {
	path      schema.Path
	inElement bool // the scope is one element of a multi-valued attribute
	leaf      *schema.Attribute
	op        string
	value     any
}

func (n cmpNode) equalities() []Equality {
	s, ok := n.value.(string)
	if n.op != "eq" || !ok {
		return nil
	}
	if n.inElement {
		return []Equality{{Attribute: n.path.Sub.Name, Value: s}}
	}
	return []Equality{{Attribute: n.path.String(), Value: s}}
}

func (n cmpNode) attributes(to []string) []string { return topLevel(to, n.path) }

func (n cmpNode) match(scope map[string]any) bool {
	values := n.actualValues(scope)
	if n.op == "pr" {
		for _, v := range values {
			if present(v) {
				return true
			}
		}
		return false
	}
	if n.value == nil {
		// `x eq null` means absent; `x ne null` means present.
		has := false
		for _, v := range values {
			has = has || present(v)
		}
		return (n.op == "eq") != has
	}
	if n.op == "ne" {
		for _, v := range values {
			if compare(n.leaf, v, "eq", n.value) {
				return false
			}
		}
		return true
	}
	for _, v := range values {
		if compare(n.leaf, v, n.op, n.value) {
			return true
		}
	}
	return false
}

func (n cmpNode) actualValues(scope map[string]any) []any {
	if n.inElement {
		return []any{scope[n.path.Sub.Name]}
	}
	v := schema.Get(scope, n.path)
	sub := ""
	switch {
	case n.path.Sub != nil:
		sub = n.path.Sub.Name
	case n.path.Attr != nil && n.path.Attr.Type == schema.Complex:
		sub = "value"
	}
	if sub == "" {
		if arr, ok := v.([]any); ok {
			return arr
		}
		return []any{v}
	}
	switch t := v.(type) {
	case map[string]any:
		return []any{t[sub]}
	case []any:
		out := make([]any, 0, len(t))
		for _, el := range t {
			if m, ok := el.(map[string]any); ok {
				out = append(out, m[sub])
			}
		}
		return out
	}
	return nil
}

func present(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}

func compare(leaf *schema.Attribute, actual any, op string, expected any) bool {
	if actual == nil {
		return false
	}
	typ := schema.String
	caseExact := false
	if leaf != nil {
		typ, caseExact = leaf.Type, leaf.CaseExact
	}
	switch typ {
	case schema.Boolean:
		a, ok1 := toBool(actual)
		e, ok2 := toBool(expected)
		return ok1 && ok2 && op == "eq" && a == e
	case schema.Integer, schema.Decimal:
		a, ok1 := toFloat(actual)
		e, ok2 := toFloat(expected)
		return ok1 && ok2 && ordered(op, cmpFloat(a, e))
	case schema.DateTime:
		s, ok := actual.(string)
		e, ok2 := expected.(time.Time)
		if !ok || !ok2 {
			return false
		}
		a, err := schema.ParseDateTime(s)
		return err == nil && ordered(op, a.Compare(e))
	}
	a, ok1 := actual.(string)
	e, ok2 := toString(expected)
	if !ok1 || !ok2 {
		return false
	}
	if !caseExact {
		a, e = strings.ToLower(a), strings.ToLower(e)
	}
	switch op {
	case "co":
		return strings.Contains(a, e)
	case "sw":
		return strings.HasPrefix(a, e)
	case "ew":
		return strings.HasSuffix(a, e)
	}
	return ordered(op, strings.Compare(a, e))
}

func ordered(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func toBool(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		if strings.EqualFold(t, "true") {
			return true, true
		}
		if strings.EqualFold(t, "false") {
			return false, true
		}
	}
	return false, false
}

func toFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		return f, err == nil && !math.IsNaN(f)
	case float64:
		return t, true
	case int:
		return float64(t), true
	}
	return 0, false
}

func toString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	}
	return "", false
}
