package token

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Issue stores a new token for a tenant in the named Secret, replacing any token it
// held, and returns the token: the only time it exists outside the identity provider.
// An empty secretName creates a Secret with a generated name.
func Issue(ctx context.Context, c client.Client, namespace, tenant, secretName string, expiresAt time.Time) (string, *corev1.Secret, error) {
	tok, err := Generate()
	if err != nil {
		return "", nil, err
	}
	if secretName == "" {
		secretName = fmt.Sprintf("%s-token-%s", tenant, utilrand.String(5))
	}
	want := NewSecret(namespace, secretName, tenant, tok)
	if !expiresAt.IsZero() {
		want.Annotations = map[string]string{AnnotationExpiresAt: expiresAt.UTC().Format(time.RFC3339)}
	}
	existing := &corev1.Secret{}
	err = c.Get(ctx, client.ObjectKeyFromObject(want), existing)
	switch {
	case apierrors.IsNotFound(err):
		if err := c.Create(ctx, want); err != nil {
			return "", nil, fmt.Errorf("creating Secret %s/%s: %w", namespace, secretName, err)
		}
		return tok, want, nil
	case err != nil:
		return "", nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, secretName, err)
	}
	if owner, ok := existing.Labels[identityv1alpha1.LabelTenant]; ok && owner != tenant {
		return "", nil, fmt.Errorf("secret %s/%s belongs to tenant %q", namespace, secretName, owner)
	}
	if existing.Labels == nil {
		existing.Labels = map[string]string{}
	}
	existing.Labels[identityv1alpha1.LabelTenant] = tenant
	delete(existing.Annotations, AnnotationExpiresAt)
	for k, v := range want.Annotations {
		if existing.Annotations == nil {
			existing.Annotations = map[string]string{}
		}
		existing.Annotations[k] = v
	}
	// The old token goes with the plain-text key: a Secret holds one credential.
	existing.Data = want.Data
	if err := c.Update(ctx, existing); err != nil {
		return "", nil, fmt.Errorf("updating Secret %s/%s: %w", namespace, secretName, err)
	}
	return tok, existing, nil
}

// Rotate issues a new token in a new Secret and lets every other token of the tenant
// expire after overlap, long enough to switch the identity provider to the new one.
func Rotate(ctx context.Context, c client.Client, namespace, tenant string, overlap time.Duration) (string, *corev1.Secret, []string, error) {
	tok, created, err := Issue(ctx, c, namespace, tenant, "", time.Time{})
	if err != nil {
		return "", nil, nil, err
	}
	old, err := tenantSecrets(ctx, c, namespace, tenant)
	if err != nil {
		return "", nil, nil, err
	}
	deadline := time.Now().Add(overlap).UTC()
	var expiring []string
	for i := range old {
		s := &old[i]
		if s.Name == created.Name {
			continue
		}
		if cur, ok := s.Annotations[AnnotationExpiresAt]; ok {
			if t, err := time.Parse(time.RFC3339, cur); err == nil && t.Before(deadline) {
				continue // already expiring sooner
			}
		}
		patch := client.MergeFrom(s.DeepCopy())
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[AnnotationExpiresAt] = deadline.Format(time.RFC3339)
		if err := c.Patch(ctx, s, patch); err != nil {
			return "", nil, nil, fmt.Errorf("setting expiry on Secret %s: %w", s.Name, err)
		}
		expiring = append(expiring, s.Name)
	}
	return tok, created, expiring, nil
}

// Revoke deletes the tenant's token Secrets: the named one, or all of them.
func Revoke(ctx context.Context, c client.Client, namespace, tenant, secretName string) ([]string, error) {
	secrets, err := tenantSecrets(ctx, c, namespace, tenant)
	if err != nil {
		return nil, err
	}
	var deleted []string
	for i := range secrets {
		if secretName != "" && secrets[i].Name != secretName {
			continue
		}
		if err := c.Delete(ctx, &secrets[i]); client.IgnoreNotFound(err) != nil {
			return deleted, fmt.Errorf("deleting Secret %s: %w", secrets[i].Name, err)
		}
		deleted = append(deleted, secrets[i].Name)
	}
	if secretName != "" && len(deleted) == 0 {
		return nil, fmt.Errorf("no token Secret %q of tenant %q in namespace %s", secretName, tenant, namespace)
	}
	return deleted, nil
}

func tenantSecrets(ctx context.Context, c client.Client, namespace, tenant string) ([]corev1.Secret, error) {
	list := &corev1.SecretList{}
	if err := c.List(ctx, list, client.InNamespace(namespace), client.MatchingLabels{identityv1alpha1.LabelTenant: tenant}); err != nil {
		return nil, fmt.Errorf("listing token Secrets of tenant %s: %w", tenant, err)
	}
	return list.Items, nil
}
