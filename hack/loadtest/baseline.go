package main

import (
	"context"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/internal/manager"
)

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
			return c.Create(ctx, directUser(cfg.baselineNamespace, "loadtest-baseline", fmt.Sprintf("baseline-%07d", i), i))
		})
	})
	direct.finish(wall)
	if direct.PerSecond > 0 {
		res.CreateCeilingRatio = createRate(res.get("user lookup (absent)"), res.get("user create")) / direct.PerSecond
		res.FollowerCreateCeilingRatio = createRate(res.get(lookupWithoutControllers), res.get(createWithoutControllers)) / direct.PerSecond
	}
	fmt.Fprintf(out, "write ceiling: %d direct writes in %s\n", cfg.users, wall.Round(time.Millisecond))
	return nil
}

// createRate is the SCIM create rate over the time spent creating: each worker also
// looked the user up first, which the direct writes do not.
func createRate(lookup, create *op) float64 {
	if create.Count == 0 {
		return 0
	}
	createShare := create.meanMillis() / (create.meanMillis() + lookup.meanMillis())
	return float64(create.Count) / (create.Seconds * createShare)
}
