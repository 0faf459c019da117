package index

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/token"
)

func tokenSecret(name, tenant, tok string) *corev1.Secret {
	return token.NewSecret("ns", name, tenant, tok)
}

// opens reports whether tok opens tenant, and through which Secret.
func opens(c *Credentials, tenant, tok string) (string, bool) {
	cred, ok := token.Match(c.Of("ns", tenant), tok, time.Now())
	return cred.SecretName, ok
}

func TestCredentialsFollowTokenSecrets(t *testing.T) {
	c := NewCredentials()
	const tokA, tokB, tokC = "token-a-0123456789abcdef", "token-b-0123456789abcdef", "token-c-0123456789abcdef"
	a, b := tokenSecret("a", "t", tokA), tokenSecret("b", "t", tokB)
	c.update(nil, a)
	c.update(nil, b)
	for _, tc := range []struct{ tok, secret string }{{tokA, "a"}, {tokB, "b"}} {
		if got, ok := opens(c, "t", tc.tok); !ok || got != tc.secret {
			t.Fatalf("token of Secret %s: opened=%v through %q", tc.secret, ok, got)
		}
	}
	if _, ok := opens(c, "other", tokA); ok {
		t.Fatal("a token opened a tenant whose Secrets do not hold it")
	}

	// A reader holding the slice from before a change keeps seeing it whole.
	before := c.Of("ns", "t")
	held := slices.Clone(before)

	rotated := tokenSecret("a", "t", tokC)
	c.update(a, rotated)
	if _, ok := opens(c, "t", tokA); ok {
		t.Fatal("the token a Secret no longer holds still opens the tenant")
	}
	if got, ok := opens(c, "t", tokC); !ok || got != "a" {
		t.Fatalf("the rotated token: opened=%v through %q", ok, got)
	}
	if !slices.Equal(before, held) {
		t.Fatal("a change rewrote a slice a reader holds")
	}

	moved := rotated.DeepCopy()
	moved.Labels[identityv1alpha1.LabelTenant] = "other"
	c.update(rotated, moved)
	if _, ok := opens(c, "t", tokC); ok {
		t.Fatal("a Secret relabelled for another tenant still opens the first")
	}
	if _, ok := opens(c, "other", tokC); !ok {
		t.Fatal("a Secret relabelled for another tenant does not open it")
	}

	broken := b.DeepCopy()
	broken.Data = map[string][]byte{token.KeySHA256: []byte("not hex")}
	c.update(b, broken)
	if _, ok := opens(c, "t", tokB); ok {
		t.Fatal("a Secret whose credential became invalid still opens the tenant")
	}
	c.update(moved, nil)
	c.update(broken, nil)
	if len(c.byTenant) != 0 {
		t.Fatalf("tenants without credentials are still held: %v", c.byTenant)
	}
}
