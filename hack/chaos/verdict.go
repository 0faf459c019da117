package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/connectors"
)

// verdict is what the API server and the app hold once the operator has converged,
// against what the identity provider was told.
type verdict struct {
	// lost: a user a 2xx answer created or changed that is missing or different.
	lost int
	// duplicates: userNames held by more than one ScimUser, displayNames by more than
	// one ScimGroup.
	duplicates int
	// wrongAccess: an active user without its RoleBinding, or a deactivated or
	// deleted one with it.
	wrongAccess int
	// undelivered: a user whose final state the webhook app does not have.
	undelivered int
	// failing: users whose Ready condition is not True, and the app's failed count.
	failing int
	// examples of each problem, for the report.
	examples []string
}

func (v *verdict) bad(counter *int, format string, args ...any) {
	*counter++
	if len(v.examples) < 8 {
		v.examples = append(v.examples, fmt.Sprintf(format, args...))
	}
}

func (v *verdict) clean() bool {
	return v.lost+v.duplicates+v.wrongAccess+v.undelivered+v.failing == 0
}

// judge compares the cluster and the app with what the driver was told.
func judge(ctx context.Context, c client.Client, d *driver, r *receiver) (*verdict, error) {
	v := &verdict{}
	var users identityv1alpha1.ScimUserList
	if err := c.List(ctx, &users, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	byName := byUniqueName(v, "ScimUsers have userName", users.Items, func(u *identityv1alpha1.ScimUser) string { return u.Spec.UserName })
	var bindings rbacv1.RoleBindingList
	if err := c.List(ctx, &bindings, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	bindingOf := map[string]*rbacv1.RoleBinding{}
	for i := range bindings.Items {
		bindingOf[bindings.Items[i].Name] = &bindings.Items[i]
	}
	wants := snapshot(d, d.users)
	for _, w := range wants {
		if w.id == "" {
			continue // never created: the driver gave up on it, which the run reports
		}
		objs := byName[strings.ToLower(w.userName)]
		if w.deleted {
			if len(objs) > 0 {
				v.bad(&v.lost, "%s was deleted (204) but is still there", w.userName)
			}
		} else {
			checkUser(v, w, objs)
		}
		checkAccess(v, w, bindingOf["scim-user-"+w.id])
		checkDelivery(v, w, r)
	}
	if err := judgeGroups(ctx, c, v, d, wants, bindingOf); err != nil {
		return nil, err
	}
	var app identityv1alpha1.DownstreamApp
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: appName}, &app); err != nil {
		return nil, err
	}
	if app.Status.Failed != nil && *app.Status.Failed > 0 {
		v.bad(&v.failing, "the app has %d failed deliveries", *app.Status.Failed)
	}
	return v, nil
}

func checkUser(v *verdict, w want, objs []*identityv1alpha1.ScimUser) {
	if len(objs) == 0 {
		v.bad(&v.lost, "%s was created (201) but is missing", w.userName)
		return
	}
	u := objs[0]
	if u.Name != w.id || u.Spec.DisplayName != w.displayName || u.IsActive() != w.active {
		v.bad(&v.lost, "%s is (%s, %q, active %t), the identity provider was told (%s, %q, active %t)",
			w.userName, u.Name, u.Spec.DisplayName, u.IsActive(), w.id, w.displayName, w.active)
	}
	if !meta.IsStatusConditionTrue(u.Status.Conditions, identityv1alpha1.ConditionReady) {
		v.bad(&v.failing, "%s is not Ready: %v", w.userName, u.Status.Conditions)
	}
}

// byUniqueName maps the lower-cased value that must be unique to the objects holding
// it, and counts each value held more than once as a duplicate.
func byUniqueName[T any](v *verdict, what string, items []T, name func(*T) string) map[string][]*T {
	by := map[string][]*T{}
	for i := range items {
		key := strings.ToLower(name(&items[i]))
		by[key] = append(by[key], &items[i])
	}
	for key, objs := range by {
		if len(objs) > 1 {
			v.bad(&v.duplicates, "%d %s %s", len(objs), what, key)
		}
	}
	return by
}

// judgeGroups compares the ScimGroups and their team bindings with what the driver was told.
func judgeGroups(ctx context.Context, c client.Client, v *verdict, d *driver, users []want, bindingOf map[string]*rbacv1.RoleBinding) error {
	var groups identityv1alpha1.ScimGroupList
	if err := c.List(ctx, &groups, client.InNamespace(namespace)); err != nil {
		return err
	}
	byName := byUniqueName(v, "ScimGroups have displayName", groups.Items, func(g *identityv1alpha1.ScimGroup) string { return g.Spec.DisplayName })
	wants := snapshot(d, d.groups)
	for _, w := range wants {
		if w.id == "" {
			continue
		}
		objs := byName[strings.ToLower(w.displayName)]
		rb := bindingOf["scim-group-"+w.id]
		if w.deleted {
			if len(objs) > 0 {
				v.bad(&v.lost, "group %s was deleted (204) but is still there", w.displayName)
			}
			if rb != nil {
				v.bad(&v.wrongAccess, "deleted group %s keeps its RoleBinding", w.displayName)
			}
			continue
		}
		checkGroup(v, w, objs, users)
		if rb == nil || len(rb.Subjects) != 1 || rb.Subjects[0].Name != w.displayName {
			v.bad(&v.wrongAccess, "group %s has no team RoleBinding for its name", w.displayName)
		}
	}
	return nil
}

// checkGroup: the group exists under its id and name, names every member it was given
// that still exists (a deleted user may or may not stay listed), and is Ready.
func checkGroup(v *verdict, w wantGroup, objs []*identityv1alpha1.ScimGroup, users []want) {
	if len(objs) == 0 {
		v.bad(&v.lost, "group %s was created (201) but is missing", w.displayName)
		return
	}
	g := objs[0]
	if g.Name != w.id {
		v.bad(&v.lost, "group %s has id %s, the identity provider was told %s", w.displayName, g.Name, w.id)
	}
	listed := map[string]bool{}
	for _, m := range g.Spec.Members {
		listed[m.Value] = true
	}
	for _, i := range w.members {
		if u := users[i]; !u.deleted && !listed[u.id] {
			v.bad(&v.lost, "group %s lacks member %s, added with 2xx", w.displayName, u.userName)
		}
	}
	if !meta.IsStatusConditionTrue(g.Status.Conditions, identityv1alpha1.ConditionReady) {
		v.bad(&v.failing, "group %s is not Ready: %v", w.displayName, g.Status.Conditions)
	}
}

// checkAccess compares the user's RoleBinding in the workspace (nil: none) with its state.
func checkAccess(v *verdict, w want, rb *rbacv1.RoleBinding) {
	has := rb != nil
	switch {
	case w.active && !w.deleted && !has:
		v.bad(&v.wrongAccess, "%s is active but has no RoleBinding", w.userName)
	case w.active && !w.deleted && (len(rb.Subjects) != 1 || rb.Subjects[0].Name != w.userName):
		v.bad(&v.wrongAccess, "%s's RoleBinding names %v", w.userName, rb.Subjects)
	case (!w.active || w.deleted) && has:
		v.bad(&v.wrongAccess, "%s is deactivated or deleted (active %t, deleted %t) but keeps its RoleBinding, made %s",
			w.userName, w.active, w.deleted, rb.CreationTimestamp.Format(time.RFC3339))
	}
}

func checkDelivery(v *verdict, w want, r *receiver) {
	doc, ok := r.lastOf(w.id)
	switch {
	case !ok && w.deleted:
		// Created and deleted while the app could not be reached: it never had the
		// user, which is the final state.
	case !ok:
		v.bad(&v.undelivered, "the app never received %s", w.userName)
	case w.deleted && doc.Event != connectors.EventDelete:
		v.bad(&v.undelivered, "the app's last word on deleted %s is %s", w.userName, doc.Event)
	case !w.deleted && !w.active && doc.Event != connectors.EventDeactivate:
		v.bad(&v.undelivered, "the app's last word on deactivated %s is %s", w.userName, doc.Event)
	case !w.deleted && w.active && (doc.Event != connectors.EventUpsert || doc.User.DisplayName != w.displayName):
		v.bad(&v.undelivered, "the app has %s as %s %q, not upsert %q", w.userName, doc.Event, doc.User.DisplayName, w.displayName)
	}
}

// stableFor is how long a clean verdict must stay clean.
const stableFor = 5 * time.Second

// converge judges until the verdict is clean, and still clean a while later (a binding
// that comes back after its identity was deleted must show), or timeout passes, and
// returns the last verdict.
func converge(ctx context.Context, c client.Client, d *driver, r *receiver, timeout time.Duration) (*verdict, error) {
	start := time.Now()
	for {
		v, err := judge(ctx, c, d, r)
		if err == nil && v.clean() {
			time.Sleep(stableFor)
			if v, err = judge(ctx, c, d, r); err == nil && v.clean() {
				return v, nil
			}
		}
		if time.Since(start) > timeout {
			return v, err
		}
		time.Sleep(time.Second)
	}
}
