package store

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// docOf renders a spec struct as the JSON object encoding/json gives it, read back with
// numbers as json.Number, without the text in between: a user is rendered on every
// read, and the round trip through JSON text cost a lookup 8 µs of its 46 and 55 of its
// 318 allocations.
// Kinds it does not render itself (numbers, maps, types with their own JSON) go
// through encoding/json one field at a time, so the result is the round trip's
// whatever the spec holds.
//
// The top-level fields named (by JSON name) in omit are left out: a caller that
// renders a spec without some of its fields need not copy it to clear them.
func docOf(v any, omit ...string) (map[string]any, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, nil
		}
		rv = rv.Elem()
	}
	var plan *structPlan
	if rv.Kind() == reflect.Struct {
		plan = planOf(rv.Type())
	}
	if plan == nil {
		doc, err := toMapByJSON(v)
		for _, name := range omit {
			delete(doc, name)
		}
		return doc, err
	}
	return plan.render(rv, omit, nil)
}

// roundTrip writes v as JSON and reads it back into into: what docOf stands for.
func roundTrip(v, into any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return decodeWithNumbers(b, into)
}

func toMapByJSON(v any) (map[string]any, error) {
	var m map[string]any
	if err := roundTrip(v, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// structPlan is how a struct type renders: its JSON fields in declaration order,
// and in the order of their names, which is how docjson writes them.
type structPlan struct{ fields, sorted []fieldPlan }

type fieldPlan struct {
	index     int
	name      string
	omitEmpty bool
	// byJSON: the field's value goes through encoding/json.
	byJSON bool
}

var plans sync.Map // reflect.Type → *structPlan, or noPlan

type noPlan struct{}

// planOf returns the plan of a struct type, or nil for a type docOf leaves to
// encoding/json as a whole: not a struct, a struct with its own JSON, embedded
// fields (promoted by rules not worth repeating), two fields of one name, or tag
// options other than omitempty.
func planOf(t reflect.Type) *structPlan { return planWith(t, map[reflect.Type]bool{}) }

// planWith is planOf while the plans of building are being made: a type that contains
// itself is left to encoding/json where it recurs.
func planWith(t reflect.Type, building map[reflect.Type]bool) *structPlan {
	if p, ok := plans.Load(t); ok {
		plan, _ := p.(*structPlan)
		return plan
	}
	if building[t] {
		return nil
	}
	building[t] = true
	plan := newPlan(t, building)
	delete(building, t)
	if plan == nil {
		plans.Store(t, noPlan{})
		return nil
	}
	plans.Store(t, plan)
	return plan
}

func newPlan(t reflect.Type, building map[reflect.Type]bool) *structPlan {
	if t.Kind() != reflect.Struct || ownJSON(t) {
		return nil
	}
	plan := &structPlan{}
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if seen[name] {
			return nil
		}
		seen[name] = true
		fp := fieldPlan{index: i, name: name, byJSON: !renderable(f.Type, building)}
		for opt := range strings.SplitSeq(opts, ",") {
			switch opt {
			case "":
			case "omitempty":
				fp.omitEmpty = true
			default: // "string", "omitzero": left to encoding/json, which knows them
				return nil
			}
		}
		plan.fields = append(plan.fields, fp)
	}
	plan.sorted = slices.SortedFunc(slices.Values(plan.fields), func(a, b fieldPlan) int { return strings.Compare(a.name, b.name) })
	return plan
}

// renderable: values of t render without encoding/json.
func renderable(t reflect.Type, building map[reflect.Type]bool) bool {
	if ownJSON(t) {
		return false
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool:
		return true
	case reflect.Pointer:
		return renderable(t.Elem(), building)
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Uint8 && renderable(t.Elem(), building)
	case reflect.Struct:
		return planWith(t, building) != nil
	default:
		return false
	}
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func ownJSON(t reflect.Type) bool {
	for _, t := range []reflect.Type{t, reflect.PointerTo(t)} {
		if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) {
			return true
		}
	}
	return false
}

// render renders the fields of v but those named in omit and, when keep is not nil,
// those keep does not name.
func (p *structPlan) render(v reflect.Value, omit, keep []string) (map[string]any, error) {
	wanted := func(f fieldPlan) bool {
		return f.rendered(v, omit) && (keep == nil || slices.Contains(keep, f.name))
	}
	// Sized for the fields present: a user sets a few of its 25, and a map sized for
	// all of them was a third of what rendering it allocated.
	present := 0
	for _, f := range p.fields {
		if wanted(f) {
			present++
		}
	}
	doc := make(map[string]any, present)
	for _, f := range p.fields {
		if !wanted(f) {
			continue
		}
		fv := v.Field(f.index)
		var val any
		var err error
		if f.byJSON {
			val, err = valueByJSON(fv)
		} else {
			val, err = valueOf(fv)
		}
		if err != nil {
			return nil, err
		}
		doc[f.name] = val
	}
	return doc, nil
}

// rendered: the field is in the document of v, its struct, unless omit names it.
func (f fieldPlan) rendered(v reflect.Value, omit []string) bool {
	return (!f.omitEmpty || !isEmpty(v.Field(f.index))) && !slices.Contains(omit, f.name)
}

func valueOf(v reflect.Value) (any, error) {
	switch v.Kind() {
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Pointer:
		if v.IsNil() {
			return nil, nil
		}
		return valueOf(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return nil, nil
		}
		out := make([]any, v.Len())
		for i := range out {
			el, err := valueOf(v.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = el
		}
		return out, nil
	case reflect.Struct:
		if plan := planOf(v.Type()); plan != nil {
			return plan.render(v, nil, nil)
		}
	}
	return valueByJSON(v)
}

func valueByJSON(v reflect.Value) (any, error) {
	var out any
	if err := roundTrip(v.Interface(), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// isEmpty is omitempty's test in encoding/json.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
