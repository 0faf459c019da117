package index

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

func user(name, userName, rv string) *identityv1alpha1.ScimUser {
	return &identityv1alpha1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv},
		Spec: identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: "t"}, UserName: userName}}
}

func TestKeysFollowObjects(t *testing.T) {
	k := NewLookups().UserName
	names := func(namespace, userName string) []string {
		var out []string
		for _, o := range k.Objects(namespace, UserNameKey("t", userName)) {
			out = append(out, o.GetName())
		}
		return out
	}

	alice := user("u1", "Alice@example.com", "10")
	k.update(nil, alice)
	if got := names("ns", "alice@EXAMPLE.com"); !slices.Equal(got, []string{"u1"}) {
		t.Fatalf("case-insensitive lookup: %q", got)
	}
	if got := names("other-namespace", "alice@example.com"); got != nil {
		t.Fatalf("another namespace sees %q", got)
	}

	// Two objects may share a key (an administrator's kubectl apply); both are found.
	twin := user("u2", "alice@example.com", "11")
	k.update(nil, twin)
	if got := names("ns", "alice@example.com"); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Fatalf("shared key: %q", got)
	}

	// A change that keeps the key: the key finds the object as changed.
	suspended := alice.DeepCopy()
	suspended.ResourceVersion, suspended.Spec.Active = "12", new(false)
	k.update(alice, suspended)
	if got := k.Objects("ns", UserNameKey("t", "alice@example.com")); len(got) != 2 || got[0] != suspended || got[1] != twin {
		t.Fatalf("after an update the key finds %v, want the updated object and its twin", got)
	}

	renamed := user("u1", "alicia@example.com", "13")
	k.update(suspended, renamed)
	if got := names("ns", "alice@example.com"); !slices.Equal(got, []string{"u2"}) {
		t.Fatalf("after the rename the old key names %q", got)
	}
	if got := k.Objects("ns", UserNameKey("t", "alicia@example.com")); len(got) != 1 || got[0] != renamed {
		t.Fatalf("after the rename the new key finds %v", got)
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

func TestKeysLeaveOutTheirReadersDeletes(t *testing.T) {
	k := NewLookups().UserName
	withUID := func(u *identityv1alpha1.ScimUser, uid string) *identityv1alpha1.ScimUser {
		u.UID = types.UID(uid)
		return u
	}
	terminating := func(u *identityv1alpha1.ScimUser, rv string) *identityv1alpha1.ScimUser {
		u = u.DeepCopy()
		u.ResourceVersion, u.DeletionTimestamp = rv, &metav1.Time{Time: time.Now()}
		return u
	}
	key := UserNameKey("t", "a@example.com")

	a := withUID(user("u1", "a@example.com", "5"), "uid-1")
	k.update(nil, a)
	// The DELETE was answered before the index took it in: a read after it must not
	// find the object.
	k.Deleted(a)
	if got := k.Objects("ns", key); len(got) != 0 {
		t.Fatalf("a deleted object is still found: %v", got)
	}
	// What else has the key is found: the same userName created again, under another name.
	b := withUID(user("u2", "a@example.com", "6"), "uid-2")
	k.update(nil, b)
	if got := k.Objects("ns", key); len(got) != 1 || got[0] != b {
		t.Fatalf("beside a deleted object the key finds %v, want the new one", got)
	}
	// The index takes the delete in: the object, held by its finalizer, is found with
	// its deletionTimestamp (which readers leave out), and nothing is remembered.
	aTerminating := terminating(a, "7")
	k.update(a, aTerminating)
	if len(k.deleting) != 0 {
		t.Fatalf("the delete taken in, the index still remembers %v", k.deleting)
	}
	if got := k.Objects("ns", key); len(got) != 2 || got[0] != aTerminating {
		t.Fatalf("after the delete was taken in the key finds %v", got)
	}

	// The index took the delete in before the reader told it: nothing to remember.
	c := withUID(user("u3", "c@example.com", "8"), "uid-3")
	k.update(nil, c)
	k.update(c, terminating(c, "9"))
	k.Deleted(c)
	if len(k.deleting) != 0 {
		t.Fatalf("a delete already taken in is remembered: %v", k.deleting)
	}

	// Gone from the index before the reader told it: remembered, at the cost of its
	// memory only (a UID never comes back), until forgotten.
	k.update(b, nil)
	k.Deleted(b)
	if _, ok := k.deleting[b.UID]; !ok {
		t.Fatal("an object gone from the index before Deleted is not remembered")
	}
	k.deleting[b.UID] = time.Now().Add(-forgetDeleted - time.Second)
	k.Deleted(aTerminating)
	if len(k.deleting) != 0 {
		t.Fatalf("entries older than forgetDeleted are kept: %v", k.deleting)
	}
}

// The index's map keys are the strings of the objects it holds, never of a version
// it no longer does: a string of a packed object keeps all its strings alive.
func TestKeysHoldNoStringOfAnOldVersion(t *testing.T) {
	k := NewLookups().UserName
	heldStrings := func() []*byte {
		var out []*byte
		for key := range k.byKey {
			out = append(out, unsafe.StringData(key.namespace), unsafe.StringData(key.Tenant), unsafe.StringData(key.Value))
		}
		return out
	}
	ownStrings := func(u *identityv1alpha1.ScimUser) []*byte {
		return []*byte{unsafe.StringData(u.Namespace), unsafe.StringData(u.Spec.TenantRef.Name), unsafe.StringData(u.Spec.UserName)}
	}
	// Each version decoded anew, as an informer's are: strings of their own.
	decoded := func(name, userName, rv string) *identityv1alpha1.ScimUser {
		u := user(strings.Clone(name), strings.Clone(userName), rv)
		u.Namespace, u.Spec.TenantRef.Name = strings.Clone(u.Namespace), strings.Clone(u.Spec.TenantRef.Name)
		return u
	}

	first := decoded("u1", "a@example.com", "1")
	k.update(nil, first)
	second := decoded("u1", "a@example.com", "2")
	k.update(first, second)
	if got, want := heldStrings(), ownStrings(second); !slices.Equal(got, want) {
		t.Errorf("after an update that kept the key, the index holds strings at %v, want the new version's %v", got, want)
	}

	twin := decoded("u2", "a@example.com", "3")
	k.update(nil, twin)
	k.update(twin, nil)
	if got, want := heldStrings(), ownStrings(second); !slices.Equal(got, want) {
		t.Errorf("after its twin went, the key's strings are at %v, want those of the object left %v", got, want)
	}
}
