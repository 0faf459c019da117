package store

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// stuckCache is a cache that never takes in this server's writes, as after an outage
// of the API server while its informers wait to reconnect.
func stuckCache(scheme *runtime.Scheme) client.Client {
	return interceptor.NewClient(fake.NewClientBuilder().WithScheme(scheme).Build(), interceptor.Funcs{
		Get: func(ctx context.Context, _ client.WithWatch, _ client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
			<-ctx.Done()
			return fmt.Errorf("failed to wait for cache to catch up: %w", ctx.Err())
		},
	})
}

// A read does not hold the identity provider's request while the cache is stuck: it
// asks the API server once cacheWait has passed.
func TestAReadAsksTheAPIServerWhenTheCacheIsStuck(t *testing.T) {
	defer func(d time.Duration) { cacheWait = d }(cacheWait)
	cacheWait = 50 * time.Millisecond
	scheme := runtime.NewScheme()
	if err := identityv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	user := &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "2819c223-7f76-453a-919d-413861904646"},
		Spec: identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: "t"}, UserName: "bjensen@example.com"}}
	apiServer := fake.NewClientBuilder().WithScheme(scheme).WithObjects(user).Build()
	st := &Store{Client: stuckCache(scheme), APIReader: apiServer, Lookups: index.NewLookups()}
	tenant := Tenant{Namespace: "ns", Name: "t", BaseURL: "https://example.com/scim/ns/t/v2"}

	began := time.Now()
	request, cancelRequest := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelRequest()
	item, err := st.Users().Get(request, tenant, user.Name)
	if err != nil {
		t.Fatalf("GET with a stuck cache: %v", err)
	}
	got, err := item.Resource()
	if err != nil {
		t.Fatal(err)
	}
	if got.Doc["userName"] != "bjensen@example.com" {
		t.Errorf("read %v", got.Doc)
	}
	if waited := time.Since(began); waited > time.Second {
		t.Errorf("waited %v for a stuck cache, cacheWait 50ms", waited)
	}

	// The request's own deadline is the request's: it is not turned into a read of
	// the API server after the client gave up.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = st.Users().Get(ctx, tenant, user.Name)
	if se, ok := scimerr.As(err); !ok || se.Status != http.StatusServiceUnavailable {
		t.Errorf("GET past the request's deadline: %v, want 503", err)
	}
}
