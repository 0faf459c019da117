package manager

import (
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/internal/testenv"
)

// The manager's cache reports synced only once it knows the operator's RoleBindings
// that exist at its start, and keeps knowing them as they change; others' bindings
// are never known.
func TestCacheKnowsTheOperatorsRoleBindings(t *testing.T) {
	env, cfg, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	binding := func(name, user string) *rbacv1.RoleBinding {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "oidc:" + name}}}
		if user != "" {
			rb.Labels = map[string]string{identityv1alpha1.LabelManagedBy: identityv1alpha1.LabelManagedByValue,
				identityv1alpha1.LabelUser: user, identityv1alpha1.LabelIdentityNamespace: "idp"}
		}
		if err := api.Create(ctx, rb); err != nil {
			t.Fatal(err)
		}
		return rb
	}
	before, theirs := binding("scim-user-before", "before"), binding("theirs", "")

	known := index.NewRoleBindings()
	c, err := newCacheWithRoleBindings(known)(cfg, cache.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("the cache never synced")
	}
	d, ok := known.Get(client.ObjectKeyFromObject(before))
	if !ok || d.UID != before.UID || d.Content != index.ContentOf(before.Subjects, before.Labels) {
		t.Fatalf("synced without the binding that was there: %+v, %v", d, ok)
	}
	if got := known.Users.Of(types.NamespacedName{Namespace: "idp", Name: "before"}); len(got) != 1 {
		t.Errorf("the user's bindings: %v", got)
	}
	if _, ok := known.Get(client.ObjectKeyFromObject(theirs)); ok {
		t.Error("someone else's binding is known")
	}

	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
		}
	}
	after := binding("scim-user-after", "after")
	eventually("a new binding is known", func() bool { _, ok := known.Get(client.ObjectKeyFromObject(after)); return ok })
	after.Subjects[0].Name = "oidc:mallory"
	if err := api.Update(ctx, after); err != nil {
		t.Fatal(err)
	}
	eventually("an edit is known", func() bool {
		d, _ := known.Get(client.ObjectKeyFromObject(after))
		return d.Content == index.ContentOf(after.Subjects, after.Labels) && d.ResourceVersion == after.ResourceVersion
	})
	if err := api.Delete(ctx, after); err != nil {
		t.Fatal(err)
	}
	eventually("a delete is known", func() bool { _, ok := known.Get(client.ObjectKeyFromObject(after)); return !ok })
}
