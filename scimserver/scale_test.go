package scimserver_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// TestScaleCreateToBinding measures, at SCIM_SCALE_USERS users (e.g. 10000), the
// time from a SCIM create's 201 to the user's RoleBinding being in the workspace,
// with 25 concurrent clients as Entra ID uses, then fills SCIM_SCALE_GROUPS groups.
// It is a measurement, not a check: run it by hand (see the README).
func TestScaleCreateToBinding(t *testing.T) {
	users, _ := strconv.Atoi(os.Getenv("SCIM_SCALE_USERS"))
	if users == 0 {
		t.Skip("SCIM_SCALE_USERS unset: the provisioning latency measurement is run by hand")
	}
	groups, _ := strconv.Atoi(os.Getenv("SCIM_SCALE_GROUPS"))
	f := newTenant(t)
	var mu sync.Mutex
	created := map[string]time.Time{}
	bound := map[string]time.Time{}
	informer, err := mgrCache.GetInformer(context.Background(), &rbacv1.RoleBinding{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: func(o any) {
		rb := o.(*rbacv1.RoleBinding)
		if rb.Namespace != f.Namespace {
			return
		}
		mu.Lock()
		if _, seen := bound[rb.Labels[identityv1alpha1.LabelUser]]; !seen {
			bound[rb.Labels[identityv1alpha1.LabelUser]] = time.Now()
		}
		mu.Unlock()
	}}); err != nil {
		t.Fatal(err)
	}
	const clients = 25
	work := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	ids := make([]string, users)
	for range clients {
		wg.Go(func() {
			c := f.client(t)
			for i := range work {
				body := map[string]any{"userName": fmt.Sprintf("user%06d@example.com", i), "active": true,
					"name": map[string]any{"givenName": "User", "familyName": strconv.Itoa(i)}}
				resp := c.must(201, "POST", "/Users", body)
				mu.Lock()
				ids[i] = resp["id"].(string)
				created[ids[i]] = time.Now()
				mu.Unlock()
			}
		})
	}
	// SCIM_SCALE_RATE paces the creates (per second), as a sustained provisioning
	// cycle would; unset, the clients go flat out.
	rate, _ := strconv.Atoi(os.Getenv("SCIM_SCALE_RATE"))
	var tick <-chan time.Time
	if rate > 0 {
		ticker := time.NewTicker(time.Second / time.Duration(rate))
		defer ticker.Stop()
		tick = ticker.C
	}
	for i := range users {
		if tick != nil {
			<-tick
		}
		work <- i
	}
	close(work)
	wg.Wait()
	createElapsed := time.Since(start)
	eventually(t, 10*time.Minute, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(bound) < users {
			return fmt.Errorf("%d of %d users bound", len(bound), users)
		}
		return nil
	})
	var lat []time.Duration
	mu.Lock()
	for id, c := range created {
		lat = append(lat, max(bound[id].Sub(c), 0))
	}
	mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	t.Logf("%d users created through SCIM in %v (%.0f/s, %d clients); create→RoleBinding p50 %v, p99 %v, max %v",
		users, createElapsed.Round(time.Millisecond), float64(users)/createElapsed.Seconds(), clients, pct(0.50), pct(0.99), lat[len(lat)-1])

	if fams, err := metrics.Registry.Gather(); err == nil {
		for _, fam := range fams {
			switch fam.GetName() {
			case "controller_runtime_reconcile_time_seconds", "workqueue_queue_duration_seconds", "rest_client_request_duration_seconds", "controller_runtime_client_consistency_wait_duration_seconds":
				for _, m := range fam.GetMetric() {
					h := m.GetHistogram()
					if h.GetSampleCount() > 0 {
						t.Logf("%s %v: n=%d mean=%.4fs", fam.GetName(), m.GetLabel(), h.GetSampleCount(), h.GetSampleSum()/float64(h.GetSampleCount()))
					}
				}
			}
		}
	}
	if groups > 0 {
		start = time.Now()
		c := f.client(t)
		for g := range groups {
			gid := c.must(201, "POST", "/Groups", map[string]any{"displayName": fmt.Sprintf("group-%04d", g)})["id"].(string)
			var members []any
			for k := range 20 {
				members = append(members, map[string]any{"value": ids[(g*20+k)%users]})
			}
			c.must(204, "PATCH", "/Groups/"+gid, map[string]any{"Operations": []any{map[string]any{"op": "add", "path": "members", "value": members}}})
		}
		t.Logf("%d groups of 20 members created and filled in %v", groups, time.Since(start).Round(time.Millisecond))
		// A change to one user reconciles that user: its status follows within the same bounds.
		one := ids[0]
		c.must(204, "PATCH", "/Users/"+one, map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}})
		t0 := time.Now()
		eventually(t, time.Minute, func() error {
			var u identityv1alpha1.ScimUser
			if err := k8sClient.Get(context.Background(), keyOf(f.Namespace, one), &u); err != nil {
				return err
			}
			for _, cond := range u.Status.Conditions {
				if cond.Type == identityv1alpha1.ConditionSuspended && cond.Status == "True" && cond.ObservedGeneration == u.Generation {
					return nil
				}
			}
			return fmt.Errorf("not suspended yet")
		})
		t.Logf("deactivation of one user among %d reflected in %v", users, time.Since(t0).Round(time.Millisecond))
	}
}

func keyOf(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
