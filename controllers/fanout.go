package controllers

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
)

// onChange enqueues what toRequests maps an object to when the object is created,
// changed or deleted, but not for the objects an informer lists at start (or replays
// to a new watch). Every identity then gets a Create event of its own, so mapping each
// tenant, workspace, app and user of that first list as well would only queue them all
// again: at 100,000 users, a read of the whole tenant per tenant and per workspace, and a
// million group requests from the users' memberships, while the restart already holds
// everything at once.
func onChange[R comparable](toRequests handler.TypedMapFunc[client.Object, R]) handler.TypedEventHandler[client.Object, R] {
	mapped := handler.TypedEnqueueRequestsFromMapFunc(toRequests)
	return handler.TypedFuncs[client.Object, R]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[R]) {
			if !e.IsInInitialList {
				mapped.Create(ctx, e, q)
			}
		},
		UpdateFunc:  mapped.Update,
		DeleteFunc:  mapped.Delete,
		GenericFunc: mapped.Generic,
	}
}
