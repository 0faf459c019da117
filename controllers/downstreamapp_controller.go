package controllers

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Reasons of a DownstreamApp's conditions.
const (
	ReasonTenantNotFound    = "TenantNotFound"
	ReasonConnectorMisses   = "ConnectorIncomplete"
	ReasonConnectorReady    = "ConnectorReady"
	ReasonAppDown           = "AppUnavailable"
	ReasonAllDelivered      = "AllDelivered"
	ReasonDeliveriesPending = "DeliveriesPending"
	ReasonDeliveriesRefused = "DeliveriesRefused"
)

// appStatusRefresh is how often an app's counts are refreshed while deliveries are
// under way; a settled app is looked at again only when something changes, or hourly.
const (
	appStatusRefresh = 5 * time.Second
	appStatusSettled = time.Hour
)

// DownstreamAppReconciler reports each app's delivery state (the counts come from the
// delivery controller) and, when an app is deleted, removes its entries from the
// identities' status.
type DownstreamAppReconciler struct {
	client.Client
	Recorder   recorder.EventRecorder
	Deliveries *DeliveryReconciler
}

// Reconcile reports the app's state.
func (r *DownstreamAppReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &identityv1alpha1.DownstreamApp{}
	if err := r.Get(ctx, req.NamespacedName, app); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, app)
	}
	if controllerutil.AddFinalizer(app, identityv1alpha1.FinalizerCleanup) {
		if err := r.Update(ctx, app); err != nil {
			return ctrl.Result{}, err
		}
	}
	was := *app.Status.DeepCopy()
	ready := r.readiness(ctx, app)
	counts := r.Deliveries.state.counts(req.NamespacedName)
	for state, n := range map[string]int32{"synced": counts.synced, "pending": counts.pending, "failed": counts.failed} {
		deliveryIdentities.WithLabelValues(req.String(), state).Set(float64(n))
	}

	app.Status.ObservedGeneration = app.Generation
	app.Status.Connector = app.ConnectorType()
	app.Status.Synced, app.Status.Pending, app.Status.Failed = ptr.To(counts.synced), ptr.To(counts.pending), ptr.To(counts.failed)
	app.Status.LastError = truncate(counts.lastError, 1024)
	if ready.Status == metav1.ConditionTrue && counts.down {
		ready = conditionFalse(identityv1alpha1.ConditionReady, ReasonAppDown, "the app does not answer: "+truncate(counts.lastError, 512))
	}
	delivered := conditionTrue(identityv1alpha1.ConditionDelivered, ReasonAllDelivered, fmt.Sprintf("%d identities synced", counts.synced))
	switch {
	case counts.failed > 0:
		delivered = conditionFalse(identityv1alpha1.ConditionDelivered, ReasonDeliveriesRefused,
			fmt.Sprintf("%d refused, %d pending, %d synced: kubectl get scimusers -o wide shows which", counts.failed, counts.pending, counts.synced))
	case counts.pending > 0:
		delivered = conditionFalse(identityv1alpha1.ConditionDelivered, ReasonDeliveriesPending,
			fmt.Sprintf("%d pending, %d synced", counts.pending, counts.synced))
	}
	setConditions(&app.Status.Conditions, app.Generation, ready, delivered)
	if err := patchStatusIfChanged(ctx, r.Client, app, was, app.Status); err != nil {
		return ctrl.Result{}, err
	}
	if counts.pending > 0 || ready.Status != metav1.ConditionTrue {
		return ctrl.Result{RequeueAfter: appStatusRefresh}, nil
	}
	return ctrl.Result{RequeueAfter: appStatusSettled}, nil
}

// readiness says whether the app can be delivered to: its tenant and Secret exist.
func (r *DownstreamAppReconciler) readiness(ctx context.Context, app *identityv1alpha1.DownstreamApp) condition {
	tenant := &identityv1alpha1.ScimTenant{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: app.Spec.TenantRef.Name}, tenant); err != nil {
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonTenantNotFound,
			fmt.Sprintf("ScimTenant %q does not exist in namespace %s", app.Spec.TenantRef.Name, app.Namespace))
	}
	if _, _, err := r.Deliveries.connectors.get(ctx, app); err != nil {
		return conditionFalse(identityv1alpha1.ConditionReady, ReasonConnectorMisses, err.Error())
	}
	return conditionTrue(identityv1alpha1.ConditionReady, ReasonConnectorReady, fmt.Sprintf("delivering to %s", app.ConnectorType()))
}

// finalize removes the app's entries from every identity's status (the app is gone,
// nothing is delivered to it), then releases it.
func (r *DownstreamAppReconciler) finalize(ctx context.Context, app *identityv1alpha1.DownstreamApp) error {
	if !controllerutil.ContainsFinalizer(app, identityv1alpha1.FinalizerCleanup) {
		return nil
	}
	users, err := identitiesOfTenant(ctx, r.Deliveries.informers, &identityv1alpha1.ScimUser{}, app.Namespace, app.Spec.TenantRef.Name)
	if err != nil {
		return err
	}
	groups, err := identitiesOfTenant(ctx, r.Deliveries.informers, &identityv1alpha1.ScimGroup{}, app.Namespace, app.Spec.TenantRef.Name)
	if err != nil {
		return err
	}
	known := append(users, groups...)
	for _, obj := range known {
		if appEntry(appsOf(obj), app.Name) != nil {
			if err := r.Deliveries.writeEntry(ctx, obj, app.Name, nil); err != nil {
				return err
			}
		}
	}
	key := types.NamespacedName{Namespace: app.Namespace, Name: app.Name}
	r.Deliveries.state.drop(key)
	r.Deliveries.connectors.forget(key)
	deliveryIdentities.DeletePartialMatch(prometheus.Labels{"app": key.String()})
	controllerutil.RemoveFinalizer(app, identityv1alpha1.FinalizerCleanup)
	return client.IgnoreNotFound(r.Update(ctx, app))
}

// SetupWithManager registers the reconciler.
func (r *DownstreamAppReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Deliveries == nil || r.Deliveries.state == nil {
		return fmt.Errorf("DownstreamAppReconciler needs a DeliveryReconciler set up first")
	}
	// Deliveries move an app's counts: the delivery controller asks for a refresh.
	refresh := make(chan event.GenericEvent, 256)
	r.Deliveries.state.notify = func(app types.NamespacedName) {
		select {
		case refresh <- event.GenericEvent{Object: &identityv1alpha1.DownstreamApp{ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: app.Name}}}:
		default: // a refresh is queued already; the periodic one follows anyway
		}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&identityv1alpha1.DownstreamApp{}).
		WatchesRawSource(source.Channel(refresh, &handler.EnqueueRequestForObject{})).
		Complete(r)
}
