package store

import (
	"context"
	"encoding/json"
	"reflect"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/scimserver/docjson"
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// Users is the collection of ScimUsers.
func (s *Store) Users() Collection {
	return &collection[*identityv1alpha1.ScimUser]{store: s, codec: userCodec{store: s}, writes: &s.userWrites}
}

type userCodec struct{ store *Store }

func (userCodec) resource() *schema.Resource                   { return schema.User }
func (userCodec) newObject() *identityv1alpha1.ScimUser        { return &identityv1alpha1.ScimUser{} }
func (userCodec) tenantOf(u *identityv1alpha1.ScimUser) string { return u.Spec.TenantRef.Name }
func (userCodec) setTenant(u *identityv1alpha1.ScimUser, tenant string) {
	u.Spec.TenantRef.Name = tenant
}
func (userCodec) uniqueValue(u *identityv1alpha1.ScimUser) string { return u.Spec.UserName }
func (userCodec) uniqueIndex(lk *index.Lookups) *index.Keys       { return lk.UserName }
func (userCodec) uniqueKey(tenant, v string) index.Key            { return index.UserNameKey(tenant, v) }
func (userCodec) specEqual(a, b *identityv1alpha1.ScimUser) bool {
	return equality.Semantic.DeepEqual(a.Spec, b.Spec)
}

func (userCodec) equalityIndex(lk *index.Lookups, t Tenant, eq filter.Equality) (*index.Keys, index.Key, bool) {
	switch eq.Attribute {
	case "userName":
		return lk.UserName, index.UserNameKey(t.Name, eq.Value), true
	case "externalId":
		return lk.UserExternalID, index.TenantKey(t.Name, eq.Value), true
	}
	return nil, index.Key{}, false
}

func (userCodec) keyIndexes(lk *index.Lookups) []*index.Keys {
	return []*index.Keys{lk.UserName, lk.UserExternalID}
}

func (userCodec) newList() client.ObjectList { return &identityv1alpha1.ScimUserList{} }

// userSpecNotRendered are the spec fields that are not core attributes: what only
// administrators set, and the extensions, rendered under their URNs.
var userSpecNotRendered = []string{"tenantRef", "role", "storageQuota", "enterprise", "extensions"}

func (c userCodec) render(ctx context.Context, t Tenant, u *identityv1alpha1.ScimUser) (map[string]any, error) {
	doc, err := docOf(&u.Spec, userSpecNotRendered...)
	if err != nil {
		return nil, err
	}
	if u.Spec.Enterprise != nil {
		ent, err := docOf(u.Spec.Enterprise)
		if err != nil {
			return nil, err
		}
		if len(ent) > 0 {
			doc[schema.EnterpriseUserURN] = ent
		}
	}
	for urn, raw := range u.Spec.Extensions {
		ext, err := decodeMap(raw.Raw)
		if err != nil {
			continue // not an object: not ours to render
		}
		doc[urn] = ext
	}
	groups, err := c.groupsOf(ctx, t, u.Name)
	if err != nil {
		return nil, err
	}
	if len(groups) > 0 {
		doc["groups"] = groups
	}
	return doc, nil
}

func (userCodec) spec(u *identityv1alpha1.ScimUser) (reflect.Value, []string) {
	return reflect.ValueOf(&u.Spec).Elem(), userSpecNotRendered
}

// appendMembers writes what render adds to the spec's attributes: the enterprise
// extension and the groups. Other extensions are left to render.
func (c userCodec) appendMembers(ctx context.Context, t Tenant, u *identityv1alpha1.ScimUser, m *members) (bool, error) {
	if len(u.Spec.Extensions) > 0 {
		return false, nil
	}
	if ent := u.Spec.Enterprise; ent != nil {
		m.begin(schema.EnterpriseUserURN)
		var ok bool
		if m.buf, ok = appendValue(m.buf, reflect.ValueOf(ent).Elem()); !ok {
			return false, nil
		}
		m.end()
		if mb := m.list[len(m.list)-1]; mb.end-mb.start == len("{}") {
			m.drop()
		}
	}
	if !m.wants("groups") {
		return true, nil
	}
	refs, err := c.store.groupsNaming(ctx, t, u.Name)
	if err != nil {
		return false, err
	}
	m.begin("groups")
	n := 0
	sep := byte('[')
	for _, g := range refs {
		if g.Deleting {
			continue
		}
		m.buf = append(m.buf, sep)
		sep = ','
		n++
		m.buf = append(m.buf, `{"$ref":`...)
		m.buf = docjson.AppendJoined(m.buf, t.BaseURL, "/Groups/", g.Name)
		m.buf = append(m.buf, `,"display":`...)
		m.buf = docjson.AppendString(m.buf, g.DisplayName)
		m.buf = append(m.buf, `,"type":"direct","value":`...)
		m.buf = docjson.AppendString(m.buf, g.Name)
		m.buf = append(m.buf, '}')
	}
	if n == 0 {
		m.drop()
		return true, nil
	}
	m.buf = append(m.buf, ']')
	m.end()
	return true, nil
}

// groupsOf computes a user's groups from group membership (the member index).
func (c userCodec) groupsOf(ctx context.Context, t Tenant, userID string) ([]any, error) {
	refs, err := c.store.groupsNaming(ctx, t, userID)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(refs))
	for _, g := range refs {
		if !g.Deleting {
			out = append(out, map[string]any{"value": g.Name, "display": g.DisplayName,
				"$ref": t.BaseURL + "/Groups/" + g.Name, "type": "direct"})
		}
	}
	return out, nil
}

func (userCodec) equalityNames(context.Context, Tenant, filter.Equality) ([]string, bool, error) {
	return nil, false, nil
}

func (userCodec) apply(doc map[string]any, u *identityv1alpha1.ScimUser) error {
	core, exts := splitExtensions(doc)
	delete(core, "groups")
	var spec identityv1alpha1.ScimUserSpec
	if err := fromMap(core, &spec); err != nil {
		return scimerr.BadRequest(scimerr.InvalidValue, "%v", err)
	}
	for urn, v := range exts {
		if urn == schema.EnterpriseUserURN {
			m, _ := v.(map[string]any)
			if len(m) == 0 {
				continue
			}
			spec.Enterprise = &identityv1alpha1.EnterpriseUser{}
			if err := fromMap(m, spec.Enterprise); err != nil {
				return scimerr.BadRequest(scimerr.InvalidValue, "%v", err)
			}
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return scimerr.BadRequest(scimerr.InvalidValue, "%v", err)
		}
		if spec.Extensions == nil {
			spec.Extensions = map[string]apiextensionsv1.JSON{}
		}
		spec.Extensions[urn] = apiextensionsv1.JSON{Raw: raw}
	}
	// What only an administrator sets survives every SCIM write.
	spec.TenantRef, spec.Role, spec.StorageQuota = u.Spec.TenantRef, u.Spec.Role, u.Spec.StorageQuota
	u.Spec = spec
	return nil
}
