// Package token generates SCIM bearer tokens and checks presented tokens against
// the Secrets of a tenant. Only a token's SHA-256 needs to be stored: a token is 256
// random bits, so a plain hash is as strong as a slow one and costs one hash a request.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Keys of a token Secret and the annotation that ends a token's validity.
const (
	// KeyToken holds the token in plain text.
	KeyToken = "token"
	// KeySHA256 holds the lower-case hex SHA-256 of the token.
	KeySHA256 = "tokenSHA256"
	// AnnotationExpiresAt holds an RFC 3339 time after which the token is refused.
	AnnotationExpiresAt = "identity.scim-operator.io/expires-at"
)

// prefix lets secret scanners recognise a leaked token.
const prefix = "scimop_"

// Generate returns a new random token.
func Generate() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash returns the hex SHA-256 of a token, as stored under KeySHA256.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Credential is one accepted token, by its hash.
type Credential struct {
	// SecretName names the Secret it came from, for audit logs: never the token itself.
	SecretName string
	sum        [sha256.Size]byte
	expiresAt  time.Time
}

// Expired reports whether the credential is past its expiry.
func (c Credential) Expired(now time.Time) bool {
	return !c.expiresAt.IsZero() && !now.Before(c.expiresAt)
}

// ExpiresAt returns the expiry, zero when there is none.
func (c Credential) ExpiresAt() time.Time { return c.expiresAt }

// ErrNoToken means a Secret holds neither key.
var ErrNoToken = errors.New("secret has neither a " + KeyToken + " nor a " + KeySHA256 + " key")

// FromSecret reads the credential a Secret holds, explaining what is wrong with it.
func FromSecret(s *corev1.Secret) (Credential, error) {
	c := Credential{SecretName: s.Name}
	if v, ok := s.Annotations[AnnotationExpiresAt]; ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return c, fmt.Errorf("annotation %s is not an RFC 3339 time: %w", AnnotationExpiresAt, err)
		}
		c.expiresAt = t
	}
	if hexSum, ok := s.Data[KeySHA256]; ok {
		sum, err := hex.DecodeString(strings.TrimSpace(string(hexSum)))
		if err != nil || len(sum) != sha256.Size {
			return c, fmt.Errorf("key %s is not a hex SHA-256 (64 hex digits)", KeySHA256)
		}
		copy(c.sum[:], sum)
		return c, nil
	}
	if tok, ok := s.Data[KeyToken]; ok {
		t := strings.TrimSpace(string(tok))
		if len(t) < 16 {
			return c, fmt.Errorf("key %s holds a token shorter than 16 characters", KeyToken)
		}
		c.sum = sha256.Sum256([]byte(t))
		return c, nil
	}
	return c, ErrNoToken
}

// Match returns the credential that the presented token matches. Every credential is
// compared, in constant time, so that neither how much of a token matched nor which
// credential it matched shows in the response time.
func Match(creds []Credential, presented string, now time.Time) (Credential, bool) {
	sum := sha256.Sum256([]byte(presented))
	var found Credential
	matched := 0
	for _, c := range creds {
		eq := subtle.ConstantTimeCompare(sum[:], c.sum[:])
		if eq == 1 && !c.Expired(now) {
			found = c
			matched = 1
		}
	}
	return found, matched == 1
}

// NewSecret returns a Secret that holds only the hash of token, labelled for tenant.
func NewSecret(namespace, name, tenant, token string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
			Name:      name,
			Labels:    map[string]string{identityv1alpha1.LabelTenant: tenant},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{KeySHA256: []byte(Hash(token))},
	}
}
