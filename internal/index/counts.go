package index

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Counts keeps how many objects of one kind each tenant has, so that a tenant's
// status counts its identities without listing them: a list copies every object's
// struct, 80 MB every few seconds at 100,000 users.
type Counts struct {
	registration
	// subscribers hear of a tenant whose count changed.
	subscribers
	tenantOf func(client.Object) string

	mu sync.RWMutex
	n  map[types.NamespacedName]int // tenant → objects
}

// NewCounts counts objects by the tenant tenantOf names; Register feeds it.
func NewCounts(tenantOf func(client.Object) string) *Counts {
	return &Counts{tenantOf: tenantOf, n: map[types.NamespacedName]int{}}
}

// Register feeds the counts from the cache's informer of obj's kind.
func (c *Counts) Register(ctx context.Context, informers InformerSource, obj client.Object) error {
	return c.register(ctx, informers, obj, c.update)
}

// Of is the number of objects of the tenant.
func (c *Counts) Of(namespace, tenant string) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.n[types.NamespacedName{Namespace: namespace, Name: tenant}]
}

func (c *Counts) update(before, after client.Object) {
	var changed []types.NamespacedName
	c.mu.Lock()
	if before != nil {
		t := types.NamespacedName{Namespace: before.GetNamespace(), Name: c.tenantOf(before)}
		if c.n[t]--; c.n[t] <= 0 {
			delete(c.n, t)
		}
		changed = append(changed, t)
	}
	if after != nil {
		t := types.NamespacedName{Namespace: after.GetNamespace(), Name: c.tenantOf(after)}
		c.n[t]++
		changed = append(changed, t)
	}
	c.mu.Unlock()
	if len(changed) == 2 && changed[0] == changed[1] {
		return // an update within one tenant changes no count
	}
	c.tell(changed...)
}
