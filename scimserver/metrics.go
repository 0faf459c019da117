package scimserver

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/scim-operator/scim-operator/scimserver/store"
)

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scim_requests_total",
		Help: "SCIM requests by tenant (namespace/name), method, resource and status code.",
	}, []string{"tenant", "method", "resource", "code"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "scim_request_duration_seconds",
		Help:    "SCIM request latency by tenant, method and resource.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"tenant", "method", "resource"})
	identityChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scim_identity_changes_total",
		Help: "Identities changed through SCIM by tenant, resource type (User, Group) and action (created, updated, deactivated, reactivated, deleted).",
	}, []string{"tenant", "resource", "action"})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, requestDuration, identityChanges)
}

func countIdentity(t store.Tenant, resource, action string) {
	identityChanges.WithLabelValues(t.Namespace+"/"+t.Name, resource, action).Inc()
}

// labels carries what the handlers learn about a request to the instrumenting
// middleware, which logs and counts it once it is answered.
type labels struct {
	mu       sync.Mutex
	values   [labelCount]string
	internal error
}

// label names one of the values labels carries.
type label int

const (
	labelTenant label = iota
	labelResource
	labelCredential
	labelCount
)

type labelsKey struct{}

func setLabel(r *http.Request, k label, v string) {
	if l, ok := r.Context().Value(labelsKey{}).(*labels); ok {
		l.mu.Lock()
		l.values[k] = v
		l.mu.Unlock()
	}
}

func setInternalError(r *http.Request, err error) {
	if l, ok := r.Context().Value(labelsKey{}).(*labels); ok {
		l.mu.Lock()
		l.internal = err
		l.mu.Unlock()
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// instrument counts, times and logs each request, and bounds the work on it by the
// request timeout (here, so that the request is copied with a context of its own
// once, not once per layer). Logs carry no token and no personal data: the tenant,
// the credential's Secret name, the resource type and the outcome; the path (which
// holds ids) only at debug level.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		l := &labels{}
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), labelsKey{}, l), s.opts.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		l.mu.Lock()
		values, internal := l.values, l.internal
		l.mu.Unlock()
		elapsed := time.Since(start)
		tenant, resource := values[labelTenant], values[labelResource]
		if tenant != "" {
			requestsTotal.WithLabelValues(tenant, r.Method, resource, strconv.Itoa(rec.status)).Inc()
			requestDuration.WithLabelValues(tenant, r.Method, resource).Observe(elapsed.Seconds())
		}
		// The logger is built only for a line that is written: most requests write
		// none above debug level, and its values cost a tenth of a lookup's allocations.
		logger := func() logr.Logger {
			return s.log.WithValues("tenant", tenant, "method", r.Method, "resource", resource,
				"status", rec.status, "duration", elapsed.String(), "credential", values[labelCredential])
		}
		switch {
		case internal != nil:
			logger().Error(internal, "SCIM request failed")
		case rec.status == http.StatusUnauthorized:
			logger().Info("SCIM request refused: no valid token")
		case s.log.V(1).Enabled():
			logger().V(1).Info("SCIM request", "path", r.URL.Path)
		}
	})
}
