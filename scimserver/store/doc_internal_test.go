package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// fill sets every field reachable from v to a value that is not empty, so that a
// field added to a spec is covered without this test knowing it.
func fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString(path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Map:
		// Set by the caller: what a map holds is the type's business.
	default:
		t.Fatalf("fill: %s is a %s; teach fill to set it", path, v.Kind())
	}
}

func fullUserSpec(t *testing.T) identityv1alpha1.ScimUserSpec {
	var spec identityv1alpha1.ScimUserSpec
	fill(t, reflect.ValueOf(&spec).Elem(), "spec")
	spec.StorageQuota = new(resource.MustParse("1536Mi"))
	spec.Extensions = map[string]apiextensionsv1.JSON{
		"urn:example:params:scim:schemas:extension:2.0:Badge": {Raw: []byte(`{"number":42,"ratio":1.5e3,"tags":["a"]}`)},
	}
	return spec
}

func requireRoundTrip(t *testing.T, v any) {
	t.Helper()
	want, wantErr := toMapByJSON(v)
	got, err := docOf(v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("docOf error %v, the JSON round trip's %v", err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("docOf differs from the JSON round trip\n got  %s (%#v)\n want %s (%#v)", g, got, w, want)
	}
}

func TestDocOfIsTheJSONRoundTrip(t *testing.T) {
	full := fullUserSpec(t)
	primaryFalse := full
	primaryFalse.Emails = []identityv1alpha1.MultiValuedAttribute{{Value: "a@example.com", Primary: new(false)}}
	emptySlices := identityv1alpha1.ScimUserSpec{UserName: "u", Emails: []identityv1alpha1.MultiValuedAttribute{},
		Name: &identityv1alpha1.PersonName{}, Active: new(false)}
	group := identityv1alpha1.ScimGroupSpec{DisplayName: "g", Members: []identityv1alpha1.GroupMember{{Value: "m", Type: identityv1alpha1.MemberUser}}}
	for name, v := range map[string]any{
		"every field set":                      full,
		"a pointer to it":                      &full,
		"primary false":                        primaryFalse,
		"empty but present":                    emptySlices,
		"the zero spec":                        identityv1alpha1.ScimUserSpec{},
		"the enterprise extension":             full.Enterprise,
		"a nil pointer":                        (*identityv1alpha1.EnterpriseUser)(nil),
		"nothing":                              nil,
		"not a struct":                         map[string]any{"a": 1},
		"a group":                              group,
		"kinds left to encoding/json":          jsonKinds(),
		"the same, empty":                      leftToJSON{},
		"a type with embedded fields":          withEmbedded{Inner: Inner{A: "a"}, B: "b"},
		"tag options other than omitempty":     withOptions{Quoted: 12},
		"a type of its own JSON (metav1.Time)": metav1.Unix(1700000000, 0),
		"a type that contains itself":          recursive{Name: "a", Next: &recursive{Name: "b"}},
	} {
		t.Run(name, func(t *testing.T) { requireRoundTrip(t, v) })
	}
}

// leftToJSON has fields of every kind docOf hands to encoding/json.
type leftToJSON struct {
	Int       int                `json:"int"`
	IntOmit   int64              `json:"intOmit,omitempty"`
	Uint      uint16             `json:"uint"`
	Float     float64            `json:"float"`
	Map       map[string]int     `json:"map,omitempty"`
	Bytes     []byte             `json:"bytes"`
	Array     [2]string          `json:"array"`
	Any       any                `json:"any"`
	Time      metav1.Time        `json:"time"`
	Quantity  *resource.Quantity `json:"quantity,omitempty"`
	Untagged  string
	Skipped   string `json:"-"`
	Dash      string `json:"-,"`
	unexposed string
}

func jsonKinds() leftToJSON {
	return leftToJSON{Int: -3, IntOmit: 7, Uint: 9, Float: 0.1, Map: map[string]int{"b": 2, "a": 1}, Bytes: []byte("hi"),
		Array: [2]string{"x", "y"}, Any: map[string]any{"n": 1}, Time: metav1.Unix(1700000000, 0),
		Quantity: new(resource.MustParse("2Gi")), Untagged: "u", Skipped: "s", Dash: "d", unexposed: "x"}
}

// withOptions has tag options encoding/json alone knows.
type withOptions struct {
	Quoted int         `json:"quoted,string"`
	Zero   metav1.Time `json:"zero,omitzero"`
}

type Inner struct {
	A string `json:"a"`
}

type withEmbedded struct {
	Inner
	B string `json:"b"`
}

type recursive struct {
	Name string     `json:"name"`
	Next *recursive `json:"next,omitempty"`
}

// FuzzDocOf: any spec a client can store renders as its JSON round trip would.
func FuzzDocOf(f *testing.F) {
	full, err := json.Marshal(fullUserSpec(&testing.T{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(full))
	f.Add(`{}`)
	f.Add(`{"userName":"a","emails":[],"name":{},"active":false,"enterprise":{"manager":{}}}`)
	f.Fuzz(func(t *testing.T, specJSON string) {
		// render leaves the storage quota out, and a Quantity of a huge exponent takes
		// minutes to parse: the fuzzer would find that, not a difference.
		var fields map[string]json.RawMessage
		if json.Unmarshal([]byte(specJSON), &fields) != nil {
			return
		}
		delete(fields, "storageQuota")
		spec, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		var user identityv1alpha1.ScimUserSpec
		if json.Unmarshal(spec, &user) == nil {
			requireRoundTrip(t, user)
		}
		var group identityv1alpha1.ScimGroupSpec
		if json.Unmarshal(spec, &group) == nil {
			requireRoundTrip(t, group)
		}
	})
}

func TestDocOfLeavesOutWhatItIsTold(t *testing.T) {
	full := fullUserSpec(t)
	for name, v := range map[string]any{
		"a spec":       &full,
		"not a struct": map[string]any{"userName": "u", "role": "admin", "tenantRef": map[string]any{"name": "t"}},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := toMapByJSON(v)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range userSpecNotRendered {
				delete(want, name)
			}
			got, err := docOf(v, userSpecNotRendered...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("docOf without %q\n got  %v\n want %v", userSpecNotRendered, got, want)
			}
		})
	}
}
