package store

import (
	"context"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/scimserver/docjson"
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// Groups is the collection of ScimGroups.
func (s *Store) Groups() Collection {
	return &collection[*identityv1alpha1.ScimGroup]{store: s, codec: groupCodec{store: s}, writes: &s.groupWrites}
}

type groupCodec struct{ store *Store }

func (groupCodec) resource() *schema.Resource                    { return schema.Group }
func (groupCodec) newObject() *identityv1alpha1.ScimGroup        { return &identityv1alpha1.ScimGroup{} }
func (groupCodec) tenantOf(g *identityv1alpha1.ScimGroup) string { return g.Spec.TenantRef.Name }
func (groupCodec) setTenant(g *identityv1alpha1.ScimGroup, tenant string) {
	g.Spec.TenantRef.Name = tenant
}
func (groupCodec) uniqueValue(g *identityv1alpha1.ScimGroup) string { return g.Spec.DisplayName }
func (groupCodec) uniqueIndex(lk *index.Lookups) *index.Keys        { return lk.GroupDisplayName }
func (groupCodec) uniqueKey(tenant, v string) index.Key             { return index.DisplayNameKey(tenant, v) }
func (groupCodec) specEqual(a, b *identityv1alpha1.ScimGroup) bool {
	return equality.Semantic.DeepEqual(a.Spec, b.Spec)
}

func (groupCodec) equalityIndex(lk *index.Lookups, t Tenant, eq filter.Equality) (*index.Keys, index.Key, bool) {
	switch eq.Attribute {
	case "displayName":
		return lk.GroupDisplayName, index.DisplayNameKey(t.Name, eq.Value), true
	case "externalId":
		return lk.GroupExternalID, index.TenantKey(t.Name, eq.Value), true
	}
	return nil, index.Key{}, false
}

func (groupCodec) keyIndexes(lk *index.Lookups) []*index.Keys {
	return []*index.Keys{lk.GroupDisplayName, lk.GroupExternalID}
}

func (c groupCodec) equalityNames(ctx context.Context, t Tenant, eq filter.Equality) ([]string, bool, error) {
	if eq.Attribute != "members.value" {
		return nil, false, nil
	}
	groups, err := c.store.groupsNaming(ctx, t, eq.Value)
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.Name)
	}
	return names, true, err
}

func (groupCodec) newList() client.ObjectList { return &identityv1alpha1.ScimGroupList{} }

func (groupCodec) render(_ context.Context, t Tenant, g *identityv1alpha1.ScimGroup) (map[string]any, error) {
	doc := map[string]any{"displayName": g.Spec.DisplayName}
	if g.Spec.ExternalID != "" {
		doc["externalId"] = g.Spec.ExternalID
	}
	// members is always there, empty for an empty group, as Entra ID's documented
	// responses show it.
	members := make([]any, 0, len(g.Spec.Members))
	for _, m := range g.Spec.Members {
		typ := memberType(m)
		el := map[string]any{"value": m.Value, "type": typ, "$ref": t.BaseURL + "/" + typ + "s/" + m.Value}
		if m.Display != "" {
			el["display"] = m.Display
		}
		members = append(members, el)
	}
	doc["members"] = members
	return doc, nil
}

// groupSpecNotRendered are the spec fields render does not render as they are: what
// only administrators set, and the members, which it completes.
var groupSpecNotRendered = []string{"tenantRef", "role", "members"}

func (groupCodec) spec(g *identityv1alpha1.ScimGroup) (reflect.Value, []string) {
	return reflect.ValueOf(&g.Spec).Elem(), groupSpecNotRendered
}

// appendMembers writes the members as render completes them. Entra ID looks groups up
// with excludedAttributes=members: a group of 1,000 is then written without them, not
// rendered with them and stripped of them.
func (groupCodec) appendMembers(_ context.Context, t Tenant, g *identityv1alpha1.ScimGroup, m *members) (bool, error) {
	if !m.wants("members") {
		return true, nil
	}
	m.begin("members")
	m.buf = append(m.buf, '[')
	for i, member := range g.Spec.Members {
		if i > 0 {
			m.buf = append(m.buf, ',')
		}
		typ := memberType(member)
		m.buf = append(m.buf, `{"$ref":`...)
		m.buf = docjson.AppendJoined(m.buf, t.BaseURL, "/", typ, "s/", member.Value)
		if member.Display != "" {
			m.buf = append(m.buf, `,"display":`...)
			m.buf = docjson.AppendString(m.buf, member.Display)
		}
		m.buf = append(m.buf, `,"type":`...)
		m.buf = docjson.AppendString(m.buf, typ)
		m.buf = append(m.buf, `,"value":`...)
		m.buf = docjson.AppendString(m.buf, member.Value)
		m.buf = append(m.buf, '}')
	}
	m.buf = append(m.buf, ']')
	m.end()
	return true, nil
}

// memberType is a member's type, User unless it says otherwise.
func memberType(m identityv1alpha1.GroupMember) string {
	if m.Type == "" {
		return string(identityv1alpha1.MemberUser)
	}
	return string(m.Type)
}

func (groupCodec) apply(doc map[string]any, g *identityv1alpha1.ScimGroup) error {
	spec := identityv1alpha1.ScimGroupSpec{TenantRef: g.Spec.TenantRef, Role: g.Spec.Role}
	spec.DisplayName, _ = doc["displayName"].(string)
	spec.ExternalID, _ = doc["externalId"].(string)
	members, _ := doc["members"].([]any)
	for _, el := range members {
		m, _ := el.(map[string]any)
		value, _ := m["value"].(string)
		if value == "" {
			return scimerr.BadRequest(scimerr.InvalidValue, "a member needs a value (the member's id)")
		}
		member := identityv1alpha1.GroupMember{Value: value}
		member.Display, _ = m["display"].(string)
		if typ, _ := m["type"].(string); typ != "" {
			switch {
			case strings.EqualFold(typ, string(identityv1alpha1.MemberUser)):
				member.Type = identityv1alpha1.MemberUser
			case strings.EqualFold(typ, string(identityv1alpha1.MemberGroup)):
				member.Type = identityv1alpha1.MemberGroup
			default:
				return scimerr.BadRequest(scimerr.InvalidValue, "member type %q is neither User nor Group", typ)
			}
		}
		spec.Members = append(spec.Members, member)
	}
	g.Spec = spec
	return nil
}
