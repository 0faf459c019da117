package scimserver

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// activity remembers when each tenant was last called and writes it to the
// tenant's status.lastRequestTime now and then.
type activity struct {
	mu   sync.Mutex
	last map[client.ObjectKey]time.Time
}

func newActivity() *activity { return &activity{last: map[client.ObjectKey]time.Time{}} }

func (a *activity) touch(key client.ObjectKey) {
	a.mu.Lock()
	a.last[key] = time.Now()
	a.mu.Unlock()
}

func (a *activity) take() map[client.ObjectKey]time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.last
	a.last = map[client.ObjectKey]time.Time{}
	return out
}

func (a *activity) flush(ctx context.Context, c client.Client, log logr.Logger, every time.Duration) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for key, at := range a.take() {
			if err := recordActivity(ctx, c, key, at); err != nil {
				log.V(1).Info("Recording a tenant's last request time failed", "tenant", key.String(), "error", err.Error())
			}
		}
	}
}

func recordActivity(ctx context.Context, c client.Client, key client.ObjectKey, at time.Time) error {
	var t identityv1alpha1.ScimTenant
	if err := c.Get(ctx, key, &t); err != nil {
		return client.IgnoreNotFound(err)
	}
	if t.Status.LastRequestTime != nil && !t.Status.LastRequestTime.Time.Before(at.Truncate(time.Second)) {
		return nil
	}
	patch := client.MergeFrom(t.DeepCopy())
	t.Status.LastRequestTime = &metav1.Time{Time: at}
	return c.Status().Patch(ctx, &t, patch)
}
