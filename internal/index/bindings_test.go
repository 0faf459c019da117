package index

import (
	"fmt"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// roleBinding is a binding in namespace ns labelled as the operator's for the identity
// kindLabel names in namespace "idp"; without kindLabel it is someone else's.
func roleBinding(ns, name, kindLabel, identity string) *rbacv1.RoleBinding {
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
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

func TestBindingsFollowRoleBindingEvents(t *testing.T) {
	b := NewBindings(identityv1alpha1.LabelUser)
	var heard []string
	b.Subscribe(func(identity types.NamespacedName) {
		// A subscriber reads the index as it is after the change.
		heard = append(heard, fmt.Sprintf("%s:%v", identity.Name, b.Of(identity)))
	})
	step := func(name string, before, after *rbacv1.RoleBinding, wantHeard []string, want map[string][]types.NamespacedName) {
		t.Helper()
		heard = nil
		// A nil *RoleBinding is not a nil client.Object: pass the informer's nil.
		switch {
		case before == nil:
			b.update(nil, after)
		case after == nil:
			b.update(before, nil)
		default:
			b.update(before, after)
		}
		slices.Sort(heard)
		if !slices.Equal(heard, wantHeard) {
			t.Errorf("%s: notified %q, want %q", name, heard, wantHeard)
		}
		for identity, bindings := range want {
			if got := b.Of(idp(identity)); !slices.Equal(got, bindings) {
				t.Errorf("%s: bindings of %s = %v, want %v", name, identity, got, bindings)
			}
		}
	}
	inTeam := types.NamespacedName{Namespace: "team", Name: "scim-user-u1"}
	inOld := types.NamespacedName{Namespace: "old", Name: "scim-user-u1"}

	step("the operator's own create is heard too: it may be a stray already",
		nil, roleBinding("team", "scim-user-u1", identityv1alpha1.LabelUser, "u1"),
		[]string{"u1:[team/scim-user-u1]"}, map[string][]types.NamespacedName{"u1": {inTeam}})
	step("a second namespace",
		nil, roleBinding("old", "scim-user-u1", identityv1alpha1.LabelUser, "u1"),
		[]string{"u1:[team/scim-user-u1 old/scim-user-u1]"}, map[string][]types.NamespacedName{"u1": {inTeam, inOld}})
	step("an edit by someone else",
		roleBinding("team", "scim-user-u1", identityv1alpha1.LabelUser, "u1"), roleBinding("team", "scim-user-u1", identityv1alpha1.LabelUser, "u1"),
		[]string{"u1:[team/scim-user-u1 old/scim-user-u1]"}, nil)
	step("relabelled to another user: both hear",
		roleBinding("old", "scim-user-u1", identityv1alpha1.LabelUser, "u1"), roleBinding("old", "scim-user-u1", identityv1alpha1.LabelUser, "u2"),
		[]string{"u1:[team/scim-user-u1]", "u2:[old/scim-user-u1]"}, map[string][]types.NamespacedName{"u1": {inTeam}, "u2": {inOld}})
	step("its labels removed: no longer the operator's",
		roleBinding("old", "scim-user-u1", identityv1alpha1.LabelUser, "u2"), roleBinding("old", "scim-user-u1", "", ""),
		[]string{"u2:[]"}, map[string][]types.NamespacedName{"u2": nil})
	step("someone else's binding is not indexed",
		nil, roleBinding("team", "theirs", "", ""), nil, nil)
	step("a group's binding is not a user's",
		nil, roleBinding("team", "scim-group-u1", identityv1alpha1.LabelGroup, "u1"), nil,
		map[string][]types.NamespacedName{"u1": {inTeam}})
	step("deleted",
		roleBinding("team", "scim-user-u1", identityv1alpha1.LabelUser, "u1"), nil,
		[]string{"u1:[]"}, map[string][]types.NamespacedName{"u1": nil})
	if len(b.byIdentity) != 0 {
		t.Errorf("the index kept %d identities with no bindings", len(b.byIdentity))
	}
}

func TestBindingsServes(t *testing.T) {
	b := NewBindings(identityv1alpha1.LabelGroup)
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
