package scimserver

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/memo"
	"github.com/scim-operator/scim-operator/internal/token"
	"github.com/scim-operator/scim-operator/scimserver/clientaddr"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
	"github.com/scim-operator/scim-operator/scimserver/store"
)

// request is one authenticated request to a tenant.
type request struct {
	tenant store.Tenant
	// segments of the path under the tenant URL, e.g. ["Users", "ID"].
	segments []string
}

// serveTenant resolves the tenant, enforces its rate limit and token, and dispatches.
func (s *Server) serveTenant(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ns, name := r.PathValue("namespace"), r.PathValue("tenant")
	tenantKey := ns + "/" + name
	setLabel(r, labelTenant, tenantKey)

	if !s.indexesSynced() {
		w.Header().Set("Retry-After", "1")
		writeError(w, r, scimerr.New(http.StatusServiceUnavailable, "the server is starting; retry"))
		return
	}
	// An address that keeps failing is refused before anything is looked up, so that
	// guessing tokens or probing for tenants goes no faster than its budget.
	addr := clientaddr.Of(r, s.opts.TrustedProxies)
	if s.failures.Blocked(addr) {
		s.tooManyRequests(w, r, s.opts.FailedAuthPerSecond, "too many failed authentications from this address; retry later")
		return
	}
	tenant, err := s.tenant(ctx, ns, name)
	if err != nil {
		if se, ok := scimerr.As(err); ok && se.Status == http.StatusNotFound {
			s.failures.Failed(addr)
		}
		writeError(w, r, err)
		return
	}
	// The token is checked before the tenant's request budget is spent, so that
	// requests without a valid token cannot exhaust it and starve the identity
	// provider; failed ones have a budget of their own.
	if err := s.authenticate(r, tenant); err != nil {
		if se, ok := scimerr.As(err); ok && se.Status == http.StatusUnauthorized {
			s.failures.Failed(addr)
			if !s.limiter("unauthorized:" + tenantKey).Allow() {
				s.tooManyRequests(w, r, s.opts.RequestsPerSecond, "too many requests with a missing or invalid token for this tenant; retry later")
				return
			}
		}
		writeError(w, r, err)
		return
	}
	if !s.limiter(tenantKey).Allow() {
		s.tooManyRequests(w, r, s.opts.RequestsPerSecond, "too many requests for this tenant; retry later")
		return
	}
	if tenant.IsPaused() {
		// Entra ID quarantines an app after repeated errors; 503 with Retry-After
		// reads as maintenance.
		w.Header().Set("Retry-After", "300")
		writeError(w, r, scimerr.New(http.StatusServiceUnavailable, "the tenant is paused for maintenance"))
		return
	}
	s.activity.touch(client.ObjectKeyFromObject(tenant))
	baseURL, err := tenantURL(tenant, s.externalBase(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	req := &request{
		tenant: store.Tenant{Namespace: ns, Name: name, BaseURL: baseURL,
			RetainDeleted: tenant.Spec.Deprovisioning.OnDelete == identityv1alpha1.DeleteRetain},
		segments: splitPath(r.PathValue("rest")),
	}
	s.dispatch(w, r, req)
}

// tenantURLKey is what a tenant's URL depends on.
type tenantURLKey struct{ externalBase, defaultBase, namespace, name string }

// tenantURLs keeps tenants' URLs: parsing and joining one took 1.6 µs of a lookup and
// a twentieth of what it allocated. Bounded, as the base may come from a Host header.
var tenantURLs memo.Bounded[tenantURLKey, string]

func tenantURL(tenant *identityv1alpha1.ScimTenant, defaultBase string) (string, error) {
	key := tenantURLKey{externalBase: tenant.Spec.ExternalBaseURL, defaultBase: defaultBase,
		namespace: tenant.Namespace, name: tenant.Name}
	if u, ok := tenantURLs.Get(key); ok {
		return u, nil
	}
	u, err := tenant.URL(defaultBase)
	if err != nil {
		return "", err
	}
	tenantURLs.Put(key, u)
	return u, nil
}

// tenantKind names the kind a request reads its tenant of. It is never filled: a new
// ScimTenant for each request would be 600 bytes of garbage.
var tenantKind client.Object = &identityv1alpha1.ScimTenant{}

func (s *Server) tenant(ctx context.Context, ns, name string) (*identityv1alpha1.ScimTenant, error) {
	// Every request reads its tenant, and only reads it: it is the cache's own, not a
	// copy. Nor does it wait for this server's own tenant writes (the activity times)
	// to reach the cache, which no request needs to see.
	obj, found, err := s.lookups.Cached(ctx, tenantKind, types.NamespacedName{Namespace: ns, Name: name})
	if err != nil {
		return nil, scimerr.New(http.StatusServiceUnavailable, "reading the tenant failed; retry")
	}
	t, isTenant := obj.(*identityv1alpha1.ScimTenant)
	// An unknown and a disabled tenant look alike to everyone, so that probing
	// reveals nothing.
	if !found || !isTenant || !t.IsEnabled() || t.DeletionTimestamp != nil {
		return nil, errNotFound("no SCIM tenant %s/%s", ns, name)
	}
	return t, nil
}

// authenticate checks the bearer token against the credentials of every token Secret
// labelled for the tenant. A token opens only the tenant whose Secrets hold it.
func (s *Server) authenticate(r *http.Request, t *identityv1alpha1.ScimTenant) error {
	presented, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return scimerr.New(http.StatusUnauthorized, "a bearer token is required (Authorization: Bearer TOKEN)")
	}
	cred, ok := token.Match(s.lookups.Credentials.Of(t.Namespace, t.Name), presented, time.Now())
	if !ok {
		return scimerr.New(http.StatusUnauthorized, "the bearer token is not valid for this tenant")
	}
	// Audit by the Secret's name, never the token.
	setLabel(r, labelCredential, cred.SecretName)
	return nil
}

func bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// tooManyRequests answers 429 with the wait for the next request of a budget that
// refills perSecond.
func (s *Server) tooManyRequests(w http.ResponseWriter, r *http.Request, perSecond float64, detail string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(1/perSecond))+1))
	writeError(w, r, scimerr.New(http.StatusTooManyRequests, "%s", detail))
}

func (s *Server) limiter(key string) *rate.Limiter {
	if l, ok := s.limiters.Load(key); ok {
		return l.(*rate.Limiter)
	}
	l, _ := s.limiters.LoadOrStore(key, rate.NewLimiter(rate.Limit(s.opts.RequestsPerSecond), s.opts.Burst))
	return l.(*rate.Limiter)
}

// externalBase is the configured external URL, or else the URL this request came in on.
func (s *Server) externalBase(r *http.Request) string {
	if s.opts.ExternalURL != "" {
		return s.opts.ExternalURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// splitPath splits the path under the tenant URL, tolerating the trailing and doubled
// slashes clients send (Microsoft's tests query /Users/?filter=…).
func splitPath(p string) []string {
	var out []string
	for seg := range strings.SplitSeq(p, "/") {
		if seg != "" {
			out = append(out, seg)
		}
	}
	return out
}
