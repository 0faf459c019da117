package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/entitlements"
	"github.com/scim-operator/scim-operator/internal/index"
)

// Reasons of a user's conditions.
const (
	ReasonDeactivated     = "Deactivated"
	ReasonActive          = "Active"
	ReasonRoleNotMapped   = "RoleNotMapped"
	ReasonEntitlementsSet = "EntitlementsRecorded"
)

// ScimUserReconciler records each user's effective role, workspace and storage quota.
type ScimUserReconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	// MaxConcurrentReconciles bounds the fan-out after a tenant change.
	MaxConcurrentReconciles int
}

// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimusers,verbs=get;list;watch
// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimusers/status,verbs=get;update;patch

// Reconcile brings one user's status up to date.
func (r *ScimUserReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	user := &identityv1alpha1.ScimUser{}
	if err := r.Get(ctx, req.NamespacedName, user); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := user.DeepCopy()

	ready, err := r.recordEntitlements(ctx, user)
	if err != nil {
		return ctrl.Result{}, err
	}
	setConditions(&user.Status.Conditions, user.Generation, suspension(user), ready)
	user.Status.ObservedGeneration = user.Generation
	return ctrl.Result{}, patchStatusIfChanged(ctx, r.Client, before, user, func(u *identityv1alpha1.ScimUser) any { return u.Status })
}

func (r *ScimUserReconciler) recordEntitlements(ctx context.Context, user *identityv1alpha1.ScimUser) (condition, error) {
	tenant := &identityv1alpha1.ScimTenant{}
	key := types.NamespacedName{Namespace: user.Namespace, Name: user.Spec.TenantRef.Name}
	if err := r.Get(ctx, key, tenant); err != nil {
		if apierrors.IsNotFound(err) {
			return conditionFalse(identityv1alpha1.ConditionReady, identityv1alpha1.ReasonTenantNotFound,
				fmt.Sprintf("ScimTenant %q does not exist", key.Name)), nil
		}
		return condition{}, err
	}
	e := entitlements.ForUser(tenant, user)
	if user.Status.Role != e.Role {
		r.Recorder.Eventf(user, nil, corev1.EventTypeNormal, ReasonEntitlementsSet, "AssignRole", "Assigned role %s", e.Role)
	}
	user.Status.Role = e.Role
	user.Status.Workspace = e.Workspace
	user.Status.StorageQuota = e.StorageQuota
	if _, ok := tenant.ClusterRoleFor(e.Role); !ok {
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonRoleNotMapped,
			fmt.Sprintf("Role %q is not one of ScimTenant %s's roles", e.Role, tenant.Name)), nil
	}
	return conditionTrue(identityv1alpha1.ConditionReady, ReasonEntitlementsSet,
		fmt.Sprintf("Role %s in workspace %s recorded", e.Role, e.Workspace)), nil
}

func suspension(user *identityv1alpha1.ScimUser) condition {
	if user.IsActive() {
		return conditionFalse(identityv1alpha1.ConditionSuspended, ReasonActive, "The identity provider has the user active")
	}
	return conditionTrue(identityv1alpha1.ConditionSuspended, ReasonDeactivated, "The identity provider deactivated the user")
}

// SetupWithManager registers the reconciler and what it watches.
func (r *ScimUserReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&identityv1alpha1.ScimUser{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&identityv1alpha1.ScimTenant{}, handler.EnqueueRequestsFromMapFunc(r.usersOfTenant),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Named("scimuser").
		Complete(r)
}

func (r *ScimUserReconciler) usersOfTenant(ctx context.Context, o client.Object) []reconcile.Request {
	users := &identityv1alpha1.ScimUserList{}
	if err := r.List(ctx, users, client.InNamespace(o.GetNamespace()), client.MatchingFields{index.UserTenant: o.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Failed to list ScimUsers of tenant")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(users.Items))
	for i := range users.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&users.Items[i])})
	}
	return reqs
}
