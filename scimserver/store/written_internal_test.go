package store

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllertest"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/scimserver/docjson"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

type oneInformer struct{ informer *controllertest.FakeInformer }

func (o oneInformer) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return o.informer, nil
}

const writtenTenant = "t"

// usersWithGroups is the users collection of a store whose member index holds groups
// naming the user "u1": one of another tenant, one being deleted, one whose display
// name needs escaping.
func usersWithGroups(t testing.TB) *collection[*identityv1alpha1.ScimUser] {
	t.Helper()
	groups := &controllertest.FakeInformer{}
	st := &Store{Lookups: index.NewLookups()}
	if err := st.Lookups.Members.Register(t.Context(), oneInformer{groups}); err != nil {
		t.Fatal(err)
	}
	group := func(tenant, name, display string, deleting bool) *identityv1alpha1.ScimGroup {
		g := &identityv1alpha1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Spec: identityv1alpha1.ScimGroupSpec{TenantRef: identityv1alpha1.TenantReference{Name: tenant}, DisplayName: display,
				Members: []identityv1alpha1.GroupMember{{Value: "u1", Type: identityv1alpha1.MemberUser}}}}
		if deleting {
			g.DeletionTimestamp = new(metav1.Now())
		}
		return g
	}
	groups.Add(group(writtenTenant, "g-b", `R&D <"lab">`, false))
	groups.Add(group(writtenTenant, "g-a", "Engineering", false))
	groups.Add(group(writtenTenant, "g-c", "Leaving", true))
	groups.Add(group("other", "g-d", "Elsewhere", false))
	return st.Users().(*collection[*identityv1alpha1.ScimUser])
}

func writtenCases(t *testing.T) map[string]*identityv1alpha1.ScimUser {
	full := fullUserSpec(t)
	full.Extensions = nil
	withExtension := fullUserSpec(t)
	odd := identityv1alpha1.ScimUserSpec{UserName: "Zoë <a&b> \"q\" \\ \u2028 \xff", DisplayName: "\t\n",
		Active: new(false), Emails: []identityv1alpha1.MultiValuedAttribute{}, Name: &identityv1alpha1.PersonName{},
		Enterprise: &identityv1alpha1.EnterpriseUser{}}
	managerOnly := identityv1alpha1.ScimUserSpec{UserName: "m", Enterprise: &identityv1alpha1.EnterpriseUser{
		Manager: &identityv1alpha1.Manager{Value: "boss"}}}
	out := map[string]*identityv1alpha1.ScimUser{}
	for name, spec := range map[string]identityv1alpha1.ScimUserSpec{
		"every field set":       full,
		"with an extension":     withExtension,
		"odd characters, empty": odd,
		"a manager alone":       managerOnly,
		"a userName alone":      {UserName: "bjensen"},
	} {
		spec.TenantRef.Name = writtenTenant
		for _, id := range []string{"u1", "u2"} { // u1 is in groups
			u := &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: id, UID: "0123456789abcdef",
				Generation: 3, CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}, Spec: spec}
			if name == "a userName alone" {
				u.Annotations = map[string]string{AnnotationLastModified: "2026-02-03T04:05:06.123456789Z"}
			}
			out[name+", "+id] = u
		}
	}
	return out
}

// requireWrittenIsRendered fails unless obj written from its object without the
// excluded attributes is, byte for byte, its rendered document projected without them
// as docjson writes it. written says whether the codec writes it or leaves it to
// rendering.
func requireWrittenIsRendered[T client.Object](t *testing.T, c *collection[T], tenant Tenant, obj T, excluded []string, written bool) {
	t.Helper()
	rendered, err := c.rendered(t.Context(), tenant, obj)
	if err != nil {
		t.Fatal(err)
	}
	want, err := docjson.Append([]byte("prefix"), c.Resource().Project(rendered.Doc, nil, excluded))
	if err != nil {
		t.Fatal(err)
	}
	exclude, ok := c.Resource().ExcludedKeys(excluded)
	if !ok {
		t.Fatalf("%v are not top-level attributes", excluded)
	}
	got, ok, err := c.appendJSON(t.Context(), tenant, obj, []byte("prefix"), exclude)
	if err != nil {
		t.Fatal(err)
	}
	if ok != written {
		t.Fatalf("written: %v, want %v", ok, written)
	}
	if !ok {
		if string(got) != "prefix" {
			t.Fatalf("a document not written left %q", got)
		}
		if got, err = c.item(t.Context(), tenant, obj).AppendJSON([]byte("prefix"), exclude); err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != string(want) {
		t.Errorf("written\n %s\nrendered\n %s", got, want)
	}
}

// exclusions are excludedAttributes of top-level attributes, as Entra ID sends
// excludedAttributes=members, and of attributes a resource does not have.
var exclusions = [][]string{nil, {"groups"}, {"members"}, {"emails", "Meta", "nosuch"}, {"externalId", "id"},
	{"schemas"}}

// A user written from its object is, byte for byte, the rendered document as docjson
// writes it; only a user with an extension other than the enterprise one is left to
// rendering.
func TestAWrittenUserIsTheRenderedOne(t *testing.T) {
	users := usersWithGroups(t)
	tenant := Tenant{Namespace: "ns", Name: writtenTenant, BaseURL: "https://example.com/scim/ns/t/v2"}
	for name, u := range writtenCases(t) {
		for _, excluded := range exclusions {
			t.Run(fmt.Sprint(name, " without ", excluded), func(t *testing.T) {
				requireWrittenIsRendered(t, users, tenant, u, excluded, len(u.Spec.Extensions) == 0)
			})
		}
	}
}

// A group written from its object is its rendered document, with its members or,
// as Entra ID looks groups up, without them.
func TestAWrittenGroupIsTheRenderedOne(t *testing.T) {
	groups := (&Store{Lookups: index.NewLookups()}).Groups().(*collection[*identityv1alpha1.ScimGroup])
	tenant := Tenant{Namespace: "ns", Name: writtenTenant, BaseURL: "https://example.com/scim/ns/t/v2"}
	members := []identityv1alpha1.GroupMember{{Value: "u1"}, {Value: "g2", Type: identityv1alpha1.MemberGroup, Display: "Sub <group>"},
		{Value: "u&3", Type: identityv1alpha1.MemberUser, Display: "Zoë"}}
	for name, spec := range map[string]identityv1alpha1.ScimGroupSpec{
		"no members":          {DisplayName: "Empty"},
		"members":             {DisplayName: "R&D \u2028", ExternalID: "ext-1", Members: members},
		"a role, no display":  {DisplayName: "", Role: new("edit"), Members: members[:1]},
		"members, empty list": {DisplayName: "x", Members: []identityv1alpha1.GroupMember{}},
	} {
		spec.TenantRef.Name = writtenTenant
		g := &identityv1alpha1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "g1", UID: "fedcba9876543210", Generation: 2,
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
			Annotations:       map[string]string{AnnotationLastModified: "2026-02-03T04:05:06Z"}}, Spec: spec}
		for _, excluded := range exclusions {
			t.Run(fmt.Sprint(name, " without ", excluded), func(t *testing.T) {
				requireWrittenIsRendered(t, groups, tenant, g, excluded, true)
			})
		}
	}
}

// A filter's attributes rendered alone are what the whole document holds of them;
// attributes that are not the spec's own are left to the whole document.
func TestADocumentForAFilterIsPartOfTheRenderedOne(t *testing.T) {
	users := usersWithGroups(t)
	tenant := Tenant{Namespace: "ns", Name: writtenTenant, BaseURL: "https://example.com/scim/ns/t/v2"}
	for name, u := range writtenCases(t) {
		rendered, err := users.rendered(t.Context(), tenant, u)
		if err != nil {
			t.Fatal(err)
		}
		for _, keys := range [][]string{{"userName"}, {"emails", "name", "active"}, {"id", "title"}, {"displayName", "x509Certificates"}} {
			doc, ok, err := users.docFor(u, keys)
			if err != nil || !ok {
				t.Fatalf("%s: docFor(%v) = %v, %v", name, keys, ok, err)
			}
			want := maps.Collect(func(yield func(string, any) bool) {
				for _, k := range keys {
					if v, ok := rendered.Doc[k]; ok && !yield(k, v) {
						return
					}
				}
			})
			if !reflect.DeepEqual(doc, want) {
				t.Errorf("%s: docFor(%v) = %v, want %v", name, keys, doc, want)
			}
		}
		for _, keys := range [][]string{{"groups"}, {"meta"}, {"userName", schema.EnterpriseUserURN}, {"role"}, {"extensions"}} {
			if _, ok, _ := users.docFor(u, keys); ok {
				t.Errorf("%s: docFor(%v) rendered a part, want the whole document", name, keys)
			}
		}
	}
}

// Whatever strings a user holds, its written document is the rendered one.
func FuzzAWrittenUserIsTheRenderedOne(f *testing.F) {
	f.Add("bjensen@example.com", "Barbara", "Jensen", "701984", true)
	f.Add("Zoë <a&b>", "\u2028", "\xff\xfe", "", false)
	users := usersWithGroups(f)
	tenant := Tenant{Namespace: "ns", Name: writtenTenant, BaseURL: "https://example.com/scim/ns/t/v2"}
	f.Fuzz(func(t *testing.T, userName, givenName, familyName, employeeNumber string, active bool) {
		u := &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "u1"},
			Spec: identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: writtenTenant},
				UserName: userName, Active: &active,
				Name:       &identityv1alpha1.PersonName{GivenName: givenName, FamilyName: familyName},
				Emails:     []identityv1alpha1.MultiValuedAttribute{{Value: userName, Type: givenName}},
				Enterprise: &identityv1alpha1.EnterpriseUser{EmployeeNumber: employeeNumber},
				Extensions: map[string]apiextensionsv1.JSON{}}}
		requireWrittenIsRendered(t, users, tenant, u, nil, true)
	})
}
