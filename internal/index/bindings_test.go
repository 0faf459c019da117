package index

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

var nextVersion int

// roleBinding is a binding in namespace ns labelled as the operator's for the identity
// kindLabel names in namespace "idp"; without kindLabel it is someone else's. Each is
// a new version, as the API server's every write is.
func roleBinding(ns, name, kindLabel, identity string) *rbacv1.RoleBinding {
	nextVersion++
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name), ResourceVersion: strconv.Itoa(nextVersion)},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "oidc:" + identity}},
	}
	if kindLabel != "" {
		rb.Labels = map[string]string{
			identityv1alpha1.LabelManagedBy:         identityv1alpha1.LabelManagedByValue,
			kindLabel:                               identity,
			identityv1alpha1.LabelIdentityNamespace: "idp",
		}
	}
	return rb
}

func idp(name string) types.NamespacedName { return types.NamespacedName{Namespace: "idp", Name: name} }

// hear records what b's subscribers are told, with b as it is then.
func hear(b *Bindings) *[]string {
	var heard []string
	b.Subscribe(func(identity types.NamespacedName) {
		// A subscriber reads the index as it is after the change.
		heard = append(heard, fmt.Sprintf("%s:%v", identity.Name, b.Of(identity)))
	})
	return &heard
}

func TestBindingsFollowRoleBindingEvents(t *testing.T) {
	known := NewRoleBindings()
	b := known.Users
	heard := hear(b)
	step := func(name string, event func() error, wantHeard []string, want map[string][]types.NamespacedName) {
		t.Helper()
		*heard = nil
		if err := event(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		slices.Sort(*heard)
		if !slices.Equal(*heard, wantHeard) {
			t.Errorf("%s: notified %q, want %q", name, *heard, wantHeard)
		}
		for identity, bindings := range want {
			if got := b.Of(idp(identity)); !slices.Equal(got, bindings) {
				t.Errorf("%s: bindings of %s = %v, want %v", name, identity, got, bindings)
			}
		}
	}
	inTeam := types.NamespacedName{Namespace: "team", Name: "scim-user-u1"}
	inOld := types.NamespacedName{Namespace: "old", Name: "scim-user-u1"}
	add := func(rb *rbacv1.RoleBinding) func() error { return func() error { return known.Add(rb) } }
	update := func(rb *rbacv1.RoleBinding) func() error { return func() error { return known.Update(rb) } }

	step("the operator's own create is heard too: it may be a stray already",
		add(roleBinding("team", "scim-user-u1", identityv1alpha1.LabelUser, "u1")),
		[]string{"u1:[team/scim-user-u1]"}, map[string][]types.NamespacedName{"u1": {inTeam}})
	step("a second namespace, as the reflector's own store hands it",
		func() error {
			transformed, _ := known.Transformer()(roleBinding("old", "scim-user-u1", identityv1alpha1.LabelUser, "u1"))
			return known.Add(transformed)
		},
		[]string{"u1:[team/scim-user-u1 old/scim-user-u1]"}, map[string][]types.NamespacedName{"u1": {inTeam, inOld}})
	edited := roleBinding("team", "scim-user-u1", identityv1alpha1.LabelUser, "u1")
	step("an edit by someone else",
		update(edited), []string{"u1:[team/scim-user-u1 old/scim-user-u1]"}, nil)
	step("the same version again (a relist): nobody hears",
		update(edited), nil, nil)
	step("relabelled to another user: both hear",
		update(roleBinding("old", "scim-user-u1", identityv1alpha1.LabelUser, "u2")),
		[]string{"u1:[team/scim-user-u1]", "u2:[old/scim-user-u1]"}, map[string][]types.NamespacedName{"u1": {inTeam}, "u2": {inOld}})
	step("its labels removed: no longer the operator's",
		update(roleBinding("old", "scim-user-u1", "", "")),
		[]string{"u2:[]"}, map[string][]types.NamespacedName{"u2": nil})
	if _, ok := known.Get(inOld); ok {
		t.Errorf("a binding no longer the operator's is still known")
	}
	step("someone else's binding is not indexed",
		add(roleBinding("team", "theirs", "", "")), nil, nil)
	step("a group's binding is not a user's",
		add(roleBinding("team", "scim-group-u1", identityv1alpha1.LabelGroup, "u1")), nil,
		map[string][]types.NamespacedName{"u1": {inTeam}})
	step("deleted, as a tombstone",
		func() error {
			return known.Delete(toolscache.DeletedFinalStateUnknown{Key: "team/scim-user-u1", Obj: roleBinding("team", "scim-user-u1", identityv1alpha1.LabelUser, "u1")})
		},
		[]string{"u1:[]"}, map[string][]types.NamespacedName{"u1": nil})
	if len(b.byIdentity) != 0 {
		t.Errorf("the index kept %d identities with no bindings", len(b.byIdentity))
	}
	if got := known.Groups.Of(idp("u1")); !slices.Equal(got, []types.NamespacedName{{Namespace: "team", Name: "scim-group-u1"}}) {
		t.Errorf("the group index holds %v", got)
	}
}

// A relist replaces what is known: bindings deleted while nobody watched go, their
// identities hear of it, and those unchanged are not told again.
func TestRoleBindingsReplace(t *testing.T) {
	known := NewRoleBindings()
	heard := hear(known.Users)
	kept := roleBinding("team", "scim-user-u1", identityv1alpha1.LabelUser, "u1")
	for _, rb := range []*rbacv1.RoleBinding{kept, roleBinding("team", "scim-user-u2", identityv1alpha1.LabelUser, "u2")} {
		if err := known.Add(rb); err != nil {
			t.Fatal(err)
		}
	}
	if known.HasSynced() {
		t.Fatal("synced before the first list")
	}
	*heard = nil
	changed := roleBinding("team", "scim-user-u3", identityv1alpha1.LabelUser, "u3")
	if err := known.Replace([]any{kept, changed, roleBinding("team", "theirs", "", "")}, "10"); err != nil {
		t.Fatal(err)
	}
	slices.Sort(*heard)
	if want := []string{"u2:[]", "u3:[team/scim-user-u3]"}; !slices.Equal(*heard, want) {
		t.Errorf("heard %q, want %q", *heard, want)
	}
	if !known.HasSynced() {
		t.Error("not synced after the list")
	}
	if _, ok := known.Get(types.NamespacedName{Namespace: "team", Name: "theirs"}); ok {
		t.Error("someone else's binding is known")
	}
}

// A digest tells a reconcile whether the binding is as it wants it: any change to
// the subjects or labels changes the content's fingerprint.
func TestRoleBindingDigest(t *testing.T) {
	known := NewRoleBindings()
	rb := roleBinding("team", "scim-user-u1", identityv1alpha1.LabelUser, "u1")
	if err := known.Add(rb); err != nil {
		t.Fatal(err)
	}
	d, ok := known.Users.Digest(types.NamespacedName{Namespace: "team", Name: "scim-user-u1"})
	if !ok {
		t.Fatal("no digest")
	}
	if d.UID != rb.UID || d.ResourceVersion != rb.ResourceVersion || d.RoleRef != rb.RoleRef {
		t.Errorf("digest %+v of %+v", d, rb)
	}
	if d.Content != ContentOf(rb.Subjects, rb.Labels) {
		t.Error("the digest's content is not the binding's")
	}
	for name, edit := range map[string]func(*rbacv1.RoleBinding){
		"a subject renamed": func(rb *rbacv1.RoleBinding) { rb.Subjects[0].Name = "oidc:mallory" },
		"a subject added": func(rb *rbacv1.RoleBinding) {
			rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: rbacv1.UserKind, Name: "x"})
		},
		"a subject's kind": func(rb *rbacv1.RoleBinding) { rb.Subjects[0].Kind = rbacv1.GroupKind },
		"no subjects":      func(rb *rbacv1.RoleBinding) { rb.Subjects = nil },
		"a label added":    func(rb *rbacv1.RoleBinding) { rb.Labels["extra"] = "" },
		"a label's value":  func(rb *rbacv1.RoleBinding) { rb.Labels[identityv1alpha1.LabelUser] = "u2" },
		"a value moved to name": func(rb *rbacv1.RoleBinding) {
			rb.Subjects[0].Name, rb.Subjects[0].APIGroup = rb.Subjects[0].APIGroup, rb.Subjects[0].Name
		},
	} {
		edited := rb.DeepCopy()
		edit(edited)
		if ContentOf(edited.Subjects, edited.Labels) == d.Content {
			t.Errorf("%s: the fingerprint did not change", name)
		}
	}
	if ContentOf(rb.DeepCopy().Subjects, rb.DeepCopy().Labels) != d.Content {
		t.Error("an equal binding has another fingerprint")
	}
	// The reflector's own stores key what the transformer hands them.
	transformed, _ := known.Transformer()(rb)
	if key, err := toolscache.MetaNamespaceKeyFunc(transformed); err != nil || key != "team/scim-user-u1" {
		t.Errorf("key of a transformed binding: %q, %v", key, err)
	}
}

func TestBindingsServes(t *testing.T) {
	b := NewRoleBindings().Groups
	for _, tc := range []struct {
		rb   *rbacv1.RoleBinding
		want bool
	}{
		{roleBinding("team", "scim-group-g1", identityv1alpha1.LabelGroup, "g1"), true},
		{roleBinding("team", "scim-group-g1", identityv1alpha1.LabelGroup, "g2"), false},
		{roleBinding("team", "scim-group-g1", identityv1alpha1.LabelUser, "g1"), false},
		{roleBinding("team", "scim-group-g1", "", ""), false},
	} {
		if got := b.Serves(tc.rb, idp("g1")); got != tc.want {
			t.Errorf("Serves(%v) = %v, want %v", tc.rb.Labels, got, tc.want)
		}
	}
}
