package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=list;watch;create
// +kubebuilder:rbac:groups="",resources=resourcequotas,verbs=list;watch;create;update

// QuotaName is the ResourceQuota in a user's quota namespace.
const QuotaName = "scim-storage"

// MaxClaimsPerUser bounds the PersistentVolumeClaims of a user's quota namespace,
// so that storage cannot be split into unbounded numbers of tiny volumes.
const MaxClaimsPerUser = 100

// QuotaNamespaceName derives a user's quota namespace from its namespace, tenant and
// SCIM id, never from the userName: it stays put when the identity provider renames
// the user, and no character the identity provider sends can shape it. The
// namespace carries the user's labels, so `kubectl get ns -l
// identity.scim-operator.io/user=ID` finds it.
func QuotaNamespaceName(user *identityv1alpha1.ScimUser) string {
	sum := sha256.Sum256([]byte(user.Namespace + "/" + user.Spec.TenantRef.Name + "/" + user.Name))
	return "scim-u-" + hex.EncodeToString(sum[:])[:16]
}

// ensureQuotaNamespace makes the user's quota namespace and its ResourceQuota.
func ensureQuotaNamespace(ctx context.Context, c client.Client, labels map[string]string, name string, quota resource.Quantity) ([]string, error) {
	var done []string
	ns := &corev1.Namespace{}
	err := c.Get(ctx, client.ObjectKey{Name: name}, ns)
	switch {
	case apierrors.IsNotFound(err):
		ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
		// AlreadyExists: created by an earlier reconcile the cache has not seen yet; the
		// next reconcile checks whose it is.
		if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		} else if err == nil {
			done = append(done, "created quota namespace "+name)
		}
	case err != nil:
		return nil, err
	case ns.Labels[identityv1alpha1.LabelUser] != labels[identityv1alpha1.LabelUser] ||
		ns.Labels[identityv1alpha1.LabelIdentityNamespace] != labels[identityv1alpha1.LabelIdentityNamespace]:
		return nil, fmt.Errorf("namespace %s exists and does not belong to this user", name)
	}
	hard := corev1.ResourceList{
		corev1.ResourceRequestsStorage:        quota,
		corev1.ResourcePersistentVolumeClaims: *resource.NewQuantity(MaxClaimsPerUser, resource.DecimalSI),
	}
	rq := &corev1.ResourceQuota{}
	err = c.Get(ctx, client.ObjectKey{Namespace: name, Name: QuotaName}, rq)
	switch {
	case apierrors.IsNotFound(err):
		rq = &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: QuotaName, Labels: labels},
			Spec: corev1.ResourceQuotaSpec{Hard: hard}}
		if err := c.Create(ctx, rq); err != nil && !apierrors.IsAlreadyExists(err) {
			return done, err
		} else if err == nil {
			done = append(done, fmt.Sprintf("limited storage in %s to %s", name, quota.String()))
		}
	case err != nil:
		return done, err
	case !equality.Semantic.DeepEqual(rq.Spec.Hard, hard):
		rq.Spec.Hard = hard
		if err := c.Update(ctx, rq); err != nil {
			return done, err
		}
		done = append(done, fmt.Sprintf("changed the storage limit in %s to %s", name, quota.String()))
	}
	return done, nil
}
