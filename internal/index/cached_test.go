package index

import (
	"context"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// oneInformer hands out one informer, as the manager's cache does for a kind.
type oneInformer struct{ toolscache.SharedIndexInformer }

func (o oneInformer) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return o.SharedIndexInformer, nil
}

// withoutIndexer hands out an informer that shows no indexer.
type withoutIndexer struct{ informer cache.Informer }

func (w withoutIndexer) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return struct{ cache.Informer }{w.informer}, nil
}

func TestInNamespaceReadsTheCachedObjects(t *testing.T) {
	informer := toolscache.NewSharedIndexInformer(&toolscache.ListWatch{}, &identityv1alpha1.ScimUser{}, 0,
		toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
	alice, bob, carol := user("u1", "alice", "1"), user("u2", "bob", "2"), user("u3", "carol", "3")
	bob.Spec.TenantRef.Name = "other-tenant"
	carol.Namespace = "other-namespace"
	for _, u := range []*identityv1alpha1.ScimUser{alice, bob, carol} {
		if err := informer.GetIndexer().Add(u); err != nil {
			t.Fatal(err)
		}
	}

	ofTenant := func(o client.Object) bool { return o.(*identityv1alpha1.ScimUser).Spec.TenantRef.Name == "t" }
	got, err := InNamespace(context.Background(), oneInformer{informer}, &identityv1alpha1.ScimUser{}, "ns", ofTenant)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []client.Object{alice}) {
		t.Fatalf("the tenant's users in ns: %v, want the cache's own alice", got)
	}
	all, err := InNamespace(context.Background(), oneInformer{informer}, &identityv1alpha1.ScimUser{}, "ns", func(client.Object) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("every user in ns: %d, want 2", len(all))
	}

	// An informer that keeps no indexer is an error, not an empty tenant.
	if _, err := InNamespace(context.Background(), withoutIndexer{informer}, &identityv1alpha1.ScimUser{}, "ns", ofTenant); err == nil ||
		!strings.Contains(err.Error(), "has no indexer") {
		t.Fatalf("read an informer without an indexer: %v", err)
	}
	if _, err := NewLookups().InNamespace(context.Background(), &identityv1alpha1.ScimUser{}, "ns", ofTenant); err == nil {
		t.Fatal("indexes not registered with a cache read one")
	}
}

func TestCachedReadsTheCachedObject(t *testing.T) {
	informer := toolscache.NewSharedIndexInformer(&toolscache.ListWatch{}, &identityv1alpha1.ScimUser{}, 0,
		toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
	alice := user("u1", "alice", "1")
	if err := informer.GetIndexer().Add(alice); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, found, err := Cached(ctx, oneInformer{informer}, &identityv1alpha1.ScimUser{}, types.NamespacedName{Namespace: "ns", Name: "u1"})
	if err != nil || !found || got != client.Object(alice) {
		t.Fatalf("u1: %v, %v, %v; want the cache's own alice", got, found, err)
	}
	for _, key := range []types.NamespacedName{{Namespace: "ns", Name: "u2"}, {Namespace: "other-namespace", Name: "u1"}} {
		if got, found, err := Cached(ctx, oneInformer{informer}, &identityv1alpha1.ScimUser{}, key); err != nil || found || got != nil {
			t.Fatalf("%s: %v, %v, %v; want none", key, got, found, err)
		}
	}
	if _, _, err := Cached(ctx, withoutIndexer{informer}, &identityv1alpha1.ScimUser{}, types.NamespacedName{Namespace: "ns", Name: "u1"}); err == nil {
		t.Fatal("read an informer without an indexer")
	}
	if _, _, err := NewLookups().Cached(ctx, &identityv1alpha1.ScimUser{}, types.NamespacedName{Namespace: "ns", Name: "u1"}); err == nil {
		t.Fatal("indexes not registered with a cache read one")
	}
}
