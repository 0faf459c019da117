package main

import (
	"context"
	"fmt"
)

// wantGroup is what the identity provider was told, by 2xx answers, about one group.
type wantGroup struct {
	displayName string
	id          string
	// members are the user indexes added to the group.
	members []int
	deleted bool
}

// groupsPerUser sets how many groups the driver provisions: one per 20 users.
const groupsPerUser = 20

func newGroups(users int) []*wantGroup {
	groups := make([]*wantGroup, max(users/groupsPerUser, 1))
	for g := range groups {
		groups[g] = &wantGroup{displayName: fmt.Sprintf("Chaos Team %02d", g)}
	}
	return groups
}

// createGroup provisions group g, racing the create through both replicas when race is set.
func (d *driver) createGroup(ctx context.Context, g int, race bool) error {
	w := d.groups[g]
	doc := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": w.displayName, "externalId": fmt.Sprintf("ext-team-%02d", g)}
	id, err := d.createResource(ctx, "/Groups", doc, "displayName", w.displayName, race)
	if err != nil {
		return err
	}
	d.record(func() { w.id = id })
	return nil
}

// fillGroup adds every len(groups)-th user, from user g on, to group g in one PATCH, as
// Entra ID adds members.
func (d *driver) fillGroup(ctx context.Context, g int) error {
	w := d.groups[g]
	var members []int
	var values []map[string]any
	d.mu.Lock()
	for i := g; i < len(d.users); i += len(d.groups) {
		members = append(members, i)
		values = append(values, map[string]any{"value": d.users[i].id})
	}
	d.mu.Unlock()
	if err := d.patchResource(ctx, "/Groups/"+w.id, []map[string]any{{"op": "Add", "path": "members", "value": values}}); err != nil {
		return err
	}
	d.record(func() { w.members = members })
	return nil
}

// removeGroup deletes group g.
func (d *driver) removeGroup(ctx context.Context, g int) error {
	w := d.groups[g]
	if err := d.deleteResource(ctx, "/Groups/"+w.id); err != nil {
		return err
	}
	d.record(func() { w.deleted = true })
	return nil
}
