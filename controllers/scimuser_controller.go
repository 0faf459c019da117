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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/entitlements"
	"github.com/scim-operator/scim-operator/internal/index"
)

// Reasons of a user's conditions.
const (
	ReasonDeactivated    = "Deactivated"
	ReasonDeleted        = "Deleted"
	ReasonActive         = "Active"
	ReasonRoleNotMapped  = "RoleNotMapped"
	ReasonSubjectRefused = "SubjectRefused"
	ReasonApplyFailed    = "ApplyFailed"
	ReasonBound          = "Bound"
	ReasonAccessChanged  = "AccessChanged"
	// ReasonProvisioned is the first reconcile's Event: the creation and what it gave.
	ReasonProvisioned = "Provisioned"
)

// retryMissing is how soon a reconcile that found a namespace missing tries again:
// namespaces are not watched.
const retryMissing = 30 * time.Second

// ScimUserReconciler turns each user into access: its effective role, workspace and
// storage quota in status, a RoleBinding in the workspace, and (when the tenant
// enforces quotas) a namespace of its own with a ResourceQuota.
type ScimUserReconciler struct {
	client.Client
	// APIReader reads what the cache may not hold yet.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	// Grants says which ClusterRoles may be bound and where.
	Grants Grants
	// Bindings finds the RoleBindings made for each user, in any namespace.
	Bindings *index.Bindings
	// MaxConcurrentReconciles bounds the fan-out after a tenant change.
	MaxConcurrentReconciles int

	// informers read a tenant's users without copying them.
	informers index.InformerSource
}

// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimusers,verbs=list;watch;update
// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimusers/status,verbs=patch

// Reconcile brings one user's access and status up to date.
func (r *ScimUserReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	user := &identityv1alpha1.ScimUser{}
	if err := r.Get(ctx, req.NamespacedName, user); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	tenant := &identityv1alpha1.ScimTenant{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: user.Namespace, Name: user.Spec.TenantRef.Name}, tenant); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		tenant = nil
	}
	if !user.DeletionTimestamp.IsZero() {
		return finalizeIdentity(ctx, r.Client, r.APIReader, r.Recorder, deletion{obj: user, owned: r.Bindings,
			tenant: tenant, apps: user.Status.Apps, bindings: userBindingNames(tenant, user)})
	}
	if tenant == nil {
		// Identities outlive configuration: without its tenant a user keeps what it has.
		was := *user.Status.DeepCopy()
		setConditions(&user.Status.Conditions, user.Generation, suspension(user), conditionFalse(identityv1alpha1.ConditionReady,
			identityv1alpha1.ReasonTenantNotFound, fmt.Sprintf("ScimTenant %q does not exist", user.Spec.TenantRef.Name)))
		user.Status.ObservedGeneration = user.Generation
		return ctrl.Result{}, patchStatusIfChanged(ctx, r.Client, user, was, user.Status)
	}
	if controllerutil.AddFinalizer(user, identityv1alpha1.FinalizerCleanup) {
		if err := r.Update(ctx, user); err != nil {
			return ctrl.Result{}, err
		}
	}
	was := *user.Status.DeepCopy()
	ready, requeue, err := r.applyAccess(ctx, tenant, user)
	if err != nil {
		return ctrl.Result{}, err
	}
	setConditions(&user.Status.Conditions, user.Generation, suspension(user), ready)
	user.Status.ObservedGeneration = user.Generation
	return ctrl.Result{RequeueAfter: requeue}, patchStatusIfChanged(ctx, r.Client, user, was, user.Status)
}

// applyAccess records the user's entitlements and makes its bindings and quota
// namespace match them.
func (r *ScimUserReconciler) applyAccess(ctx context.Context, tenant *identityv1alpha1.ScimTenant, user *identityv1alpha1.ScimUser) (condition, time.Duration, error) {
	e := entitlements.ForUser(tenant, user)
	provisioned := user.Status.Role == ""
	var actions []string
	if user.Status.Role != e.Role {
		actions = append(actions, "assigned role "+e.Role)
	}
	user.Status.Role = e.Role
	user.Status.Workspace = e.Workspace
	user.Status.StorageQuota = e.StorageQuota

	labels := identityLabels(identityv1alpha1.LabelUser, user, tenant.Name)
	subject := tenant.Spec.SubjectPrefix + user.Spec.UserName
	subjectErr := checkSubject(subject)
	clusterRole, mapped := tenant.ClusterRoleFor(e.Role)
	active := hasAccess(user)

	var want []binding
	var refused *refusal
	var applyErr error
	if active && mapped && subjectErr == nil {
		refused, applyErr = r.Grants.checkBinding(ctx, r.Client, tenant, clusterRole)
		if refused == nil && applyErr == nil {
			want = append(want, binding{Namespace: e.Workspace, Name: userBindingName(user), ClusterRole: clusterRole,
				Subject: rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: subject}})
		}
	}
	if applyErr == nil && tenant.Spec.StorageQuotaPolicy == identityv1alpha1.StorageQuotaEnforce && e.StorageQuota != nil {
		ns := QuotaNamespaceName(user)
		done, err := ensureQuotaNamespace(ctx, r.Client, labels, ns, *e.StorageQuota)
		actions = append(actions, done...)
		applyErr = err
		if active && subjectErr == nil {
			// The quota namespace is the user's own, made by the operator: only the
			// ClusterRole limit applies.
			if denied := r.Grants.checkClusterRole(quotaNamespaceClusterRole); denied != nil {
				refused = denied
			} else {
				want = append(want, binding{Namespace: ns, Name: userBindingName(user), ClusterRole: quotaNamespaceClusterRole,
					Subject: rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: subject}})
			}
		}
	}
	if applyErr == nil {
		done, err := applyBindings(ctx, r.Client, labels, ownedBy(r.Bindings, user), want)
		actions = append(actions, done...)
		applyErr = err
	}
	// One Event per reconcile that changed something: Events are API writes too.
	recordAccess(r.Recorder, user, provisioned, actions)
	switch {
	case apierrors.IsNotFound(applyErr):
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonApplyFailed,
			fmt.Sprintf("Workspace namespace %q does not exist", e.Workspace)), retryMissing, nil
	case applyErr != nil && apierrors.IsConflict(applyErr):
		return condition{}, 0, applyErr
	case applyErr != nil:
		r.Recorder.Eventf(user, nil, corev1.EventTypeWarning, ReasonApplyFailed, "Apply", "%v", applyErr)
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonApplyFailed, applyErr.Error()), retryMissing, nil
	case !mapped:
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonRoleNotMapped,
			fmt.Sprintf("Role %q is not one of ScimTenant %s's roles: no access granted", e.Role, tenant.Name)), 0, nil
	case subjectErr != nil:
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonSubjectRefused, subjectErr.Error()+": no access granted"), 0, nil
	case refused != nil:
		// Only an administrator's change (which raises an event) can lift a refusal.
		return conditionFalse(identityv1alpha1.ConditionReady, refused.reason, refused.message), 0, nil
	case !active:
		return conditionTrue(identityv1alpha1.ConditionReady, ReasonDeactivated,
			fmt.Sprintf("Suspended: no bindings; role %s kept for a reactivation", e.Role)), 0, nil
	}
	return conditionTrue(identityv1alpha1.ConditionReady, ReasonBound,
		fmt.Sprintf("%q is bound to ClusterRole %s in %s", subject, clusterRole, e.Workspace)), 0, nil
}

// userBindingName is the name of the user's RoleBindings, wherever they are.
func userBindingName(user *identityv1alpha1.ScimUser) string { return "scim-user-" + user.Name }

// userBindingNames are where the user's RoleBindings can be: the workspace it was
// given (and the tenant's current one) and its quota namespace.
func userBindingNames(tenant *identityv1alpha1.ScimTenant, user *identityv1alpha1.ScimUser) []client.ObjectKey {
	name := userBindingName(user)
	keys := []client.ObjectKey{{Namespace: QuotaNamespaceName(user), Name: name}}
	if user.Status.Workspace != "" {
		keys = append(keys, client.ObjectKey{Namespace: user.Status.Workspace, Name: name})
	}
	if tenant != nil && tenant.Spec.Workspace != user.Status.Workspace {
		keys = append(keys, client.ObjectKey{Namespace: tenant.Spec.Workspace, Name: name})
	}
	return keys
}

// deletedByIdP: the identity provider deleted the user or group, whether the object is
// going (onDelete: Delete) or kept (Retain).
func deletedByIdP(obj client.Object) bool {
	_, retained := obj.GetAnnotations()[identityv1alpha1.AnnotationDeletedAt]
	return retained || !obj.GetDeletionTimestamp().IsZero()
}

// hasAccess: an active user that the identity provider has not deleted.
func hasAccess(user *identityv1alpha1.ScimUser) bool {
	return user.IsActive() && !deletedByIdP(user)
}

func suspension(user *identityv1alpha1.ScimUser) condition {
	if deletedByIdP(user) {
		return conditionTrue(identityv1alpha1.ConditionSuspended, ReasonDeleted, "The identity provider deleted the user")
	}
	if user.IsActive() {
		return conditionFalse(identityv1alpha1.ConditionSuspended, ReasonActive, "The identity provider has the user active")
	}
	return conditionTrue(identityv1alpha1.ConditionSuspended, ReasonDeactivated, "The identity provider deactivated the user")
}

// SetupWithManager registers the reconciler and what it watches: its users, their
// tenant, the namespaces that accept tenants, and the RoleBindings it made (so that a
// deleted binding comes back). Group membership is not watched: a team's access is
// its own RoleBinding, which the group reconciler keeps.
func (r *ScimUserReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.APIReader == nil || len(r.Grants.ClusterRoles) == 0 {
		return errors.New("ScimUserReconciler needs an APIReader and the grantable ClusterRoles")
	}
	r.informers = mgr.GetCache()
	return ctrl.NewControllerManagedBy(mgr).
		For(&identityv1alpha1.ScimUser{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, appsAcknowledgedDelete))).
		Watches(&identityv1alpha1.ScimTenant{}, onChange(r.usersOfTenant),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Namespace{}, onChange(identitiesOfWorkspace(r.Client, r.usersOfTenant)),
			builder.WithPredicates(workspaceAcceptanceChanged)).
		WatchesRawSource(indexChanges[reconcile.Request]{index: r.Bindings, keys: itself, name: "user RoleBinding changes"}).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Named("scimuser").
		Complete(r)
}

func (r *ScimUserReconciler) usersOfTenant(ctx context.Context, o client.Object) []reconcile.Request {
	return requestsOfTenant(ctx, r.informers, &identityv1alpha1.ScimUser{}, o)
}
