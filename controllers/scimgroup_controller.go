package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
)

// Reasons of a group's conditions.
const (
	ReasonMembersResolved   = "MembersResolved"
	ReasonMembersUnresolved = "MembersUnresolved"
)

// maxListedUnresolved bounds status.unresolvedMembers; the count is always exact.
const maxListedUnresolved = 100

// ScimGroupReconciler resolves each group's members and makes the group a team in
// the workspace: a RoleBinding whose Group subject is what the members' tokens carry.
type ScimGroupReconciler struct {
	client.Client
	// APIReader reads what the cache may not hold yet.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	// Members is the group membership index, which finds the groups naming a user.
	Members *index.Members
	// Bindings finds the RoleBindings made for each group, in any namespace.
	Bindings *index.Bindings
	// Grants says which ClusterRoles may be bound and where.
	Grants Grants

	// informers read a tenant's groups without copying them.
	informers index.InformerSource
}

// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimgroups,verbs=list;watch;update
// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimgroups/status,verbs=patch

// Reconcile brings one group's status up to date.
func (r *ScimGroupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	group := &identityv1alpha1.ScimGroup{}
	if err := r.Get(ctx, req.NamespacedName, group); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	tenant := &identityv1alpha1.ScimTenant{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: group.Namespace, Name: group.Spec.TenantRef.Name}, tenant); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		tenant = nil
	}
	if !group.DeletionTimestamp.IsZero() {
		var bindings []client.ObjectKey
		if tenant != nil {
			bindings = append(bindings, client.ObjectKey{Namespace: tenant.Spec.Workspace, Name: groupBindingName(group)})
		}
		return finalizeIdentity(ctx, r.Client, r.APIReader, r.Recorder, deletion{obj: group, owned: r.Bindings,
			tenant: tenant, apps: group.Status.Apps, bindings: bindings})
	}
	if tenant != nil && controllerutil.AddFinalizer(group, identityv1alpha1.FinalizerCleanup) {
		if err := r.Update(ctx, group); err != nil {
			return ctrl.Result{}, err
		}
	}
	was := *group.Status.DeepCopy()

	resolved, err := r.resolveMembers(ctx, group)
	if err != nil {
		return ctrl.Result{}, err
	}
	var ready condition
	var requeue time.Duration
	if tenant == nil {
		ready = conditionFalse(identityv1alpha1.ConditionReady, identityv1alpha1.ReasonTenantNotFound,
			fmt.Sprintf("ScimTenant %q does not exist", group.Spec.TenantRef.Name))
	} else if ready, requeue, err = r.applyTeam(ctx, tenant, group); err != nil {
		return ctrl.Result{}, err
	}
	setConditions(&group.Status.Conditions, group.Generation, resolved, ready)
	group.Status.ObservedGeneration = group.Generation
	return ctrl.Result{RequeueAfter: requeue}, patchStatusIfChanged(ctx, r.Client, group, was, group.Status)
}

// applyTeam binds the group's subject to its role's ClusterRole in the workspace.
// Unresolved members do not hold it back: they are normal while a provisioning
// cycle is under way, and the binding serves the members that exist.
func (r *ScimGroupReconciler) applyTeam(ctx context.Context, tenant *identityv1alpha1.ScimTenant, group *identityv1alpha1.ScimGroup) (condition, time.Duration, error) {
	role := tenant.Spec.DefaultRole
	if group.Spec.Role != nil && *group.Spec.Role != "" {
		role = *group.Spec.Role
	}
	provisioned := group.Status.Role == ""
	group.Status.Role = role
	name := group.Spec.DisplayName
	if tenant.Spec.GroupSubject == identityv1alpha1.GroupSubjectExternalID {
		name = group.Spec.ExternalID
	}
	subject := tenant.Spec.SubjectPrefix + name
	subjectErr := checkSubject(subject)
	if name == "" {
		subjectErr = fmt.Errorf("the group has no externalId, which the tenant's groupSubject names")
	}
	clusterRole, mapped := tenant.ClusterRoleFor(role)
	var want []binding
	var refused *refusal
	var err error
	if mapped && subjectErr == nil {
		refused, err = r.Grants.checkBinding(ctx, r.Client, tenant, clusterRole)
		if refused == nil && err == nil {
			want = append(want, binding{Namespace: tenant.Spec.Workspace, Name: groupBindingName(group), ClusterRole: clusterRole,
				Subject: rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: subject}})
		}
	}
	var done []string
	if err == nil {
		done, err = applyBindings(ctx, r.Client, identityLabels(identityv1alpha1.LabelGroup, group, tenant.Name), ownedBy(r.Bindings, group), want)
	}
	if provisioned {
		done = append([]string{"role " + role}, done...)
	}
	recordAccess(r.Recorder, group, provisioned, done)
	switch {
	case apierrors.IsNotFound(err):
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonApplyFailed,
			fmt.Sprintf("Workspace namespace %q does not exist", tenant.Spec.Workspace)), retryMissing, nil
	case err != nil && apierrors.IsConflict(err):
		return condition{}, 0, err
	case err != nil:
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonApplyFailed, err.Error()), retryMissing, nil
	case !mapped:
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonRoleNotMapped,
			fmt.Sprintf("Role %q is not one of ScimTenant %s's roles: no team binding", role, tenant.Name)), 0, nil
	case subjectErr != nil:
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonSubjectRefused, subjectErr.Error()+": no team binding"), 0, nil
	case refused != nil:
		return conditionFalse(identityv1alpha1.ConditionReady, refused.reason, refused.message+": no team binding"), 0, nil
	}
	return conditionTrue(identityv1alpha1.ConditionReady, ReasonBound,
		fmt.Sprintf("Group %q is bound to ClusterRole %s in %s", subject, clusterRole, tenant.Spec.Workspace)), 0, nil
}

func (r *ScimGroupReconciler) resolveMembers(ctx context.Context, group *identityv1alpha1.ScimGroup) (condition, error) {
	var unresolved []string
	count := int32(0)
	// Read into the same two objects: without a deep copy a read is a shallow copy of
	// the cached object, and a new one per member was a thousand users per reconcile
	// of a group of a thousand, all garbage at once.
	user, nested := &identityv1alpha1.ScimUser{}, &identityv1alpha1.ScimGroup{}
	for _, m := range group.Spec.Members {
		var obj client.Object = user
		if m.Type == identityv1alpha1.MemberGroup {
			obj = nested
		}
		err := r.Get(ctx, types.NamespacedName{Namespace: group.Namespace, Name: m.Value}, obj, client.UnsafeDisableDeepCopy)
		switch {
		case apierrors.IsNotFound(err):
			count++
			if len(unresolved) < maxListedUnresolved {
				unresolved = append(unresolved, m.Value)
			}
		case err != nil:
			return condition{}, err
		}
	}
	group.Status.MemberCount = ptr.To(int32(len(group.Spec.Members)))
	group.Status.UnresolvedMemberCount = ptr.To(count)
	group.Status.UnresolvedMembers = unresolved
	if count > 0 {
		return conditionFalse(identityv1alpha1.ConditionMembersResolved, ReasonMembersUnresolved,
			fmt.Sprintf("%d of %d members are no known user or group", count, len(group.Spec.Members))), nil
	}
	return conditionTrue(identityv1alpha1.ConditionMembersResolved, ReasonMembersResolved,
		fmt.Sprintf("All %d members resolved", len(group.Spec.Members))), nil
}

// SetupWithManager registers the reconciler and what it watches: a user that appears
// or disappears re-resolves the groups that name it, found through the member index.
func (r *ScimGroupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Members == nil || r.APIReader == nil || len(r.Grants.ClusterRoles) == 0 {
		return errors.New("ScimGroupReconciler needs the member index, an APIReader and the grantable ClusterRoles")
	}
	r.informers = mgr.GetCache()
	return ctrl.NewControllerManagedBy(mgr).
		For(&identityv1alpha1.ScimGroup{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, appsAcknowledgedDelete))).
		Watches(&identityv1alpha1.ScimTenant{}, onChange(r.groupsOfTenant),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Namespace{}, onChange(identitiesOfWorkspace(r.Client, r.groupsOfTenant)),
			builder.WithPredicates(workspaceAcceptanceChanged)).
		WatchesRawSource(indexChanges[reconcile.Request]{index: r.Bindings, keys: itself, name: "group RoleBinding changes"}).
		Watches(&identityv1alpha1.ScimUser{}, onChange(r.groupsOfMember),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Named("scimgroup").
		Complete(r)
}

func (r *ScimGroupReconciler) groupsOfMember(ctx context.Context, o client.Object) []reconcile.Request {
	user := o.(*identityv1alpha1.ScimUser)
	var reqs []reconcile.Request
	for _, g := range r.Members.GroupsOf(user.Namespace, user.Spec.TenantRef.Name, user.Name) {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: g.Namespace, Name: g.Name}})
	}
	return reqs
}

// groupBindingName is the name of the team's RoleBinding in the workspace.
func groupBindingName(group *identityv1alpha1.ScimGroup) string { return "scim-group-" + group.Name }

func (r *ScimGroupReconciler) groupsOfTenant(ctx context.Context, o client.Object) []reconcile.Request {
	return requestsOfTenant(ctx, r.informers, &identityv1alpha1.ScimGroup{}, o)
}
