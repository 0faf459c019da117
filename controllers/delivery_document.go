package controllers

import (
	"slices"
	"strings"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/connectors"
)

// appEntry is the identity's delivery state in one app, nil when it was never delivered.
func appEntry(apps []identityv1alpha1.AppDelivery, app string) *identityv1alpha1.AppDelivery {
	for i := range apps {
		if apps[i].App == app {
			return &apps[i]
		}
	}
	return nil
}

// inScope says whether the app receives the user: every user of the tenant, or the
// members of the groups the scope names (by displayName, as identity providers show it).
func inScope(app *identityv1alpha1.DownstreamApp, groups []string) bool {
	if app.Spec.Scope.Type != identityv1alpha1.ScopeGroups {
		return true
	}
	return slices.ContainsFunc(groups, func(group string) bool {
		return slices.ContainsFunc(app.Spec.Scope.Groups, func(name string) bool { return strings.EqualFold(name, group) })
	})
}

// groupInScope says whether a SCIM app receives the group itself.
func groupInScope(app *identityv1alpha1.DownstreamApp, group *identityv1alpha1.ScimGroup) bool {
	if app.Spec.Scope.Type != identityv1alpha1.ScopeGroups {
		return true
	}
	return slices.ContainsFunc(app.Spec.Scope.Groups, func(name string) bool { return strings.EqualFold(name, group.Spec.DisplayName) })
}

// mappedRole is the app's name for an operator role; unmapped roles go as they are.
func mappedRole(app *identityv1alpha1.DownstreamApp, role string) string {
	for _, m := range app.Spec.RoleMapping {
		if m.Role == role {
			return m.AppRole
		}
	}
	return role
}

// desiredUserDocument is what the app should know of the user now, a member of the
// groups named (their displayNames, sorted). ok is false when there is nothing to
// deliver: the user was never delivered and is deleted or out of scope, or its
// entitlements are not computed yet.
func desiredUserDocument(app *identityv1alpha1.DownstreamApp, user *identityv1alpha1.ScimUser, groups []string) (doc connectors.UserDocument, ok bool) {
	delivered := appEntry(user.Status.Apps, app.Name) != nil
	doc = connectors.UserDocument{ID: user.Name, User: connectors.User{
		ID: user.Name, ExternalID: user.Spec.ExternalID, UserName: user.Spec.UserName, DisplayName: user.Spec.DisplayName,
	}}
	for _, e := range user.Spec.Emails {
		doc.User.Emails = append(doc.User.Emails, connectors.Email{Value: e.Value, Type: e.Type, Primary: e.Primary != nil && *e.Primary})
	}
	doc.User.Groups = groups
	switch {
	case deletedByIdP(user):
		doc.Event = connectors.EventDelete
		return doc, delivered
	case !inScope(app, groups):
		doc.Event = connectors.EventDeactivate
		return doc, delivered
	case !user.IsActive():
		doc.Event = connectors.EventDeactivate
		return doc, true
	case user.Status.Role == "":
		return doc, false // the user reconciler has not computed the entitlements yet
	}
	doc.Event = connectors.EventUpsert
	doc.User.Active = true
	doc.Entitlements = &connectors.Entitlements{Role: mappedRole(app, user.Status.Role), Workspace: user.Status.Workspace}
	if q := user.Status.StorageQuota; q != nil {
		doc.Entitlements.StorageQuota = &connectors.Quota{Bytes: q.Value(), Quantity: q.String()}
	}
	return doc, true
}

// desiredGroupDocument is what a group-syncing app should know of the group: its
// members are the app's ids of the members it already has.
func desiredGroupDocument(app *identityv1alpha1.DownstreamApp, group *identityv1alpha1.ScimGroup, remoteIDOf func(userID string) string) (doc connectors.GroupDocument, ok bool) {
	delivered := appEntry(group.Status.Apps, app.Name) != nil
	doc = connectors.GroupDocument{ID: group.Name, DisplayName: group.Spec.DisplayName, ExternalID: group.Spec.ExternalID}
	if deletedByIdP(group) || !groupInScope(app, group) {
		doc.Event = connectors.EventDelete
		return doc, delivered
	}
	doc.Event = connectors.EventUpsert
	for _, m := range group.Spec.Members {
		if m.Type == identityv1alpha1.MemberGroup {
			continue // nested groups are not provisioned
		}
		if id := remoteIDOf(m.Value); id != "" {
			doc.Members = append(doc.Members, id)
		}
	}
	slices.Sort(doc.Members)
	return doc, true
}
