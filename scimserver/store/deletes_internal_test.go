package store

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/scimserver/filter"
)

// A lookup right after this server deleted a resource does not find it, although the
// indexes, fed by informers, have not taken the delete in yet: the DELETE's answer
// carries no resourceVersion to wait for, so the store tells the indexes itself.
func TestALookupAfterADeleteDoesNotFindIt(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, identityv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	user := &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "2819c223", UID: "uid-bjensen",
		ResourceVersion: "7", Finalizers: []string{identityv1alpha1.FinalizerCleanup}},
		Spec: identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: "t"}, UserName: "bjensen@example.com",
			ExternalID: "bjensen"}}
	apiServer := fake.NewClientBuilder().WithScheme(scheme).WithObjects(user.DeepCopy()).Build()
	informers := &informertest.FakeInformers{Scheme: scheme}
	lookups := index.NewLookups()
	if err := lookups.Register(ctx, informers); err != nil {
		t.Fatal(err)
	}
	users, err := informers.FakeInformerFor(ctx, &identityv1alpha1.ScimUser{})
	if err != nil {
		t.Fatal(err)
	}
	stored := &identityv1alpha1.ScimUser{}
	if err := apiServer.Get(ctx, client.ObjectKeyFromObject(user), stored); err != nil {
		t.Fatal(err)
	}
	users.Add(stored)
	st := &Store{Client: apiServer, APIReader: apiServer, Lookups: lookups}
	tenant := Tenant{Namespace: "ns", Name: "t", BaseURL: "https://example.com/scim/ns/t/v2"}
	found := func(attribute, value string) int {
		t.Helper()
		items, err := st.Users().List(ctx, tenant, []filter.Equality{{Attribute: attribute, Value: value}})
		if err != nil {
			t.Fatalf("lookup by %s: %v", attribute, err)
		}
		return len(items)
	}
	if n := found("userName", "bjensen@example.com"); n != 1 {
		t.Fatalf("before the delete the lookup finds %d", n)
	}

	if _, err := st.Users().Delete(ctx, tenant, user.Name, ""); err != nil {
		t.Fatal(err)
	}
	for attribute, value := range map[string]string{"userName": "bjensen@example.com", "externalId": "bjensen"} {
		if n := found(attribute, value); n != 0 {
			t.Errorf("right after the delete a lookup by %s finds %d", attribute, n)
		}
	}
	// The informer brings the delete (the finalizer holds the object): still not found.
	deleting := &identityv1alpha1.ScimUser{}
	if err := apiServer.Get(ctx, client.ObjectKeyFromObject(user), deleting); err != nil {
		t.Fatal(err)
	}
	users.Update(stored, deleting)
	if n := found("userName", "bjensen@example.com"); n != 0 {
		t.Errorf("once the index has the deletionTimestamp a lookup finds %d", n)
	}
}
