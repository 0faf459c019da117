package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
)

// get: a deleted identity's bindings are read from the API server before its release.
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=get;list;watch;create;update;delete
// The operator grants the tenants' ClusterRoles without holding them itself, by bind on
// the grantable ones only: config/rbac/grant_role.yaml, rendered by the chart from
// rbac.grantableClusterRoles. No marker, since the list is configuration.

// binding is a RoleBinding the operator wants for an identity.
type binding struct {
	Namespace   string
	Name        string
	ClusterRole string
	Subject     rbacv1.Subject
}

// identityLabels mark what the operator creates for one identity.
func identityLabels(kindLabel string, identity client.Object, tenant string) map[string]string {
	return map[string]string{
		identityv1alpha1.LabelManagedBy:         identityv1alpha1.LabelManagedByValue,
		identityv1alpha1.LabelTenant:            tenant,
		kindLabel:                               identity.GetName(),
		identityv1alpha1.LabelIdentityNamespace: identity.GetNamespace(),
	}
}

// ownedBindings are the RoleBindings the operator made for one identity, as its
// index of them knows them.
type ownedBindings struct {
	index    *index.Bindings
	identity types.NamespacedName
}

func ownedBy(ix *index.Bindings, identity client.Object) ownedBindings {
	return ownedBindings{index: ix, identity: client.ObjectKeyFromObject(identity)}
}

// applyBindings makes the identity's RoleBindings exactly want: missing ones are
// created, changed ones updated (or replaced, as a roleRef cannot change), and the
// identity's others deleted. Only RoleBindings labelled for this identity are ever
// touched. It returns what it did, for Events.
func applyBindings(ctx context.Context, c client.Client, labels map[string]string, owned ownedBindings, want []binding) ([]string, error) {
	// The index may not hold a binding made an instant ago: one missed here is removed
	// by the reconcile the index asks for once it holds it.
	existing := owned.index.Of(owned.identity)
	var done []string
	wanted := map[types.NamespacedName]bool{}
	for _, b := range want {
		wanted[types.NamespacedName{Namespace: b.Namespace, Name: b.Name}] = true
		action, err := applyBinding(ctx, c, owned.index, labels, b)
		if err != nil {
			return done, err
		}
		if action != "" {
			done = append(done, action)
		}
	}
	for _, key := range existing {
		uid, ours := owned.index.ServingUID(key, owned.identity)
		if wanted[key] || !ours {
			continue
		}
		removed, err := deleteBinding(ctx, c, key, uid)
		if err != nil {
			return done, err
		}
		if removed {
			done = append(done, fmt.Sprintf("removed RoleBinding %s/%s", key.Namespace, key.Name))
		}
	}
	return done, nil
}

// deleteBinding deletes the RoleBinding at key if it is still the one of uid: the
// name may since have gone to someone else's binding, which is never touched.
func deleteBinding(ctx context.Context, c client.Client, key types.NamespacedName, uid types.UID) (bool, error) {
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	err := c.Delete(ctx, rb, client.Preconditions{UID: &uid})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) { // gone, or another binding now
		return false, nil
	}
	return err == nil, err
}

// applyBinding compares the binding with the digest of the one there (a reconcile
// reads no RoleBinding: see index.RoleBindings). An update replaces the whole binding,
// as the operator owns it: what someone else added to it goes too.
func applyBinding(ctx context.Context, c client.Client, known *index.Bindings, labels map[string]string, b binding) (string, error) {
	desired := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: b.Namespace, Name: b.Name, Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: b.ClusterRole},
		Subjects:   []rbacv1.Subject{b.Subject},
	}
	current, found := known.Digest(client.ObjectKeyFromObject(desired))
	switch {
	case !found:
		// Only the operator's own RoleBindings are known: one that exists but is not
		// known is someone else's, and is never adopted (or the operator's own, made
		// an instant ago, whose digest is on its way: the retry finds it).
		if err := c.Create(ctx, desired); apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("RoleBinding %s/%s exists and is not managed by scim-operator", b.Namespace, b.Name)
		} else if err != nil {
			return "", err
		}
		return fmt.Sprintf("bound %s %q to ClusterRole %s in %s", b.Subject.Kind, b.Subject.Name, b.ClusterRole, b.Namespace), nil
	case current.RoleRef != desired.RoleRef:
		if err := c.Delete(ctx, desired, client.Preconditions{UID: &current.UID}); client.IgnoreNotFound(err) != nil {
			return "", err
		}
		if err := c.Create(ctx, desired); err != nil {
			return "", err
		}
		return fmt.Sprintf("rebound %s %q to ClusterRole %s in %s", b.Subject.Kind, b.Subject.Name, b.ClusterRole, b.Namespace), nil
	case current.Content != index.ContentOf(desired.Subjects, desired.Labels):
		// The version read: if the binding changed since, the update is refused and
		// the reconcile that change brings compares again.
		desired.UID, desired.ResourceVersion = current.UID, current.ResourceVersion
		if err := c.Update(ctx, desired); err != nil {
			return "", err
		}
		return fmt.Sprintf("updated RoleBinding %s/%s for %s %q", b.Namespace, b.Name, b.Subject.Kind, b.Subject.Name), nil
	}
	return "", nil
}

// recordAccess records what a reconcile changed as one Event (Events are API writes
// too); the identity's first reconcile records it as its provisioning.
func recordAccess(rec recorder.EventRecorder, obj client.Object, provisioned bool, actions []string) {
	switch {
	case provisioned:
		rec.Eventf(obj, nil, corev1.EventTypeNormal, ReasonProvisioned, "Apply", "Provisioned: %s", strings.Join(actions, "; "))
	case len(actions) > 0:
		rec.Eventf(obj, nil, corev1.EventTypeNormal, ReasonAccessChanged, "Apply", "%s", strings.Join(actions, "; "))
	}
}

// checkSubject refuses names that would bind a Kubernetes system identity, whatever
// the identity provider sent: a user named "system:masters" gets no binding at all.
func checkSubject(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("the subject name is empty")
	case strings.HasPrefix(strings.ToLower(strings.TrimSpace(name)), "system:"):
		return fmt.Errorf("subject %q would be a Kubernetes system name", name)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("subject %q contains control characters", name)
	}
	return nil
}

// indexChanges enqueues, delay later, the work that keys finds for what an index
// beside the cache reports changed, once the index holds the change.
type indexChanges[K comparable] struct {
	index interface {
		Subscribe(func(types.NamespacedName))
	}
	keys  func(context.Context, types.NamespacedName) []K
	delay time.Duration
	name  string
}

func (s indexChanges[K]) Start(ctx context.Context, q workqueue.TypedRateLimitingInterface[K]) error {
	s.index.Subscribe(func(changed types.NamespacedName) {
		for _, k := range s.keys(ctx, changed) {
			q.AddAfter(k, s.delay)
		}
	})
	return nil
}

func (s indexChanges[K]) String() string { return s.name }

// itself is the request to reconcile the object an index reported: an identity whose
// RoleBindings changed, or a tenant whose counts did.
func itself(_ context.Context, key types.NamespacedName) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: key}}
}

// deletion is an identity being deleted, and what its release waits for.
type deletion struct {
	obj    client.Object
	owned  *index.Bindings
	tenant *identityv1alpha1.ScimTenant
	// apps are the DownstreamApps still to acknowledge the delete.
	apps []identityv1alpha1.AppDelivery
	// bindings name the RoleBindings the identity may have, which are read from the
	// API server before it is released: the RoleBindings known, watched apart from
	// the identities, may not yet include one created just before the delete, which
	// would then outlive its identity and keep granting access.
	bindings []client.ObjectKey
}

// finalizeIdentity removes a deleted identity's access at once and releases it once
// every DownstreamApp that knew it acknowledged the delete and the tenant's retention
// has passed.
func finalizeIdentity(ctx context.Context, c client.Client, apiReader client.Reader, rec recorder.EventRecorder, d deletion) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(d.obj, identityv1alpha1.FinalizerCleanup) {
		return ctrl.Result{}, nil
	}
	done, err := applyBindings(ctx, c, nil, ownedBy(d.owned, d.obj), nil)
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, a := range done {
		rec.Eventf(d.obj, nil, corev1.EventTypeNormal, ReasonAccessChanged, "Delete", "%s", a)
	}
	if wait := time.Until(d.obj.GetDeletionTimestamp().Add(retention(d.tenant))); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if len(d.apps) > 0 {
		return ctrl.Result{}, nil // the delivery controller removes each entry; that change brings us back
	}
	if err := removeUncachedBindings(ctx, c, apiReader, d); err != nil {
		return ctrl.Result{}, err
	}
	controllerutil.RemoveFinalizer(d.obj, identityv1alpha1.FinalizerCleanup)
	return ctrl.Result{}, client.IgnoreNotFound(c.Update(ctx, d.obj))
}

// removeUncachedBindings deletes the identity's RoleBindings that the API server has
// and the index of them did not show.
func removeUncachedBindings(ctx context.Context, c client.Client, apiReader client.Reader, d deletion) error {
	for _, key := range d.bindings {
		rb := &rbacv1.RoleBinding{}
		if err := apiReader.Get(ctx, key, rb); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return err
		}
		if !d.owned.Serves(rb, client.ObjectKeyFromObject(d.obj)) {
			continue
		}
		removed, err := deleteBinding(ctx, c, key, rb.UID)
		if err != nil {
			return err
		}
		if removed {
			ctrl.LoggerFrom(ctx).Info("Removed a RoleBinding the index had not shown yet", "roleBinding", key)
		}
	}
	return nil
}

// appsAcknowledgedDelete passes the status change of a deleted identity whose list of
// apps still to be told shrank, so that finalizeIdentity looks again.
var appsAcknowledgedDelete = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return !e.ObjectNew.GetDeletionTimestamp().IsZero() && len(appsOf(e.ObjectOld)) != len(appsOf(e.ObjectNew))
	},
}

func appsOf(o client.Object) []identityv1alpha1.AppDelivery {
	switch v := o.(type) {
	case *identityv1alpha1.ScimUser:
		return v.Status.Apps
	case *identityv1alpha1.ScimGroup:
		return v.Status.Apps
	}
	return nil
}

// retention is how long a deleted identity is kept; 0 without a tenant.
func retention(tenant *identityv1alpha1.ScimTenant) time.Duration {
	if tenant == nil || tenant.Spec.Deprovisioning.Retention == "" {
		return 0
	}
	d, err := time.ParseDuration(tenant.Spec.Deprovisioning.Retention)
	if err != nil {
		return 0
	}
	return d
}
