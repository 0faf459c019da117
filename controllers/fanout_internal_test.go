package controllers

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// A tenant listed at start queues none of its users (each is queued by its own Create
// event); one created, changed or deleted later queues them all.
func TestOnChangeMapsAllButTheInitialList(t *testing.T) {
	users := func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{
			{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "u1"}},
			{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "u2"}},
		}
	}
	tenant := &identityv1alpha1.ScimTenant{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t", ResourceVersion: "1"}}
	changed := tenant.DeepCopy()
	changed.ResourceVersion = "2"
	h := onChange(users)
	ctx := context.Background()

	for _, c := range []struct {
		name   string
		send   func(workqueue.TypedRateLimitingInterface[reconcile.Request])
		queued int
	}{
		{"listed at start", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Create(ctx, event.CreateEvent{Object: tenant, IsInInitialList: true}, q)
		}, 0},
		{"created", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Create(ctx, event.CreateEvent{Object: tenant}, q)
		}, 2},
		{"changed", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Update(ctx, event.UpdateEvent{ObjectOld: tenant, ObjectNew: changed}, q)
		}, 2},
		{"deleted", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Delete(ctx, event.DeleteEvent{Object: tenant}, q)
		}, 2},
		{"generic", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Generic(ctx, event.GenericEvent{Object: tenant}, q)
		}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
			defer q.ShutDown()
			c.send(q)
			if q.Len() != c.queued {
				t.Fatalf("queued %d, want %d", q.Len(), c.queued)
			}
		})
	}
}
