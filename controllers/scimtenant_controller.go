package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/internal/token"
)

// Reasons of the tenant's conditions; Events use the same words.
const (
	ReasonTokenSecretNotFound = "TokenSecretNotFound"
	ReasonTokenSecretInvalid  = "TokenSecretInvalid"
	ReasonTokenExpired        = "TokenExpired"
	ReasonTokenValid          = "TokenValid"
	ReasonWorkspaceNotFound   = "WorkspaceNotFound"
	ReasonClusterRoleNotFound = "ClusterRoleNotFound"
	ReasonTenantDisabled      = "Disabled"
	ReasonTenantPaused        = "Paused"
	ReasonTokenSecretLabelled = "TokenSecretLabelled"
)

// countDelay coalesces the count updates that a burst of provisioning causes into
// one status write per tenant.
const countDelay = 5 * time.Second

// missingSecretPoll is how often a tenant whose token Secret does not exist looks again.
const missingSecretPoll = 5 * time.Second

// ScimTenantReconciler checks a tenant's configuration and reports its SCIM URL,
// token validity and identity counts.
type ScimTenantReconciler struct {
	client.Client
	// APIReader reads the referenced token Secret, which the label-filtered cache
	// does not hold until it is labelled.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	// ExternalURL is the manager's default base URL for tenant URLs.
	ExternalURL string
	// Users and Groups count each tenant's identities.
	Users, Groups *index.Counts
	// Grants says which ClusterRoles may be bound and where.
	Grants Grants
}

// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimtenants,verbs=list;watch
// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimtenants/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one tenant's status up to date.
func (r *ScimTenantReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	tenant := &identityv1alpha1.ScimTenant{}
	if err := r.Get(ctx, req.NamespacedName, tenant); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	was := *tenant.Status.DeepCopy()

	tenantURL, err := tenant.URL(r.ExternalURL)
	if err != nil {
		return ctrl.Result{}, err
	}
	tenant.Status.TenantURL = tenantURL

	tokenCond, nextExpiry, err := r.checkTokens(ctx, tenant)
	if err != nil {
		return ctrl.Result{}, err
	}
	configCond, err := r.checkConfiguration(ctx, tenant)
	if err != nil {
		return ctrl.Result{}, err
	}
	tenant.Status.Users = ptr.To(int32(r.Users.Of(tenant.Namespace, tenant.Name)))
	tenant.Status.Groups = ptr.To(int32(r.Groups.Of(tenant.Namespace, tenant.Name)))

	ready := summarizeTenant(tenant, tokenCond, configCond)
	setConditions(&tenant.Status.Conditions, tenant.Generation, tokenCond, ready)
	tenant.Status.ObservedGeneration = tenant.Generation
	if ready.Status != metav1.ConditionTrue && !conditionUnchanged(was.Conditions, ready) {
		r.Recorder.Eventf(tenant, nil, corev1.EventTypeWarning, ready.Reason, "Reconcile", ready.Message)
	}
	if err := patchStatusIfChanged(ctx, r.Client, tenant, was, tenant.Status); err != nil {
		return ctrl.Result{}, err
	}

	// The cache holds only labelled Secrets, so the creation of a still unlabelled
	// referenced Secret raises no event: look again until it exists.
	if tokenCond.Reason == ReasonTokenSecretNotFound {
		return ctrl.Result{RequeueAfter: missingSecretPoll}, nil
	}
	// Token expiry is a point in time, not an event: wake up when the next one passes.
	if !nextExpiry.IsZero() {
		return ctrl.Result{RequeueAfter: time.Until(nextExpiry) + time.Second}, nil
	}
	return ctrl.Result{}, nil
}

// checkTokens finds the tenant's usable tokens and the time the next one expires.
func (r *ScimTenantReconciler) checkTokens(ctx context.Context, t *identityv1alpha1.ScimTenant) (condition, time.Time, error) {
	if err := r.labelReferencedSecret(ctx, t); err != nil {
		if apierrors.IsNotFound(err) {
			return conditionFalse(identityv1alpha1.ConditionTokenValid, ReasonTokenSecretNotFound,
				fmt.Sprintf("Secret %q named by spec.tokenSecretRef does not exist", t.Spec.TokenSecretRef.Name)), time.Time{}, nil
		}
		return condition{}, time.Time{}, err
	}
	secrets := &corev1.SecretList{}
	if err := r.List(ctx, secrets, client.InNamespace(t.Namespace), client.MatchingLabels{identityv1alpha1.LabelTenant: t.Name}); err != nil {
		return condition{}, time.Time{}, err
	}
	now := time.Now()
	var valid, problems []string
	var nextExpiry time.Time
	sort.Slice(secrets.Items, func(i, j int) bool { return secrets.Items[i].Name < secrets.Items[j].Name })
	for i := range secrets.Items {
		cred, err := token.FromSecret(&secrets.Items[i])
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("Secret %q: %v", secrets.Items[i].Name, err))
		case cred.Expired(now):
			problems = append(problems, fmt.Sprintf("Secret %q: token expired at %s", cred.SecretName, cred.ExpiresAt().Format(time.RFC3339)))
		default:
			valid = append(valid, cred.SecretName)
			if e := cred.ExpiresAt(); !e.IsZero() && (nextExpiry.IsZero() || e.Before(nextExpiry)) {
				nextExpiry = e
			}
		}
	}
	if len(valid) == 0 {
		reason := ReasonTokenSecretInvalid
		if len(problems) > 0 && strings.Contains(problems[0], "expired") {
			reason = ReasonTokenExpired
		}
		return conditionFalse(identityv1alpha1.ConditionTokenValid, reason, "No usable token: "+strings.Join(problems, "; ")), nextExpiry, nil
	}
	msg := fmt.Sprintf("%d usable token(s) in Secret(s) %s", len(valid), strings.Join(valid, ", "))
	if len(problems) > 0 {
		msg += "; ignored: " + strings.Join(problems, "; ")
	}
	return conditionTrue(identityv1alpha1.ConditionTokenValid, ReasonTokenValid, msg), nextExpiry, nil
}

// labelReferencedSecret labels the Secret named by spec.tokenSecretRef for the tenant,
// because the SCIM server only sees (caches) labelled Secrets.
func (r *ScimTenantReconciler) labelReferencedSecret(ctx context.Context, t *identityv1alpha1.ScimTenant) error {
	key := types.NamespacedName{Namespace: t.Namespace, Name: t.Spec.TokenSecretRef.Name}
	s := &corev1.Secret{}
	// A Secret in the cache is labelled already; only an unlabelled or missing one
	// costs a read from the API server.
	err := r.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, key, s)
	}
	if err != nil {
		return err
	}
	switch owner, labelled := s.Labels[identityv1alpha1.LabelTenant]; {
	case labelled && owner == t.Name:
		return nil
	case labelled:
		// Another tenant's Secret: taking it over would open that tenant's token here.
		return nil
	}
	before := s.DeepCopy()
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[identityv1alpha1.LabelTenant] = t.Name
	if err := r.Patch(ctx, s, client.MergeFrom(before)); err != nil {
		return err
	}
	ctrl.LoggerFrom(ctx).Info("Labelled token Secret for its tenant", "secret", klog.KObj(s))
	r.Recorder.Eventf(t, s, corev1.EventTypeNormal, ReasonTokenSecretLabelled, "Label",
		"Labelled Secret %s with %s=%s so that the SCIM server accepts its token", s.Name, identityv1alpha1.LabelTenant, t.Name)
	return nil
}

// checkConfiguration verifies that the workspace and every mapped ClusterRole exist,
// and that the operator may grant them there.
func (r *ScimTenantReconciler) checkConfiguration(ctx context.Context, t *identityv1alpha1.ScimTenant) (condition, error) {
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, types.NamespacedName{Name: t.Spec.Workspace}, ns); err != nil {
		if !apierrors.IsNotFound(err) {
			return condition{}, err
		}
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonWorkspaceNotFound,
			fmt.Sprintf("Workspace namespace %q does not exist", t.Spec.Workspace)), nil
	}
	var missing []string
	for _, role := range t.Spec.Roles {
		if err := r.Get(ctx, types.NamespacedName{Name: role.ClusterRole}, &rbacv1.ClusterRole{}); err != nil {
			if !apierrors.IsNotFound(err) {
				return condition{}, err
			}
			missing = append(missing, fmt.Sprintf("%s (role %s)", role.ClusterRole, role.Name))
		}
	}
	if len(missing) > 0 {
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonClusterRoleNotFound,
			"ClusterRole(s) not found: "+strings.Join(missing, ", ")), nil
	}
	if refused := r.Grants.checkTenant(t, ns); refused != nil {
		return conditionFalse(identityv1alpha1.ConditionReady, refused.reason, refused.message), nil
	}
	return conditionTrue(identityv1alpha1.ConditionReady, identityv1alpha1.ReasonReconciled, "Workspace and roles exist"), nil
}

// summarizeTenant turns the step outcomes into the Ready condition.
func summarizeTenant(t *identityv1alpha1.ScimTenant, tokenCond, configCond condition) condition {
	switch {
	case configCond.Status != metav1.ConditionTrue:
		return configCond
	case tokenCond.Status != metav1.ConditionTrue:
		return conditionFalse(identityv1alpha1.ConditionReady, tokenCond.Reason, tokenCond.Message)
	case !t.IsEnabled():
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonTenantDisabled, "The SCIM endpoint is disabled (spec.enabled is false)")
	case t.IsPaused():
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonTenantPaused, "The SCIM endpoint is paused and answers 503 (spec.paused is true)")
	}
	return conditionTrue(identityv1alpha1.ConditionReady, identityv1alpha1.ReasonReconciled, "Workspace, roles and token are in place; SCIM URL "+t.Status.TenantURL)
}

func conditionUnchanged(conds []metav1.Condition, c condition) bool {
	for _, old := range conds {
		if old.Type == c.Type {
			return old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message
		}
	}
	return false
}

// SetupWithManager registers the reconciler and what it watches.
func (r *ScimTenantReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.APIReader == nil || r.Users == nil || r.Groups == nil || len(r.Grants.ClusterRoles) == 0 {
		return errors.New("ScimTenantReconciler needs an APIReader, the identity counts and the grantable ClusterRoles")
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&identityv1alpha1.ScimTenant{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.tenantsOfSecret)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.tenantsWithWorkspace)).
		Watches(&rbacv1.ClusterRole{}, handler.EnqueueRequestsFromMapFunc(r.tenantsMappingClusterRole),
			builder.WithPredicates(createOrDelete())).
		WatchesRawSource(indexChanges[reconcile.Request]{index: r.Users, keys: itself, delay: countDelay, name: "user counts"}).
		WatchesRawSource(indexChanges[reconcile.Request]{index: r.Groups, keys: itself, delay: countDelay, name: "group counts"}).
		Named("scimtenant").
		Complete(r)
}

func (r *ScimTenantReconciler) tenantsOfSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	if name, ok := o.GetLabels()[identityv1alpha1.LabelTenant]; ok {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}})
	}
	return reqs
}

func (r *ScimTenantReconciler) tenantsWithWorkspace(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requestsForTenants(ctx, func(t *identityv1alpha1.ScimTenant) bool { return t.Spec.Workspace == o.GetName() })
}

func (r *ScimTenantReconciler) tenantsMappingClusterRole(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requestsForTenants(ctx, func(t *identityv1alpha1.ScimTenant) bool {
		for _, role := range t.Spec.Roles {
			if role.ClusterRole == o.GetName() {
				return true
			}
		}
		return false
	})
}

func (r *ScimTenantReconciler) requestsForTenants(ctx context.Context, match func(*identityv1alpha1.ScimTenant) bool) []reconcile.Request {
	tenants, err := tenantsWhere(ctx, r.Client, match)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Failed to list ScimTenants")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(tenants))
	for i := range tenants {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&tenants[i])})
	}
	return reqs
}

// tenantsWhere scans the tenants, which are few: one per identity provider connection.
func tenantsWhere(ctx context.Context, c client.Reader, match func(*identityv1alpha1.ScimTenant) bool) ([]identityv1alpha1.ScimTenant, error) {
	tenants := &identityv1alpha1.ScimTenantList{}
	if err := c.List(ctx, tenants, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	var out []identityv1alpha1.ScimTenant
	for i := range tenants.Items {
		if match(&tenants.Items[i]) {
			out = append(out, tenants.Items[i])
		}
	}
	return out, nil
}

func createOrDelete() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}
