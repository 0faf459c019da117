package controllers

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/connectors"
	"github.com/scim-operator/scim-operator/connectors/scimclient"
	"github.com/scim-operator/scim-operator/connectors/webhook"
)

// Secret keys an app's connector reads.
const (
	keyWebhookSecret = "secret"
	keySCIMToken     = "token"
)

// credentialTTL is how long a connector's Secret is used before it is read again: the
// manager caches only tenant token Secrets, and reading the API server for each of
// thousands of deliveries would load it for nothing. A rotated secret is in use within it.
const credentialTTL = 30 * time.Second

const (
	defaultWebhookTimeout = 10 * time.Second
	scimConnectorTimeout  = 30 * time.Second
)

// connectorCache builds each app's connector from its spec and Secret, and reuses it.
type connectorCache struct {
	reader client.Reader // the API server: app Secrets are not in the cache
	// http is shared by every connector, so that a connector rebuilt for a fresh Secret
	// keeps the pooled connections; a context timeout bounds each delivery.
	http  *http.Client
	mu    sync.Mutex
	byApp map[types.NamespacedName]cachedConnector
}

type cachedConnector struct {
	generation int64
	fetched    time.Time
	connector  connectors.Connector
	timeout    time.Duration
}

// get returns the app's connector and the timeout of one delivery.
func newConnectorCache(reader client.Reader) *connectorCache {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = perAppConcurrency
	return &connectorCache{reader: reader, http: &http.Client{Transport: transport}, byApp: map[types.NamespacedName]cachedConnector{}}
}

func (c *connectorCache) get(ctx context.Context, app *identityv1alpha1.DownstreamApp) (connectors.Connector, time.Duration, error) {
	key := client.ObjectKeyFromObject(app)
	c.mu.Lock()
	cached, ok := c.byApp[key]
	c.mu.Unlock()
	if ok && cached.generation == app.Generation && time.Since(cached.fetched) < credentialTTL {
		return cached.connector, cached.timeout, nil
	}
	conn, timeout, err := c.build(ctx, app)
	if err != nil {
		return nil, 0, err
	}
	c.mu.Lock()
	c.byApp[key] = cachedConnector{generation: app.Generation, fetched: time.Now(), connector: conn, timeout: timeout}
	c.mu.Unlock()
	return conn, timeout, nil
}

func (c *connectorCache) forget(app types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byApp, app)
}

func (c *connectorCache) build(ctx context.Context, app *identityv1alpha1.DownstreamApp) (connectors.Connector, time.Duration, error) {
	httpClient := c.http
	switch {
	case app.Spec.Webhook != nil:
		secret, err := secretValue(ctx, c.reader, app.Namespace, app.Spec.Webhook.SecretRef.Name, keyWebhookSecret)
		if err != nil {
			return nil, 0, err
		}
		timeout := defaultWebhookTimeout
		if d, err := time.ParseDuration(app.Spec.Webhook.Timeout); err == nil && d > 0 {
			timeout = d
		}
		return &webhook.Client{URL: app.Spec.Webhook.URL, Secret: secret, HTTP: httpClient}, timeout, nil
	case app.Spec.SCIM != nil:
		token, err := secretValue(ctx, c.reader, app.Namespace, app.Spec.SCIM.TokenSecretRef.Name, keySCIMToken)
		if err != nil {
			return nil, 0, err
		}
		return &scimclient.Client{BaseURL: app.Spec.SCIM.BaseURL, Token: string(token), HTTP: httpClient,
			RoleAttribute: app.Spec.SCIM.RoleAttribute, QuotaAttribute: app.Spec.SCIM.QuotaAttribute}, scimConnectorTimeout, nil
	}
	return nil, 0, fmt.Errorf("no connector: set webhook or scim")
}

// secretValue reads one key of a Secret in the app's namespace.
func secretValue(ctx context.Context, reader client.Reader, namespace, name, key string) ([]byte, error) {
	s := &corev1.Secret{}
	if err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s); err != nil {
		return nil, fmt.Errorf("reading Secret %s: %w", name, err)
	}
	v := s.Data[key]
	if len(v) == 0 {
		return nil, fmt.Errorf("Secret %s has no key %q", name, key)
	}
	return v, nil
}
