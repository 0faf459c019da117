package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

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

// ScimGroupReconciler resolves each group's members and records what it found.
type ScimGroupReconciler struct {
	client.Client
}

// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimgroups,verbs=get;list;watch
// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimgroups/status,verbs=get;update;patch

// Reconcile brings one group's status up to date.
func (r *ScimGroupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	group := &identityv1alpha1.ScimGroup{}
	if err := r.Get(ctx, req.NamespacedName, group); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := group.DeepCopy()

	resolved, err := r.resolveMembers(ctx, group)
	if err != nil {
		return ctrl.Result{}, err
	}
	ready := resolved
	ready.Type = identityv1alpha1.ConditionReady
	if tenantErr := r.Get(ctx, types.NamespacedName{Namespace: group.Namespace, Name: group.Spec.TenantRef.Name}, &identityv1alpha1.ScimTenant{}); tenantErr != nil {
		if !apierrors.IsNotFound(tenantErr) {
			return ctrl.Result{}, tenantErr
		}
		ready = conditionFalse(identityv1alpha1.ConditionReady, identityv1alpha1.ReasonTenantNotFound,
			fmt.Sprintf("ScimTenant %q does not exist", group.Spec.TenantRef.Name))
	} else if resolved.Status == metav1.ConditionFalse {
		// Unresolved members are normal while a provisioning cycle is under way: the
		// group is still applied for the members that exist.
		ready = conditionTrue(identityv1alpha1.ConditionReady, ReasonMembersUnresolved, resolved.Message)
	}
	setConditions(&group.Status.Conditions, group.Generation, resolved, ready)
	group.Status.ObservedGeneration = group.Generation
	return ctrl.Result{}, patchStatusIfChanged(ctx, r.Client, before, group, func(g *identityv1alpha1.ScimGroup) any { return g.Status })
}

func (r *ScimGroupReconciler) resolveMembers(ctx context.Context, group *identityv1alpha1.ScimGroup) (condition, error) {
	var unresolved []string
	count := int32(0)
	for _, m := range group.Spec.Members {
		var obj client.Object = &identityv1alpha1.ScimUser{}
		if m.Type == identityv1alpha1.MemberGroup {
			obj = &identityv1alpha1.ScimGroup{}
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
	return ctrl.NewControllerManagedBy(mgr).
		For(&identityv1alpha1.ScimGroup{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&identityv1alpha1.ScimUser{}, handler.EnqueueRequestsFromMapFunc(r.groupsOfMember),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Named("scimgroup").
		Complete(r)
}

func (r *ScimGroupReconciler) groupsOfMember(ctx context.Context, o client.Object) []reconcile.Request {
	user := o.(*identityv1alpha1.ScimUser)
	groups := &identityv1alpha1.ScimGroupList{}
	if err := r.List(ctx, groups, client.InNamespace(user.Namespace),
		client.MatchingFields{index.GroupMember: index.TenantKey(user.Spec.TenantRef.Name, user.Name)}, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Failed to list ScimGroups of member")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(groups.Items))
	for i := range groups.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&groups.Items[i])})
	}
	return reqs
}
