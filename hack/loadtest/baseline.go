package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/manager"
)

// baselines measures, in the same run, what the SCIM figures are compared with.
func baselines(ctx context.Context, cfg config, res *results, out io.Writer) error {
	if err := writeCeiling(ctx, cfg, res, out); err != nil {
		return err
	}
	httpFloor(ctx, cfg, res, out)
	return nil
}

// writeCeiling writes as many ScimUsers as the cycle created straight to the API
// server, at the same concurrency: the most any SCIM server storing users there could do.
func writeCeiling(ctx context.Context, cfg config, res *results, out io.Writer) error {
	kubeconfig := cfg.baselineKubeconfig
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		fmt.Fprintf(out, "no kubeconfig for the write ceiling (%v): skipped\n", err)
		return nil
	}
	rc.QPS, rc.Burst = -1, -1 // the API server's limit is what is measured, not client-go's
	c, err := client.New(rc, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cfg.baselineNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	direct := res.add(&op{Name: "direct ScimUser write"})
	wall := parallel(cfg.users, cfg.concurrency, func(i int) {
		timed(direct, func() error {
			return c.Create(ctx, &identityv1alpha1.ScimUser{
				ObjectMeta: metav1.ObjectMeta{Namespace: cfg.baselineNamespace, Name: fmt.Sprintf("baseline-%07d", i),
					Labels: map[string]string{identityv1alpha1.LabelTenant: "loadtest-baseline"}},
				Spec: identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: "loadtest-baseline"},
					UserName: userName(i), ExternalID: fmt.Sprintf("ext-%07d", i), Active: ptr.To(true), DisplayName: fmt.Sprintf("Load Test %d", i),
					Name:       &identityv1alpha1.PersonName{GivenName: "Load", FamilyName: fmt.Sprintf("Test %d", i)},
					Emails:     []identityv1alpha1.MultiValuedAttribute{{Value: userName(i), Type: "work", Primary: ptr.To(true)}},
					Enterprise: &identityv1alpha1.EnterpriseUser{Department: "Load"}},
			})
		})
	})
	direct.finish(wall)
	// The SCIM create rate, over the time the cycle spent creating (each worker also
	// looked the user up first, which the direct writes do not).
	create, lookup := res.get("user create"), res.get("user lookup (absent)")
	if create.Count > 0 && direct.PerSecond > 0 {
		createShare := create.meanMillis() / (create.meanMillis() + lookup.meanMillis())
		rate := float64(create.Count) / (create.Seconds * createShare)
		res.CreateCeilingRatio = rate / direct.PerSecond
	}
	fmt.Fprintf(out, "write ceiling: %d direct writes in %s\n", cfg.users, wall.Round(time.Millisecond))
	return nil
}

// httpFloor answers as many lookups as were measured from a bare handler with a body
// of the same size: the most any HTTP server could do on this machine.
func httpFloor(ctx context.Context, cfg config, res *results, out io.Writer) {
	sc := newSCIMClient(cfg)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sc.base+lookupPath(userName(0)), nil)
	req.Header.Set("Authorization", "Bearer "+sc.token)
	size := 1024
	if resp, err := sc.http.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		size = len(b)
	}
	body := []byte(`{"pad":"` + strings.Repeat("x", max(0, size-10)) + `"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	bare := &scimClient{base: srv.URL, token: "x", http: sc.http}
	floor := res.add(&op{Name: "bare HTTP handler"})
	wall := parallel(cfg.lookupSample, cfg.concurrency, func(int) {
		timed(floor, func() error { return bare.do(ctx, http.MethodGet, "/", nil, http.StatusOK, nil) })
	})
	floor.finish(wall)
	if l := res.get(fmt.Sprintf("user lookup (of %d)", cfg.users)); floor.PerSecond > 0 {
		res.LookupFloorRatio = l.PerSecond / floor.PerSecond
	}
	fmt.Fprintf(out, "HTTP floor: %d requests of %d bytes in %s\n", cfg.lookupSample, len(body), wall.Round(time.Millisecond))
}
