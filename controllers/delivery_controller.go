package controllers

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/connectors"
	"github.com/scim-operator/scim-operator/internal/index"
)

// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=downstreamapps,verbs=list;watch;update
// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=downstreamapps/status,verbs=patch
// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimusers/status;scimgroups/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Kinds of identity a delivery is about.
const (
	kindUser  = "User"
	kindGroup = "Group"
)

// deliveryNamespace seeds delivery ids: one per app and change, the same on retry.
var deliveryNamespace = uuid.MustParse("0b7f3c52-9c1e-4a4f-8d7e-52f0e6a1c3b9")

// DeliveryReconciler keeps every DownstreamApp in step with the identities in its scope.
// Its unit of work is one identity in one app. It compares the document the identity
// should have with the hash of what the app last acknowledged (status.apps) and delivers
// the difference: level-triggered, so nothing is lost when the operator or the app
// restarts. Deliveries to one app never wait on another app.
type DeliveryReconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	// APIReader reads connector Secrets.
	APIReader client.Reader
	// Members is the group membership index: a user's document lists its groups, and
	// a membership change redelivers the members it concerns.
	Members *index.Members
	// MaxConcurrentReconciles bounds the deliveries in flight across all apps.
	MaxConcurrentReconciles int

	state      *deliveryState
	connectors *connectorCache
	// informers read an app's identities without copying them.
	informers index.InformerSource
}

// Reconcile delivers one identity to one app if the app lacks its current state.
func (r *DeliveryReconciler) Reconcile(ctx context.Context, key deliveryKey) (ctrl.Result, error) {
	app := &identityv1alpha1.DownstreamApp{}
	if err := r.Get(ctx, key.app(), app); err != nil || !app.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if key.Kind == kindGroup {
		return r.reconcileGroup(ctx, key, app)
	}
	user := &identityv1alpha1.ScimUser{}
	if found, err := r.getIdentity(ctx, key, user); !found {
		return ctrl.Result{}, err
	}
	if user.Spec.TenantRef.Name != app.Spec.TenantRef.Name {
		return ctrl.Result{}, nil
	}
	entry := appEntry(user.Status.Apps, app.Name)
	doc, ok := desiredUserDocument(app, user, r.groupNamesOf(user))
	if !ok {
		return ctrl.Result{}, nil
	}
	hash := connectors.Hash(doc)
	// The same id for every retry of this change, and a new one for the next change
	// even when it returns to an earlier state (deactivated, then active again).
	previous := ""
	if entry != nil {
		previous = entry.Hash
	}
	doc.DeliveryID = uuid.NewSHA1(deliveryNamespace, []byte(string(app.UID)+"/"+previous+"/"+hash)).String()
	deliver := func(ctx context.Context, conn connectors.Connector, remoteID string) (string, error) {
		return conn.DeliverUser(ctx, doc, remoteID)
	}
	return r.sync(ctx, key, app, user, entry, hash, doc.Event, deliver)
}

// groupNamesOf lists the displayNames of the user's groups, sorted; nil for none, so
// that the document (and its hash) of a user in no group stays what it was.
func (r *DeliveryReconciler) groupNamesOf(user *identityv1alpha1.ScimUser) []string {
	var names []string
	for _, g := range r.Members.GroupsOf(user.Namespace, user.Spec.TenantRef.Name, user.Name) {
		if !g.Deleting {
			names = append(names, g.DisplayName)
		}
	}
	slices.Sort(names)
	return names
}

// getIdentity reads the key's user or group; one that is gone is forgotten.
func (r *DeliveryReconciler) getIdentity(ctx context.Context, key deliveryKey, obj client.Object) (bool, error) {
	err := r.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name}, obj)
	if apierrors.IsNotFound(err) {
		r.state.forget(key)
		return false, nil
	}
	return err == nil, err
}

func (r *DeliveryReconciler) reconcileGroup(ctx context.Context, key deliveryKey, app *identityv1alpha1.DownstreamApp) (ctrl.Result, error) {
	group := &identityv1alpha1.ScimGroup{}
	if found, err := r.getIdentity(ctx, key, group); !found {
		return ctrl.Result{}, err
	}
	if group.Spec.TenantRef.Name != app.Spec.TenantRef.Name || !app.SyncsGroups() {
		return ctrl.Result{}, nil
	}
	remoteIDOf := func(userID string) string {
		u := &identityv1alpha1.ScimUser{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: userID}, u); err != nil {
			return ""
		}
		if e := appEntry(u.Status.Apps, app.Name); e != nil && e.State == identityv1alpha1.AppDeliverySynced {
			return e.RemoteID
		}
		return ""
	}
	doc, ok := desiredGroupDocument(app, group, remoteIDOf)
	if !ok {
		return ctrl.Result{}, nil
	}
	deliver := func(ctx context.Context, conn connectors.Connector, remoteID string) (string, error) {
		return conn.DeliverGroup(ctx, doc, remoteID)
	}
	return r.sync(ctx, key, app, group, appEntry(group.Status.Apps, app.Name), connectors.Hash(doc), doc.Event, deliver)
}

// sync delivers the document whose hash is given unless the app acknowledged it, and
// records the outcome in the identity's status.apps entry for the app.
func (r *DeliveryReconciler) sync(ctx context.Context, key deliveryKey, app *identityv1alpha1.DownstreamApp, obj client.Object,
	entry *identityv1alpha1.AppDelivery, hash string, event connectors.Event,
	deliver func(context.Context, connectors.Connector, string) (string, error),
) (ctrl.Result, error) {
	// What the app last said of this identity: from its status, or from this process's
	// memory when the cache has not caught up with the status write yet.
	last := answer{}
	if entry != nil && (entry.State == identityv1alpha1.AppDeliverySynced || entry.State == identityv1alpha1.AppDeliveryFailed) {
		last = answer{hash: entry.Hash, refused: entry.State == identityv1alpha1.AppDeliveryFailed, remoteID: entry.RemoteID, message: entry.LastError}
		if entry.LastDelivered != nil {
			last.at = entry.LastDelivered.Time
		}
	}
	memo, remembered := r.state.lastAnswer(key)
	if remembered && memo.at.After(last.at) {
		last = memo
	}
	if last.hash == hash && (!last.refused || time.Since(last.at) < refusedRetry) {
		state := identityv1alpha1.AppDeliverySynced
		if last.refused {
			state = identityv1alpha1.AppDeliveryFailed
		}
		r.state.record(key, state)
		if event == connectors.EventDelete && !last.refused {
			if entry == nil {
				return ctrl.Result{}, nil
			}
			return ctrl.Result{}, r.writeEntry(ctx, obj, app.Name, nil) // the entry's removal did not land yet
		}
		// The answer is known, but the status may not say it (its write failed, or the
		// cache is behind): say it again; an unchanged apply changes nothing.
		if entry == nil || entry.Hash != hash || entry.State != state {
			at := metav1.NewTime(last.at)
			if err := r.writeEntry(ctx, obj, app.Name, &identityv1alpha1.AppDelivery{App: app.Name, State: state, Hash: hash,
				RemoteID: last.remoteID, LastDelivered: &at, LastError: last.message}); err != nil {
				return ctrl.Result{}, err
			}
		}
		if last.refused {
			return ctrl.Result{RequeueAfter: time.Until(last.at.Add(refusedRetry))}, nil
		}
		return ctrl.Result{}, nil
	}
	r.state.record(key, identityv1alpha1.AppDeliveryPending)
	release, wait := r.state.acquire(key)
	if release == nil {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	defer release()
	remoteID := ""
	if entry != nil {
		remoteID = entry.RemoteID
	} else if err := r.writeEntry(ctx, obj, app.Name, &identityv1alpha1.AppDelivery{App: app.Name, State: identityv1alpha1.AppDeliveryPending}); err != nil {
		// The entry exists before the first delivery, so that deleting the identity waits
		// for the app to hear of it.
		return ctrl.Result{}, err
	}
	conn, timeout, err := r.connectors.get(ctx, app)
	if err != nil {
		// The app's configuration is incomplete (a missing Secret): its own status says
		// so; look again with backoff.
		return ctrl.Result{RequeueAfter: r.state.unavailable(key, err.Error(), 0)}, nil
	}
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	newRemoteID, err := deliver(dctx, conn, remoteID)
	cancel()
	appLabel := key.app().String()
	deliveryDuration.WithLabelValues(appLabel).Observe(time.Since(start).Seconds())
	now := metav1.Now()
	switch {
	case err == nil:
		deliveriesTotal.WithLabelValues(appLabel, key.Kind, outcomeDelivered).Inc()
		r.state.succeeded(key, hash, newRemoteID)
		if event == connectors.EventDelete {
			return ctrl.Result{}, r.writeEntry(ctx, obj, app.Name, nil)
		}
		return ctrl.Result{}, r.writeEntry(ctx, obj, app.Name, &identityv1alpha1.AppDelivery{App: app.Name,
			State: identityv1alpha1.AppDeliverySynced, Hash: hash, RemoteID: newRemoteID, LastDelivered: &now})
	case connectors.IsRefused(err):
		deliveriesTotal.WithLabelValues(appLabel, key.Kind, outcomeRefused).Inc()
		msg := truncate(err.Error(), 1024)
		r.state.refused(key, hash, remoteID, msg)
		r.Recorder.Eventf(obj, app, corev1.EventTypeWarning, "DeliveryRefused", "Deliver", "%s refused %s: %s", app.Name, event, msg)
		r.Recorder.Eventf(app, obj, corev1.EventTypeWarning, "DeliveryRefused", "Deliver", "refused %s of %s %s: %s", event, key.Kind, key.Name, msg)
		return ctrl.Result{RequeueAfter: refusedRetry}, r.writeEntry(ctx, obj, app.Name, &identityv1alpha1.AppDelivery{App: app.Name,
			State: identityv1alpha1.AppDeliveryFailed, Hash: hash, RemoteID: remoteID, LastDelivered: &now, LastError: msg})
	default:
		deliveriesTotal.WithLabelValues(appLabel, key.Kind, outcomeRetry).Inc()
		msg := truncate(err.Error(), 1024)
		wait := r.state.unavailable(key, msg, connectors.RetryAfter(err))
		if entry != nil && entry.LastError == msg && entry.State == identityv1alpha1.AppDeliveryPending {
			return ctrl.Result{RequeueAfter: wait}, nil // said already: no status write per retry
		}
		last := &identityv1alpha1.AppDelivery{App: app.Name, State: identityv1alpha1.AppDeliveryPending, RemoteID: remoteID, LastError: msg}
		if entry != nil {
			last.Hash, last.LastDelivered = entry.Hash, entry.LastDelivered
		}
		return ctrl.Result{RequeueAfter: wait}, r.writeEntry(ctx, obj, app.Name, last)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// writeEntry server-side applies the identity's entry for one app under that app's own
// field manager; nil removes it (the manager stops owning it).
func (r *DeliveryReconciler) writeEntry(ctx context.Context, obj client.Object, app string, entry *identityv1alpha1.AppDelivery) error {
	gvk, err := r.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(obj.GetNamespace())
	u.SetName(obj.GetName())
	if entry != nil {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(entry)
		if err != nil {
			return err
		}
		if err := unstructured.SetNestedSlice(u.Object, []any{m}, "status", "apps"); err != nil {
			return err
		}
	}
	err = r.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(appFieldManager(app)), client.ForceOwnership)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// appFieldManager owns one app's entries in identities' status.apps.
func appFieldManager(app string) string {
	return "scim-operator/app/" + app
}

// SetupWithManager registers the controller and what starts a delivery: a change of an
// identity, of a group (membership moves users in and out of a scope), or of an app.
func (r *DeliveryReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.state = newDeliveryState()
	r.connectors = newConnectorCache(r.APIReader)
	r.informers = mgr.GetCache()
	if r.APIReader == nil || r.Members == nil {
		return errors.New("DeliveryReconciler needs an APIReader and the member index")
	}
	workers := r.MaxConcurrentReconciles
	if workers == 0 {
		workers = 32
	}
	return builder.TypedControllerManagedBy[deliveryKey](mgr).
		Named("delivery").
		Watches(&identityv1alpha1.ScimUser{}, handler.TypedEnqueueRequestsFromMapFunc(r.keysOfUser)).
		Watches(&identityv1alpha1.ScimGroup{}, handler.TypedEnqueueRequestsFromMapFunc(r.keysOfGroup)).
		// The member index reports the users a group change concerns once it holds the
		// change: on an update only those added or removed (a rename, all of them).
		WatchesRawSource(indexChanges[deliveryKey]{index: r.Members, keys: r.keysOfMember, name: "group membership changes"}).
		// Only a spec change moves identities in or out of an app; its status changes often.
		Watches(&identityv1alpha1.DownstreamApp{}, onChange(r.keysOfApp),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.TypedOptions[deliveryKey]{MaxConcurrentReconciles: workers}).
		Complete(r)
}

// appKind names the kind appsIn reads; it is never filled.
var appKind client.Object = &identityv1alpha1.DownstreamApp{}

// appsIn returns the apps in namespace that keep accepts, the cache's own (not to be
// changed). The handlers ask for every identity event, at a start for every identity:
// a List would copy the namespace's apps each time.
func (r *DeliveryReconciler) appsIn(ctx context.Context, namespace string, keep func(*identityv1alpha1.DownstreamApp) bool) []*identityv1alpha1.DownstreamApp {
	objs, err := index.InNamespace(ctx, r.informers, appKind, namespace, func(o client.Object) bool {
		app, ok := o.(*identityv1alpha1.DownstreamApp)
		return ok && keep(app)
	})
	if err != nil {
		return nil
	}
	apps := make([]*identityv1alpha1.DownstreamApp, len(objs))
	for i, o := range objs {
		apps[i] = o.(*identityv1alpha1.DownstreamApp)
	}
	return apps
}

// appsOf returns the apps of a tenant, the cache's own.
func (r *DeliveryReconciler) appsOf(ctx context.Context, namespace, tenant string) []*identityv1alpha1.DownstreamApp {
	return r.appsIn(ctx, namespace, func(app *identityv1alpha1.DownstreamApp) bool { return app.Spec.TenantRef.Name == tenant })
}

func (r *DeliveryReconciler) keysOfUser(ctx context.Context, o client.Object) []deliveryKey {
	user := o.(*identityv1alpha1.ScimUser)
	var keys []deliveryKey
	for _, app := range r.appsOf(ctx, user.Namespace, user.Spec.TenantRef.Name) {
		keys = append(keys, deliveryKey{Namespace: user.Namespace, App: app.Name, Kind: kindUser, Name: user.Name})
		// A group lists its members by the app's ids: a user's first delivery may
		// complete its groups.
		if app.SyncsGroups() {
			for _, g := range r.Members.GroupsOf(user.Namespace, user.Spec.TenantRef.Name, user.Name) {
				keys = append(keys, deliveryKey{Namespace: user.Namespace, App: app.Name, Kind: kindGroup, Name: g.Name})
			}
		}
	}
	return keys
}

// keysOfMember is the user's delivery to each app of its tenant. The apps are read
// first: most namespaces have none, and then the user need not be read at all.
func (r *DeliveryReconciler) keysOfMember(ctx context.Context, member types.NamespacedName) []deliveryKey {
	apps := r.appsIn(ctx, member.Namespace, func(*identityv1alpha1.DownstreamApp) bool { return true })
	if len(apps) == 0 {
		return nil
	}
	user := &identityv1alpha1.ScimUser{}
	if err := r.Get(ctx, member, user); err != nil {
		return nil // a nested group, or a member not provisioned (yet): nothing to deliver
	}
	var keys []deliveryKey
	for _, app := range apps {
		if app.Spec.TenantRef.Name == user.Spec.TenantRef.Name {
			keys = append(keys, deliveryKey{Namespace: member.Namespace, App: app.Name, Kind: kindUser, Name: member.Name})
		}
	}
	return keys
}

func (r *DeliveryReconciler) keysOfGroup(ctx context.Context, o client.Object) []deliveryKey {
	group := o.(*identityv1alpha1.ScimGroup)
	var keys []deliveryKey
	for _, app := range r.appsOf(ctx, group.Namespace, group.Spec.TenantRef.Name) {
		if app.SyncsGroups() {
			keys = append(keys, deliveryKey{Namespace: group.Namespace, App: app.Name, Kind: kindGroup, Name: group.Name})
		}
	}
	return keys
}

// keysOfApp is every identity of the app's tenant: a new or changed app compares them all.
func (r *DeliveryReconciler) keysOfApp(ctx context.Context, o client.Object) []deliveryKey {
	app := o.(*identityv1alpha1.DownstreamApp)
	if !app.DeletionTimestamp.IsZero() {
		return nil
	}
	var keys []deliveryKey
	kinds := map[string]client.Object{kindUser: &identityv1alpha1.ScimUser{}}
	if app.SyncsGroups() {
		kinds[kindGroup] = &identityv1alpha1.ScimGroup{}
	}
	for kind, obj := range kinds {
		objs, err := identitiesOfTenant(ctx, r.informers, obj, app.Namespace, app.Spec.TenantRef.Name)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Failed to list the identities of an app's tenant")
			continue
		}
		for _, o := range objs {
			keys = append(keys, deliveryKey{Namespace: app.Namespace, App: app.Name, Kind: kind, Name: o.GetName()})
		}
	}
	return keys
}
