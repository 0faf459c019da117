package manager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// hasSynced is the part of an informer the readiness check looks at.
type hasSynced interface {
	HasSynced() bool
}

// servingInformers are the informers of the kinds the SCIM server reads besides those
// the indexes follow (tenants and their tokens), created at setup so that the cache
// starts them with the others.
func servingInformers(ctx context.Context, c cache.Cache, objs ...client.Object) ([]hasSynced, error) {
	informers := make([]hasSynced, 0, len(objs))
	for _, obj := range objs {
		informer, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("getting the %T informer: %w", obj, err)
		}
		informers = append(informers, informer)
	}
	return informers, nil
}

// cachesSynced is ready once the informers the SCIM server reads and the indexes beside
// the cache have synced, and stays ready: before that the SCIM server would answer
// lookups from an empty cache, and Entra ID would create duplicates.
//
// It does not ask the cache as a whole (WaitForCacheSync), which also waits for the
// informers started later: those of the kinds only the controllers watch (namespaces,
// ClusterRoles, apps), started when this replica becomes the leader. A ready replica
// then turned unready on being elected, and would have stayed so, its SCIM endpoint
// out of the Service, if one of those never synced; and a replica elected before its
// first probe was not ready until those synced too.
func cachesSynced(informers []hasSynced, indexesSynced func() bool) healthz.Checker {
	var synced atomic.Bool
	return func(*http.Request) error {
		if synced.Load() {
			return nil
		}
		for _, informer := range informers {
			if !informer.HasSynced() {
				return errors.New("caches not synced")
			}
		}
		if !indexesSynced() {
			return errors.New("the indexes beside the cache are not synced")
		}
		synced.Store(true)
		return nil
	}
}
