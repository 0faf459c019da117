package index

import (
	"context"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Members is the index of group membership: the groups that name a member. It is
// kept beside the cache rather than as one of its field indexes because of size: a
// field index holds a set per member, twice (per namespace and across namespaces),
// about 240 bytes per membership, which at 100,000 users in 1,000 groups of 1,000
// is a quarter of a gigabyte. Here a membership is 4 bytes.
//
// It is fed by the ScimGroup informer's events, so it follows the cache by the time a
// handler takes to run. Subscribers hear of the members a change concerns only after
// the index holds it, so a reconcile they trigger reads the index as it is now.
type Members struct {
	registration
	progress
	// subscribers hear, after the index changed, of each member whose groups changed:
	// added, removed, or in a group renamed, deleted or being deleted.
	subscribers

	mu       sync.RWMutex
	slots    []GroupRef
	free     []int32
	slotOf   map[types.NamespacedName]int32
	byMember map[types.NamespacedName][]int32 // member (namespace, SCIM id) → slots

	// ids holds the copy of each member's id that the groups naming it share; see
	// ShareMemberIDs. Its own lock, as the cache's transform takes it while readers
	// hold mu.
	idsMu sync.Mutex
	ids   map[types.NamespacedName]string
}

// GroupRef is a group as the index knows it.
type GroupRef struct {
	Namespace, Name, Tenant, DisplayName string
	// Deleting is true from the group's deletion on, while its finalizer runs.
	Deleting bool
}

// NewMembers returns an empty index; Register feeds it.
func NewMembers() *Members {
	return &Members{
		slotOf:   map[types.NamespacedName]int32{},
		byMember: map[types.NamespacedName][]int32{},
		ids:      map[types.NamespacedName]string{},
	}
}

// ShareMemberIDs gives g's members the copy of their id that other groups naming
// them hold, for the cache's transform, before g is in the cache. Decoded, every
// group has its own copy of every id: at 100,000 users in 1,000 groups of 1,000, a
// million copies of 36 bytes (48 MB) for 100,000 ids. A copy is kept while an indexed
// group names the member, or until then once a group brought it.
func (m *Members) ShareMemberIDs(g *identityv1alpha1.ScimGroup) {
	m.idsMu.Lock()
	defer m.idsMu.Unlock()
	for i := range g.Spec.Members {
		member := &g.Spec.Members[i]
		key := types.NamespacedName{Namespace: g.Namespace, Name: member.Value}
		if shared, ok := m.ids[key]; ok {
			member.Value = shared
		} else {
			m.ids[key] = member.Value
		}
	}
}

// Register feeds the index from the cache's ScimGroup informer.
func (m *Members) Register(ctx context.Context, informers InformerSource) error {
	return m.register(ctx, informers, &identityv1alpha1.ScimGroup{}, func(before, after client.Object) {
		m.update(asGroup(before), asGroup(after))
	})
}

// GroupsOf returns the groups of tenant in namespace that name memberID, sorted by
// name, those being deleted included.
func (m *Members) GroupsOf(namespace, tenant, memberID string) []GroupRef {
	m.mu.RLock()
	defer m.mu.RUnlock()
	slots := m.byMember[types.NamespacedName{Namespace: namespace, Name: memberID}]
	out := make([]GroupRef, 0, len(slots))
	for _, s := range slots {
		if g := m.slots[s]; g.Tenant == tenant {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b GroupRef) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func asGroup(obj any) *identityv1alpha1.ScimGroup {
	g, _ := asObject(obj).(*identityv1alpha1.ScimGroup)
	return g
}

// update moves the index from the group as it was (nil: new) to as it is (nil: gone),
// then tells the subscribers which members that concerned.
func (m *Members) update(before, after *identityv1alpha1.ScimGroup) {
	if before == nil && after == nil {
		return
	}
	old, now := memberSet(before), memberSet(after)
	changed := map[string]bool{}
	if before == nil || after == nil || before.Spec.DisplayName != after.Spec.DisplayName ||
		before.DeletionTimestamp.IsZero() != after.DeletionTimestamp.IsZero() {
		for id, user := range old {
			changed[id] = changed[id] || user
		}
		for id, user := range now {
			changed[id] = changed[id] || user
		}
	} else {
		for id, user := range old {
			if _, kept := now[id]; !kept {
				changed[id] = user
			}
		}
		for id, user := range now {
			if _, had := old[id]; !had {
				changed[id] = user
			}
		}
	}

	m.mu.Lock()
	ref := before
	if after != nil {
		ref = after
	}
	key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
	slot := m.slotFor(key, after)
	for id := range old {
		if _, kept := now[id]; !kept {
			m.unlinkMember(types.NamespacedName{Namespace: key.Namespace, Name: id}, slot)
		}
	}
	for id := range now {
		link(m.byMember, types.NamespacedName{Namespace: key.Namespace, Name: id}, slot)
	}
	if after == nil {
		m.slots[slot] = GroupRef{}
		m.free = append(m.free, slot)
		delete(m.slotOf, key)
	}
	m.mu.Unlock()
	m.observe(ref)

	for id, user := range changed {
		if user {
			m.tell(types.NamespacedName{Namespace: key.Namespace, Name: id})
		}
	}
}

// unlinkMember removes the group in slot from member's groups, and the member's
// shared id with its last group. Called with mu held.
func (m *Members) unlinkMember(member types.NamespacedName, slot int32) {
	if unlink(m.byMember, member, slot) {
		m.idsMu.Lock()
		delete(m.ids, member)
		m.idsMu.Unlock()
	}
}

// slotFor returns the group's slot, taking one if it has none, and records what
// GroupsOf reports of it.
func (m *Members) slotFor(key types.NamespacedName, g *identityv1alpha1.ScimGroup) int32 {
	slot, ok := m.slotOf[key]
	if !ok {
		if n := len(m.free); n > 0 {
			slot, m.free = m.free[n-1], m.free[:n-1]
		} else {
			slot = int32(len(m.slots))
			m.slots = append(m.slots, GroupRef{})
		}
		m.slotOf[key] = slot
	}
	if g != nil {
		m.slots[slot] = GroupRef{Namespace: g.Namespace, Name: g.Name, Tenant: g.Spec.TenantRef.Name,
			DisplayName: g.Spec.DisplayName, Deleting: !g.DeletionTimestamp.IsZero()}
	}
	return slot
}

// memberSet maps a group's member ids to whether the member is a user (nested groups
// are indexed too, for the members filter, but have no user to reconcile).
func memberSet(g *identityv1alpha1.ScimGroup) map[string]bool {
	if g == nil {
		return nil
	}
	set := make(map[string]bool, len(g.Spec.Members))
	for _, mb := range g.Spec.Members {
		set[mb.Value] = set[mb.Value] || mb.Type != identityv1alpha1.MemberGroup
	}
	return set
}
