package token

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGenerateIsRandomAndPrefixed(t *testing.T) {
	a, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate()
	if a == b {
		t.Fatal("two tokens are equal")
	}
	if !strings.HasPrefix(a, prefix) || len(a) != len(prefix)+43 {
		t.Fatalf("token %q: want prefix %q and 43 base64url characters", a, prefix)
	}
}

func TestFromSecret(t *testing.T) {
	tok := "scimop_0123456789abcdef0123456789"
	tests := []struct {
		name    string
		secret  corev1.Secret
		wantErr string
		matches bool
	}{
		{name: "plain token", secret: corev1.Secret{Data: map[string][]byte{KeyToken: []byte(tok + "\n")}}, matches: true},
		{name: "hash", secret: corev1.Secret{Data: map[string][]byte{KeySHA256: []byte(Hash(tok))}}, matches: true},
		{name: "upper-case hash", secret: corev1.Secret{Data: map[string][]byte{KeySHA256: []byte(strings.ToUpper(Hash(tok)))}}, matches: true},
		{name: "hash of another token", secret: corev1.Secret{Data: map[string][]byte{KeySHA256: []byte(Hash("other-token-value-xx"))}}},
		{name: "short hash", secret: corev1.Secret{Data: map[string][]byte{KeySHA256: []byte("abcd")}}, wantErr: "64 hex digits"},
		{name: "short token", secret: corev1.Secret{Data: map[string][]byte{KeyToken: []byte("short")}}, wantErr: "shorter than 16"},
		{name: "empty", secret: corev1.Secret{}, wantErr: "neither"},
		{name: "bad expiry", secret: corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationExpiresAt: "tomorrow"}},
			Data:       map[string][]byte{KeyToken: []byte(tok)},
		}, wantErr: "RFC 3339"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromSecret(&tt.secret)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := Match([]Credential{c}, tok, time.Now()); ok != tt.matches {
				t.Fatalf("match = %v, want %v", ok, tt.matches)
			}
		})
	}
}

func TestMatchRefusesExpiredAndPicksTheRightSecret(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old := NewSecret("ns", "old", "t", "old-token-0123456789")
	old.Annotations = map[string]string{AnnotationExpiresAt: now.Format(time.RFC3339)}
	cur := NewSecret("ns", "current", "t", "new-token-0123456789")
	var creds []Credential
	for _, s := range []*corev1.Secret{old, cur} {
		c, err := FromSecret(s)
		if err != nil {
			t.Fatal(err)
		}
		creds = append(creds, c)
	}
	if _, ok := Match(creds, "old-token-0123456789", now); ok {
		t.Error("an expired token was accepted")
	}
	if _, ok := Match(creds, "old-token-0123456789", now.Add(-time.Second)); !ok {
		t.Error("a token was refused before its expiry")
	}
	if c, ok := Match(creds, "new-token-0123456789", now); !ok || c.SecretName != "current" {
		t.Errorf("got %q, %v; want the current secret", c.SecretName, ok)
	}
	if _, ok := Match(creds, "", now); ok {
		t.Error("an empty token was accepted")
	}
}
