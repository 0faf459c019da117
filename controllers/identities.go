package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
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

// identitiesOfTenant lists into list (a ScimUserList or ScimGroupList) the cached
// identities of one tenant. It filters the namespace's identities rather than asking a
// cache index by tenant: a namespace holds few tenants, these lists are rare (a tenant
// or an app changed), and such an index holds two set entries per identity, tens of
// megabytes at 100,000 users.
func identitiesOfTenant(ctx context.Context, c client.Reader, list client.ObjectList, namespace, tenant string, opts ...client.ListOption) ([]client.Object, error) {
	if err := c.List(ctx, list, append(opts, client.InNamespace(namespace))...); err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, item := range items {
		if o, ok := item.(client.Object); ok && tenantOf(o) == tenant {
			out = append(out, o)
		}
	}
	return out, nil
}

// requestsOfTenant enqueues the identities (of list's kind) of the tenant o.
func requestsOfTenant(ctx context.Context, c client.Reader, list client.ObjectList, o client.Object) []reconcile.Request {
	objs, err := identitiesOfTenant(ctx, c, list, o.GetNamespace(), o.GetName(), client.UnsafeDisableDeepCopy, client.DisableReadYourWritesConsistency)
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
