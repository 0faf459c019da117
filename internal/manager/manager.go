// Package manager assembles the scim-operator process: the controller-runtime
// manager with its caches, indexes and reconcilers (and, as Runnables, the servers
// that share its cache), so that the production binary and `make run` build it alike.
package manager

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers"
	"github.com/scim-operator/scim-operator/internal/events"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/internal/intern"
	"github.com/scim-operator/scim-operator/scimserver"
)

// LeaderElectionID names the Lease that the replicas elect the controllers' leader with.
const LeaderElectionID = "scim-operator.identity.scim-operator.io"

// Options configure the process.
type Options struct {
	// MetricsAddr serves Prometheus metrics; "0" turns them off.
	MetricsAddr string
	// SecureMetrics serves metrics over HTTPS behind Kubernetes authentication and authorization.
	SecureMetrics bool
	// ProbeAddr serves /healthz and /readyz.
	ProbeAddr string
	// PprofAddr serves Go's /debug/pprof profiles; empty turns them off. They expose
	// the process's memory, so bind them to localhost (kubectl port-forward).
	PprofAddr string
	// LeaderElection runs the controllers on one replica at a time.
	LeaderElection bool
	// LeaderElectionNamespace holds the Lease; empty means the namespace the pod runs in.
	LeaderElectionNamespace string
	// EnableHTTP2 allows HTTP/2 on the metrics server, off by default against HTTP/2
	// rapid-reset and stream-cancellation attacks.
	EnableHTTP2 bool
	// ExternalURL is the base URL identity providers reach the SCIM server at.
	ExternalURL string
	// GrantableClusterRoles are the only ClusterRoles the operator binds; empty means
	// controllers.DefaultGrantableClusterRoles.
	GrantableClusterRoles []string
	// MaxConcurrentReconciles bounds each identity controller's parallel reconciles.
	MaxConcurrentReconciles int
	// SCIM configures the SCIM server; an empty BindAddress runs none.
	SCIM scimserver.Options
	// Draining is closed when the process starts to stop: readiness fails from then
	// on, so that no new connections are sent to it.
	Draining <-chan struct{}
	// Restartable lets a second manager run in the same process after the first
	// stopped, as a test of a restarted pod does (controller names are otherwise
	// unique per process, for their metrics).
	Restartable bool
}

// Scheme returns the types the manager reads and writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilMust(clientgoscheme.AddToScheme(s))
	utilMust(identityv1alpha1.AddToScheme(s))
	return s
}

func utilMust(err error) {
	if err != nil {
		panic(err)
	}
}

// New builds the manager with every index and reconciler registered.
func New(ctx context.Context, cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	var tlsOpts []func(*tls.Config)
	if !opts.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: opts.MetricsAddr, SecureServing: opts.SecureMetrics, TLSOpts: tlsOpts}
	if opts.SecureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	lookups := index.NewLookups()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        Scheme(),
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        opts.ProbeAddr,
		PprofBindAddress:              opts.PprofAddr,
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cacheOptions(lookups.Members),
		NewCache:                      newCacheWithRoleBindings(lookups.RoleBindings),
		// RoleBindings are known as digests beside the cache; should a reconcile ever
		// read one, it goes to the API server, where the cache would start an informer
		// of every RoleBinding in the cluster.
		Client:     client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&rbacv1.RoleBinding{}}}},
		Controller: config.Controller{SkipNameValidation: ptr.To(opts.Restartable)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	if err := lookups.Register(ctx, mgr.GetCache()); err != nil {
		return nil, err
	}
	// Not the manager's own recorder: client-go's broadcaster holds every Event for
	// minutes, which at provisioning rates is a large part of the heap.
	recorder := events.New(mgr.GetScheme(), mgr.GetClient(), ctrl.Log.WithName("events"), events.Options{Controller: "scim-operator"})
	if err := mgr.Add(recorder); err != nil {
		return nil, fmt.Errorf("adding the event recorder: %w", err)
	}
	if err := setupControllers(mgr, lookups, recorder, opts); err != nil {
		return nil, err
	}
	if opts.SCIM.BindAddress != "" {
		scimOpts := opts.SCIM
		if scimOpts.ExternalURL == "" {
			scimOpts.ExternalURL = opts.ExternalURL
		}
		scimClient, err := NewSCIMClient(mgr)
		if err != nil {
			return nil, err
		}
		srv := scimserver.New(scimClient, mgr.GetAPIReader(), lookups, recorder,
			ctrl.Log.WithName("scim"), scimOpts)
		if err := mgr.Add(srv); err != nil {
			return nil, fmt.Errorf("adding the SCIM server: %w", err)
		}
		if err := mgr.AddReadyzCheck("scim", srv.Listening); err != nil {
			return nil, err
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	// Not ready once stopping, so that Services stop routing here while it serves on.
	if err := mgr.AddReadyzCheck("draining", func(*http.Request) error {
		select {
		case <-opts.Draining:
			return fmt.Errorf("stopping")
		default:
			return nil
		}
	}); err != nil {
		return nil, err
	}
	informers, err := servingInformers(ctx, mgr.GetCache(), &identityv1alpha1.ScimTenant{}, &corev1.Secret{})
	if err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("caches", cachesSynced(append(informers, lookups.HasSynced)...)); err != nil {
		return nil, err
	}
	return mgr, nil
}

// NewSCIMClient is the SCIM server's client over the manager's cache. The server reads
// back what it just wrote (Microsoft's tests list users right after creating them; Entra
// ID looks a user up before creating it): its reads wait until the cache has seen its
// own writes. It is a client of its own so that they never wait for the controllers'
// writes, thousands of which may be queued (a 10,000-user cycle showed lookups waiting
// 300 ms behind them when the two shared one client).
func NewSCIMClient(mgr ctrl.Manager) (client.Client, error) {
	c, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		Cache: &client.CacheOptions{Reader: mgr.GetCache(), EnableReadYourWritesConsistency: ptr.To(true)}})
	if err != nil {
		return nil, fmt.Errorf("creating the SCIM server's client: %w", err)
	}
	return c, nil
}

// cacheOptions keeps in memory only the Secrets that hold tenant tokens: a cluster has
// many Secrets, and a controller has no business holding the others.
func cacheOptions(members *index.Members) cache.Options {
	tokenSecrets, err := labels.NewRequirement(identityv1alpha1.LabelTenant, selection.Exists, nil)
	utilMust(err)
	// Of ResourceQuotas only the operator's own are watched.
	managed := labels.SelectorFromSet(labels.Set{identityv1alpha1.LabelManagedBy: identityv1alpha1.LabelManagedByValue})
	return cache.Options{
		DefaultTransform: compactForCache(intern.New(), members),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}:        {Label: labels.NewSelector().Add(*tokenSecrets)},
			&corev1.ResourceQuota{}: {Label: managed},
		},
	}
}

func setupControllers(mgr ctrl.Manager, lookups *index.Lookups, recorder *events.Recorder, opts Options) error {
	grants := controllers.Grants{ClusterRoles: opts.GrantableClusterRoles}
	if len(grants.ClusterRoles) == 0 {
		grants.ClusterRoles = controllers.DefaultGrantableClusterRoles
	}
	if err := (&controllers.ScimTenantReconciler{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Recorder:    recorder,
		ExternalURL: opts.ExternalURL,
		Users:       lookups.Users,
		Groups:      lookups.Groups,
		Grants:      grants,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up ScimTenant controller: %w", err)
	}
	if err := (&controllers.ScimUserReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                recorder,
		Grants:                  grants,
		Bindings:                lookups.RoleBindings.Users,
		MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up ScimUser controller: %w", err)
	}
	if err := (&controllers.ScimGroupReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder,
		Members: lookups.Members, Bindings: lookups.RoleBindings.Groups, Grants: grants}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up ScimGroup controller: %w", err)
	}
	deliveries := &controllers.DeliveryReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder,
		Members: lookups.Members}
	if err := deliveries.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the delivery controller: %w", err)
	}
	if err := (&controllers.DownstreamAppReconciler{Client: mgr.GetClient(), Recorder: recorder, Deliveries: deliveries}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up DownstreamApp controller: %w", err)
	}
	return nil
}
