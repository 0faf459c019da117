package manager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// servingInformers are the informers of the kinds the SCIM server reads besides those
// the indexes follow (tenants and their tokens), created at setup so that the cache
// starts them with the others.
func servingInformers(ctx context.Context, c cache.Cache, objs ...client.Object) ([]toolscache.InformerSynced, error) {
	synced := make([]toolscache.InformerSynced, 0, len(objs))
	for _, obj := range objs {
		informer, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("getting the %T informer: %w", obj, err)
		}
		synced = append(synced, informer.HasSynced)
	}
	return synced, nil
}

// cachesSynced is ready once what the SCIM server reads has synced (the informers of
// servingInformers and the indexes beside the cache), and stays ready: before that the
// SCIM server would answer lookups from an empty cache, and Entra ID would create
// duplicates.
//
// It does not ask the cache as a whole (WaitForCacheSync), which also waits for the
// informers started later: those of the kinds only the controllers watch (namespaces,
// ClusterRoles, apps), started when this replica becomes the leader. A ready replica
// then turned unready on being elected, and would have stayed so, its SCIM endpoint
// out of the Service, if one of those never synced; and a replica elected before its
// first probe was not ready until those synced too.
func cachesSynced(synced ...toolscache.InformerSynced) healthz.Checker {
	var ready atomic.Bool
	return func(*http.Request) error {
		if ready.Load() {
			return nil
		}
		for _, hasSynced := range synced {
			if !hasSynced() {
				return errors.New("the caches or the indexes beside them are not synced")
			}
		}
		ready.Store(true)
		return nil
	}
}
