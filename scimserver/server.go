// Package scimserver is the SCIM 2.0 endpoint (RFC 7643, RFC 7644) identity providers
// push users and groups to: /scim/NAMESPACE/TENANT/v2/…, each tenant with its own
// bearer tokens. It serves on every replica (no leader election) and talks to the API
// server only through the manager's cache and client.
package scimserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/scimserver/clientaddr"
	"github.com/scim-operator/scim-operator/scimserver/store"
)

// The SCIM server writes identities, reads tenants and their token Secrets, records
// Events, and notes each tenant's last request time.
// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimusers;scimgroups,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimtenants,verbs=list;watch
// +kubebuilder:rbac:groups=identity.scim-operator.io,resources=scimtenants/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Options configure the server; zero values take the defaults.
type Options struct {
	// BindAddress is where the server listens, e.g. ":8080".
	BindAddress string
	// ExternalURL is the default base URL clients reach the server at; a tenant's
	// spec.externalBaseURL overrides it.
	ExternalURL string
	// MaxBodyBytes bounds a request body (default 1 MiB); larger ones get 413.
	MaxBodyBytes int64
	// MaxBulkOperations bounds the operations of one /Bulk request (default 1000).
	MaxBulkOperations int
	// MaxBulkBodyBytes bounds a /Bulk request body (default 4 MiB).
	MaxBulkBodyBytes int64
	// MaxResults caps a page of a list (default 1000; clients asking for more get fewer).
	MaxResults int
	// RequestsPerSecond and Burst rate-limit each tenant (default 200/s, burst 400).
	RequestsPerSecond float64
	Burst             int
	// FailedAuthPerSecond and FailedAuthBurst limit the failed authentications (wrong
	// or missing token, unknown tenant) of each client address (default 1/s, burst 20);
	// an address beyond them gets 429 whatever it sends.
	FailedAuthPerSecond float64
	FailedAuthBurst     int
	// TrustedProxies are the peers (an Ingress controller's pods) whose
	// X-Forwarded-For names the client address; without them the peer is the client.
	TrustedProxies []netip.Prefix
	// RequestTimeout bounds the work on one request (default 30s; Okta gives up at 60s).
	RequestTimeout time.Duration
	// TLSCertFile and TLSKeyFile serve HTTPS directly when both are set.
	TLSCertFile, TLSKeyFile string
	// ShutdownTimeout is how long in-flight requests may finish at shutdown (default 25s).
	ShutdownTimeout time.Duration
	// ActivityInterval is how often each tenant's status.lastRequestTime is written
	// (default 1m): a status write per request would double the API server's load.
	ActivityInterval time.Duration
}

func (o *Options) defaults() {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxBulkOperations <= 0 {
		o.MaxBulkOperations = 1000
	}
	if o.MaxBulkBodyBytes <= 0 {
		o.MaxBulkBodyBytes = 4 << 20
	}
	if o.MaxResults <= 0 {
		o.MaxResults = 1000
	}
	if o.RequestsPerSecond <= 0 {
		o.RequestsPerSecond = 200
	}
	if o.Burst <= 0 {
		o.Burst = 2 * int(o.RequestsPerSecond)
	}
	if o.FailedAuthPerSecond <= 0 {
		o.FailedAuthPerSecond = 1
	}
	if o.FailedAuthBurst <= 0 {
		o.FailedAuthBurst = 20
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.ActivityInterval <= 0 {
		o.ActivityInterval = time.Minute
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 25 * time.Second
	}
}

// Server is the SCIM HTTP server.
type Server struct {
	opts     Options
	client   client.Client
	users    store.Collection
	groups   store.Collection
	recorder recorder.EventRecorder
	log      logr.Logger
	limiters sync.Map // tenant key → *rate.Limiter
	failures *clientaddr.Budget
	lookups  *index.Lookups
	// synced is set once the indexes beside the cache have taken in every object.
	synced atomic.Bool
	// listening is set while the listener accepts connections.
	listening atomic.Bool
	activity  *activity
	handler   http.Handler
}

// New builds a server over the manager's client (cached reads), API reader and the
// indexes beside the cache.
func New(c client.Client, apiReader client.Reader, lookups *index.Lookups, rec recorder.EventRecorder, log logr.Logger, opts Options) *Server {
	opts.defaults()
	st := &store.Store{Client: c, APIReader: apiReader, Lookups: lookups}
	s := &Server{
		opts:     opts,
		client:   c,
		users:    st.Users(),
		groups:   st.Groups(),
		recorder: rec,
		log:      log,
		activity: newActivity(),
		failures: clientaddr.NewBudget(opts.FailedAuthPerSecond, opts.FailedAuthBurst),
		lookups:  lookups,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/scim/{namespace}/{tenant}/v2", s.serveTenant)
	mux.HandleFunc("/scim/{namespace}/{tenant}/v2/{rest...}", s.serveTenant)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errNotFound("no SCIM tenant at %s; tenant URLs look like /scim/NAMESPACE/TENANT/v2", r.URL.Path))
	})
	s.handler = s.instrument(mux)
	return s
}

// indexesSynced reports whether lookups can be answered. The readiness probe keeps
// Services from routing here before, but a client that reaches the pod anyway must
// not be told that a user does not exist because the index has not seen it yet: its
// identity provider would create the user a second time.
func (s *Server) indexesSynced() bool {
	if s.synced.Load() {
		return true
	}
	if !s.lookups.HasSynced() {
		return false
	}
	s.synced.Store(true)
	return true
}

// Handler serves the SCIM API.
func (s *Server) Handler() http.Handler { return s.handler }

// NeedLeaderElection is false: every replica serves SCIM.
func (s *Server) NeedLeaderElection() bool { return false }

// Listening is a readiness check: it passes only while the SCIM port accepts
// connections. The manager starts the server after its caches have synced, so a pod
// would otherwise report itself ready a moment before it listens, and a Service would
// send it connections that are refused (make chaos saw a restarted replica refuse one
// 14 ms after its probe passed).
func (s *Server) Listening(*http.Request) error {
	if !s.listening.Load() {
		return errors.New("the SCIM server is not listening")
	}
	return nil
}

// Start serves until ctx ends, then lets in-flight requests finish.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.BindAddress)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.opts.BindAddress, err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      s.opts.RequestTimeout + 30*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	s.listening.Store(true)
	defer s.listening.Store(false)
	go s.activity.flush(ctx, s.client, s.log, s.opts.ActivityInterval)
	errc := make(chan error, 1)
	go func() {
		s.log.Info("Serving SCIM", "address", ln.Addr().String(), "tls", s.opts.TLSCertFile != "")
		if s.opts.TLSCertFile != "" && s.opts.TLSKeyFile != "" {
			errc <- srv.ServeTLS(ln, s.opts.TLSCertFile, s.opts.TLSKeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Shutdown closes the listener first, and may then wait for requests in flight.
	s.listening.Store(false)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
