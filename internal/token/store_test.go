package token_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testenv"
	"github.com/scim-operator/scim-operator/internal/token"
)

var k8sClient client.Client

func TestMain(m *testing.M) {
	env, cfg, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	k8sClient, err = client.New(cfg, client.Options{Scheme: s})
	code := 1
	if err == nil {
		code = m.Run()
	}
	_ = env.Stop()
	os.Exit(code)
}

func accepted(t *testing.T, ns, tenant, tok string, now time.Time) (string, bool) {
	t.Helper()
	list := &corev1.SecretList{}
	if err := k8sClient.List(context.Background(), list, client.InNamespace(ns), client.MatchingLabels{identityv1alpha1.LabelTenant: tenant}); err != nil {
		t.Fatal(err)
	}
	var creds []token.Credential
	for i := range list.Items {
		c, err := token.FromSecret(&list.Items[i])
		if err != nil {
			t.Fatalf("Secret %s: %v", list.Items[i].Name, err)
		}
		creds = append(creds, c)
	}
	c, ok := token.Match(creds, tok, now)
	return c.SecretName, ok
}

func TestIssueRotateRevoke(t *testing.T) {
	ctx := context.Background()
	ns := "default"

	first, s, err := token.Issue(ctx, k8sClient, ns, "entra", "entra-token", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, plain := s.Data[token.KeyToken]; plain {
		t.Fatal("the plain token was stored")
	}
	if name, ok := accepted(t, ns, "entra", first, time.Now()); !ok || name != "entra-token" {
		t.Fatalf("first token: accepted=%v by %q", ok, name)
	}

	// Issuing again into the same Secret replaces the token: the old one stops working.
	second, _, err := token.Issue(ctx, k8sClient, ns, "entra", "entra-token", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := accepted(t, ns, "entra", first, time.Now()); ok {
		t.Fatal("a replaced token is still accepted")
	}

	// Rotation: both tokens work during the overlap, only the new one after it.
	third, rotated, expiring, err := token.Rotate(ctx, k8sClient, ns, "entra", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(expiring) != 1 || expiring[0] != "entra-token" {
		t.Fatalf("expiring %v, want [entra-token]", expiring)
	}
	if _, ok := accepted(t, ns, "entra", second, time.Now()); !ok {
		t.Fatal("the old token was refused during the overlap")
	}
	later := time.Now().Add(61 * time.Minute)
	if _, ok := accepted(t, ns, "entra", second, later); ok {
		t.Fatal("the old token is accepted after the overlap")
	}
	if name, ok := accepted(t, ns, "entra", third, later); !ok || name != rotated.Name {
		t.Fatalf("new token: accepted=%v by %q, want %q", ok, name, rotated.Name)
	}

	// A token of one tenant opens no other.
	if _, ok := accepted(t, ns, "okta", third, time.Now()); ok {
		t.Fatal("a token opened another tenant")
	}

	deleted, err := token.Revoke(ctx, k8sClient, ns, "entra", "")
	if err != nil || len(deleted) != 2 {
		t.Fatalf("revoke all: %v, deleted %v", err, deleted)
	}
	if _, ok := accepted(t, ns, "entra", third, time.Now()); ok {
		t.Fatal("a revoked token is still accepted")
	}
}

func TestIssueRefusesAnotherTenantsSecret(t *testing.T) {
	ctx := context.Background()
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "shared-name",
		Labels: map[string]string{identityv1alpha1.LabelTenant: "okta"}}}
	if err := k8sClient.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	_, _, err := token.Issue(ctx, k8sClient, "default", "entra", "shared-name", time.Time{})
	if err == nil {
		t.Fatal("issued a token into another tenant's Secret")
	}
	if _, err := token.Revoke(ctx, k8sClient, "default", "entra", "missing"); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("revoking a missing Secret: %v", err)
	}
}
