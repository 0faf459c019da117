package controllers

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
)

// tenantOf is the tenant a ScimUser or ScimGroup belongs to.
func tenantOf(obj client.Object) string {
	switch o := obj.(type) {
	case *identityv1alpha1.ScimUser:
		return o.Spec.TenantRef.Name
	case *identityv1alpha1.ScimGroup:
		return o.Spec.TenantRef.Name
	}
	return ""
}

// identitiesOfTenant returns the cached identities of one tenant, of kind's type (a
// ScimUser or ScimGroup): the cache's own, which the caller must not change. It filters
// the namespace's identities rather than asking a cache index by tenant: a namespace
// holds few tenants, these reads are rare (a tenant or an app changed), and such an index
// holds two set entries per identity, tens of megabytes at 100,000 users.
func identitiesOfTenant(ctx context.Context, informers index.InformerSource, kind client.Object, namespace, tenant string) ([]client.Object, error) {
	return index.InNamespace(ctx, informers, kind, namespace, func(o client.Object) bool { return tenantOf(o) == tenant })
}

// requestsOfTenant enqueues the identities (of kind's type) of the tenant o.
func requestsOfTenant(ctx context.Context, informers index.InformerSource, kind client.Object, o client.Object) []reconcile.Request {
	objs, err := identitiesOfTenant(ctx, informers, kind, o.GetNamespace(), o.GetName())
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Failed to list the identities of a tenant")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(objs))
	for _, obj := range objs {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
	}
	return reqs
}
