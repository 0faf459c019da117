package index

import (
	"slices"
	"strings"
	"testing"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

func group(tenant, name, display string, members ...string) *identityv1alpha1.ScimGroup {
	g := &identityv1alpha1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: identityv1alpha1.ScimGroupSpec{TenantRef: identityv1alpha1.TenantReference{Name: tenant}, DisplayName: display}}
	for _, m := range members {
		typ := identityv1alpha1.MemberUser
		if m[0] == 'g' {
			typ = identityv1alpha1.MemberGroup
		}
		g.Spec.Members = append(g.Spec.Members, identityv1alpha1.GroupMember{Value: m, Type: typ})
	}
	return g
}

// membersOf lists the group names the index reports for member, with their display
// names and deletion state, for comparison.
func membersOf(m *Members, tenant, member string) []string {
	var out []string
	for _, g := range m.GroupsOf("ns", tenant, member) {
		s := g.Name + "=" + g.DisplayName
		if g.Deleting {
			s += " (deleting)"
		}
		out = append(out, s)
	}
	return out
}

func TestMembersFollowsGroupEvents(t *testing.T) {
	m := NewMembers()
	var heard []string
	m.Subscribe(func(member types.NamespacedName) {
		// A subscriber reads the index as it is after the change.
		heard = append(heard, member.Name+":"+fmtGroups(membersOf(m, "t", member.Name)))
	})
	step := func(name string, before, after *identityv1alpha1.ScimGroup, wantHeard []string, want map[string][]string) {
		t.Helper()
		heard = nil
		m.update(before, after)
		slices.Sort(heard)
		slices.Sort(wantHeard)
		if !slices.Equal(heard, wantHeard) {
			t.Errorf("%s: notified %q, want %q", name, heard, wantHeard)
		}
		for member, groups := range want {
			if got := membersOf(m, "t", member); !slices.Equal(got, groups) {
				t.Errorf("%s: groups of %s = %q, want %q", name, member, got, groups)
			}
		}
	}

	a := group("t", "a", "A", "alice", "bob", "g-nested")
	step("create a", nil, a, []string{"alice:a=A", "bob:a=A"},
		map[string][]string{"alice": {"a=A"}, "bob": {"a=A"}, "g-nested": {"a=A"}, "carol": nil})

	b := group("t", "b", "B", "alice")
	step("create b", nil, b, []string{"alice:a=A,b=B"}, map[string][]string{"alice": {"a=A", "b=B"}})

	a2 := group("t", "a", "A", "alice", "carol", "g-nested")
	step("bob out, carol in: only they hear", a, a2, []string{"bob:", "carol:a=A"},
		map[string][]string{"alice": {"a=A", "b=B"}, "bob": nil, "carol": {"a=A"}})

	a3 := group("t", "a", "Renamed", "alice", "carol", "g-nested")
	step("a rename concerns every member", a2, a3, []string{"alice:a=Renamed,b=B", "carol:a=Renamed"},
		map[string][]string{"alice": {"a=Renamed", "b=B"}})

	deleting := a3.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	step("deletion begins", a3, deleting, []string{"alice:a=Renamed (deleting),b=B", "carol:a=Renamed (deleting)"}, nil)

	step("deleted, seen as a tombstone", asGroup(toolscache.DeletedFinalStateUnknown{Key: "ns/a", Obj: deleting}), nil,
		[]string{"alice:b=B", "carol:"}, map[string][]string{"carol": nil, "g-nested": nil})

	c := group("t", "c", "C", "carol")
	step("a freed slot is reused without leaking the old group", nil, c, []string{"carol:c=C"},
		map[string][]string{"alice": {"b=B"}, "carol": {"c=C"}})

	other := group("other", "d", "D", "alice")
	step("another tenant's group", nil, other, []string{"alice:b=B"}, map[string][]string{"alice": {"b=B"}})
	if got := membersOf(m, "other", "alice"); !slices.Equal(got, []string{"d=D"}) {
		t.Errorf("alice in tenant other: %q", got)
	}
}

func TestMembersIgnoresRepeatedEvents(t *testing.T) {
	m := NewMembers()
	g := group("t", "a", "A", "alice", "alice")
	m.update(nil, g)
	m.update(nil, g) // a relist adds what is already there
	m.update(g, g)   // a resync
	if got := membersOf(m, "t", "alice"); !slices.Equal(got, []string{"a=A"}) {
		t.Fatalf("groups of alice = %q, want a once", got)
	}
	m.update(g, nil)
	if len(m.byMember) != 0 || len(m.slotOf) != 0 {
		t.Fatalf("index not empty after the only group went: %d members, %d groups", len(m.byMember), len(m.slotOf))
	}
}

// Groups naming a member share one copy of its id, which the index forgets with the
// last group naming the member.
func TestMembersShareIDsWhileNamed(t *testing.T) {
	m := NewMembers()
	a := group("t", "a", "A", strings.Clone("alice"), strings.Clone("bob"))
	b := group("t", "b", "B", strings.Clone("alice"))
	for _, g := range []*identityv1alpha1.ScimGroup{a, b} {
		m.ShareMemberIDs(g)
		m.update(nil, g)
	}
	if unsafe.StringData(a.Spec.Members[0].Value) != unsafe.StringData(b.Spec.Members[0].Value) {
		t.Fatal("the groups hold their own copies of alice's id")
	}
	withoutBob := group("t", "a", "A", a.Spec.Members[0].Value)
	m.ShareMemberIDs(withoutBob)
	m.update(a, withoutBob)
	if _, kept := m.ids[types.NamespacedName{Namespace: "ns", Name: "bob"}]; kept {
		t.Error("bob's id is kept after the only group naming him dropped him")
	}
	m.update(withoutBob, nil)
	if _, kept := m.ids[types.NamespacedName{Namespace: "ns", Name: "alice"}]; !kept {
		t.Error("alice's id was forgotten while group b names her")
	}
	m.update(b, nil)
	if len(m.ids) != 0 {
		t.Errorf("ids kept after every group went: %v", m.ids)
	}
}

func fmtGroups(groups []string) string {
	out := ""
	for i, g := range groups {
		if i > 0 {
			out += ","
		}
		out += g
	}
	return out
}
