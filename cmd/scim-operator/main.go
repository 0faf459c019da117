// Command scim-operator runs the operator (controllers and SCIM server in one process)
// manages tenant tokens (`scim-operator token create|rotate|revoke`) and checks a
// tenant endpoint (`scim-operator check`, the chart's `helm test`).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/scim-operator/scim-operator/controllers"
	"github.com/scim-operator/scim-operator/internal/logging"
	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/memlimit"
	"github.com/scim-operator/scim-operator/scimserver/clientaddr"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "token" {
		os.Exit(runToken(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(runCheck(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(runManager(os.Args[1:]))
}

func runManager(args []string) int {
	fs := flag.NewFlagSet("scim-operator", flag.ExitOnError)
	opts := manager.Options{}
	fs.StringVar(&opts.MetricsAddr, "metrics-bind-address", "0", "Address of the metrics endpoint, such as :8443; 0 turns it off.")
	fs.BoolVar(&opts.SecureMetrics, "metrics-secure", true, "Serve metrics over HTTPS behind Kubernetes authentication and authorization.")
	fs.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz.")
	fs.StringVar(&opts.PprofAddr, "pprof-bind-address", "", "Address of Go's /debug/pprof profiles, such as 127.0.0.1:6060; empty turns them off.")
	fs.BoolVar(&opts.LeaderElection, "leader-elect", false, "Run the controllers on one replica at a time (the SCIM server serves on all).")
	fs.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's).")
	fs.BoolVar(&opts.EnableHTTP2, "enable-http2", false, "Allow HTTP/2 on the metrics server.")
	fs.StringVar(&opts.ExternalURL, "external-url", "http://localhost:8080", "Base URL at which identity providers reach the SCIM server (the Ingress).")
	fs.IntVar(&opts.MaxConcurrentReconciles, "max-concurrent-reconciles", 16, "Parallel reconciles per identity controller (they wait on API server writes, so more than the cores)")
	fs.StringVar(&opts.SCIM.BindAddress, "scim-bind-address", ":8080", "Address of the SCIM server; empty turns it off.")
	fs.StringVar(&opts.SCIM.TLSCertFile, "scim-tls-cert-file", "", "Serve SCIM over HTTPS with this certificate (PEM), e.g. from a cert-manager Secret.")
	fs.StringVar(&opts.SCIM.TLSKeyFile, "scim-tls-key-file", "", "Private key (PEM) for --scim-tls-cert-file.")
	fs.Int64Var(&opts.SCIM.MaxBodyBytes, "scim-max-body-bytes", 1<<20, "Largest SCIM request body; larger ones get 413.")
	fs.Float64Var(&opts.SCIM.RequestsPerSecond, "scim-requests-per-second", 200, "Requests per second each tenant may make; more get 429 with Retry-After.")
	fs.Func("scim-trusted-proxies", "Comma-separated addresses or CIDRs of the proxies in front of the SCIM server (the Ingress controller's pods) whose X-Forwarded-For names the client; "+
		"failed authentications are limited per client address, and without this every client behind a proxy shares the proxy's.", func(v string) error {
		proxies, err := clientaddr.ParseTrustedProxies(v)
		opts.SCIM.TrustedProxies = proxies
		return err
	})
	fs.Float64Var(&opts.SCIM.FailedAuthPerSecond, "scim-failed-auth-per-second", 1, "Failed authentications per second each client address may make (burst 20); beyond, its requests get 429 before any token is compared.")
	fs.IntVar(&opts.SCIM.MaxResults, "scim-max-results", 1000, "Largest page of a SCIM list.")
	fs.Func("grantable-cluster-roles", fmt.Sprintf("Comma-separated ClusterRoles that tenants may map roles to; the operator binds no other (default %s). "+
		"Give the operator's ServiceAccount bind on exactly these (the chart does, from rbac.grantableClusterRoles).",
		strings.Join(controllers.DefaultGrantableClusterRoles, ",")), func(v string) error {
		roles, err := parseClusterRoles(v)
		opts.GrantableClusterRoles = roles
		return err
	})
	var kubeAPIQPS float64
	var kubeAPIBurst int
	fs.Float64Var(&kubeAPIQPS, "kube-api-qps", 0, "Requests per second to the Kubernetes API server; 0 leaves the client unlimited and the API server's priority and fairness in charge.")
	fs.IntVar(&kubeAPIBurst, "kube-api-burst", 0, "Burst of requests to the Kubernetes API server with --kube-api-qps (default twice the QPS).")
	var shutdownDelay time.Duration
	fs.DurationVar(&shutdownDelay, "shutdown-delay", 5*time.Second, "How long the manager goes on serving, not ready, after SIGTERM before it stops accepting "+
		"connections, so that Services and Ingress controllers stop sending it any first (then in-flight SCIM requests get up to 25s).")
	zapOpts := zap.Options{Development: false, TimeEncoder: zapcore.RFC3339NanoTimeEncoder}
	zapOpts.BindFlags(fs)
	_ = fs.Parse(args)
	ctrl.SetLogger(logging.DeferValues(zap.New(zap.UseFlagOptions(&zapOpts))))
	log := ctrl.Log.WithName("setup")
	if limit, err := memlimit.Set("/sys/fs/cgroup"); err != nil {
		log.Error(err, "Failed to read the container's memory limit; the Go runtime runs without one")
	} else if limit > 0 {
		log.Info("Go runtime memory limit set from the container's", "bytes", limit, "fraction", memlimit.Fraction)
	}

	ctx, draining := manager.DrainOnSignal(shutdownDelay, log)
	opts.Draining = draining
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "Failed to load a kubeconfig")
		return 1
	}
	if kubeAPIQPS > 0 {
		cfg.QPS, cfg.Burst = float32(kubeAPIQPS), kubeAPIBurst
		if cfg.Burst <= 0 {
			cfg.Burst = int(2 * kubeAPIQPS)
		}
	}
	mgr, err := manager.New(ctx, cfg, opts)
	if err != nil {
		log.Error(err, "Failed to set up the manager")
		return 1
	}
	log.Info("Starting manager")
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "Manager stopped with an error")
		return 1
	}
	return 0
}

// parseClusterRoles reads a comma-separated list of ClusterRole names.
func parseClusterRoles(v string) ([]string, error) {
	var roles []string
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case strings.ContainsAny(name, "*/ ") || strings.HasPrefix(name, "system:"):
			return nil, fmt.Errorf("%q is not a ClusterRole a tenant may map to", name)
		}
		roles = append(roles, name)
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("no ClusterRole named")
	}
	return roles, nil
}

func usage(w *os.File, text string) int {
	fmt.Fprintln(w, text)
	return 2
}
