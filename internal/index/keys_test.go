package index

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

func user(name, userName, rv string) *identityv1alpha1.ScimUser {
	return &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv},
		Spec: identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: "t"}, UserName: userName}}
}

func TestKeysFollowObjects(t *testing.T) {
	k := NewLookups().UserName
	names := func(userName string) []string { return k.Names("ns", UserNameKey("t", userName)) }

	alice := user("u1", "Alice@example.com", "10")
	k.update(nil, alice)
	if got := names("alice@EXAMPLE.com"); !slices.Equal(got, []string{"u1"}) {
		t.Fatalf("case-insensitive lookup: %q", got)
	}
	if got := k.Names("other-namespace", UserNameKey("t", "alice@example.com")); got != nil {
		t.Fatalf("another namespace sees %q", got)
	}

	// Two objects may share a key (an administrator's kubectl apply); both are found.
	twin := user("u2", "alice@example.com", "11")
	k.update(nil, twin)
	if got := names("alice@example.com"); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Fatalf("shared key: %q", got)
	}

	renamed := user("u1", "alicia@example.com", "12")
	k.update(alice, renamed)
	if got := names("alice@example.com"); !slices.Equal(got, []string{"u2"}) {
		t.Fatalf("after the rename the old key names %q", got)
	}
	if got := names("alicia@example.com"); !slices.Equal(got, []string{"u1"}) {
		t.Fatalf("after the rename the new key names %q", got)
	}
	if k.Holds(alice, UserNameKey("t", "alicia@example.com")) || !k.Holds(renamed, UserNameKey("t", "alicia@example.com")) {
		t.Fatal("Holds does not check the object as read")
	}

	k.update(asObject(toolscache.DeletedFinalStateUnknown{Key: "ns/u2", Obj: twin}), nil)
	k.update(renamed, nil)
	if len(k.byKey) != 0 {
		t.Fatalf("index not empty after every object went: %v", k.byKey)
	}
}

func TestKeysWaitForAWrite(t *testing.T) {
	k := NewLookups().UserName
	k.update(nil, user("u1", "a@example.com", "5"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := k.WaitFor(ctx, 5); err != nil {
		t.Fatalf("waiting for what the index has: %v", err)
	}
	if err := k.WaitFor(ctx, 6); err == nil {
		t.Fatal("waiting for a write the index has not seen returned before the context ended")
	}

	done := make(chan error, 1)
	go func() { done <- k.WaitFor(context.Background(), 7) }()
	k.update(nil, user("u2", "b@example.com", "7"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait did not end when the index took in the write")
	}
}
