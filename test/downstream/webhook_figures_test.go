package downstream_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/connectors/webhook"
	"github.com/scim-operator/scim-operator/internal/testenv"
	"github.com/scim-operator/scim-operator/internal/token"
)

// The README's delivery figures: how long N users take to reach a webhook app, and how
// long after an outage the app has caught up. Run by hand:
//
//	SCIM_DELIVERY_USERS=1000 go test ./test/downstream -run Figures -v
func TestWebhookDeliveryFigures(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SCIM_DELIVERY_USERS"))
	if n == 0 || setupErr != nil {
		t.Skip("set SCIM_DELIVERY_USERS to measure (the figures are in the README)")
	}
	g := NewWithT(t)
	ctx := context.Background()
	const secret = "figures-webhook-secret"
	var down atomic.Bool
	var mu sync.Mutex
	latest := map[string]string{} // user id → displayName the app last applied
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := webhook.ReadUserDocument(r, []byte(secret), time.Now(), time.Minute)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		latest[doc.ID] = doc.User.DisplayName
		mu.Unlock()
	}))
	defer srv.Close()
	applied := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		c := 0
		for _, v := range latest {
			if v == name {
				c++
			}
		}
		return c
	}

	ns := "figures"
	g.Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	g.Expect(k8sClient.Create(ctx, token.NewSecret(ns, "t-token", "t", "scimop_figures-token-000000000000000"))).To(Succeed())
	g.Expect(k8sClient.Create(ctx, testenv.Tenant(ns, "t"))).To(Succeed())
	g.Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hook"}, StringData: map[string]string{"secret": secret}})).To(Succeed())
	g.Expect(k8sClient.Create(ctx, &identityv1alpha1.DownstreamApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backup"},
		Spec: identityv1alpha1.DownstreamAppSpec{TenantRef: identityv1alpha1.TenantReference{Name: "t"}, Scope: identityv1alpha1.AppScope{Type: identityv1alpha1.ScopeAllUsers},
			Webhook: &identityv1alpha1.WebhookConnector{URL: srv.URL, SecretRef: identityv1alpha1.SecretReference{Name: "hook"}}}})).To(Succeed())
	stop := startOperator(t, testenv.FreeAddr())
	defer stop()

	start := time.Now()
	forEachUser(t, n, func(i int) error {
		return k8sClient.Create(ctx, &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("u-%05d", i)},
			Spec: identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: "t"}, UserName: fmt.Sprintf("u-%05d@example.com", i), DisplayName: "v1"}})
	})
	created := time.Since(start)
	g.Eventually(func() int { return applied("v1") }, 10*time.Minute, 100*time.Millisecond).Should(Equal(n))
	t.Logf("FIGURE %d users created in %s; all delivered to the webhook %s after the first create", n, created.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))

	const outage = time.Minute
	down.Store(true)
	forEachUser(t, n, func(i int) error {
		u := &identityv1alpha1.ScimUser{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("u-%05d", i)}, u); err != nil {
			return err
		}
		u.Spec.DisplayName = "v2"
		return k8sClient.Update(ctx, u)
	})
	time.Sleep(outage)
	down.Store(false)
	back := time.Now()
	g.Eventually(func() int { return applied("v2") }, 10*time.Minute, 100*time.Millisecond).Should(Equal(n))
	t.Logf("FIGURE after a %s outage during which all %d users changed: the app had every change %s after it came back", outage, n, time.Since(back).Round(100*time.Millisecond))
}

// forEachUser runs f for 0..n-1 on 25 workers, as a busy identity provider would.
func forEachUser(t *testing.T, n int, f func(int) error) {
	t.Helper()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	errs := make(chan error, n)
	for range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := f(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
