package manager

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	rbacv1client "k8s.io/client-go/kubernetes/typed/rbac/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
)

// withRoleBindings is the manager's cache with the operator's RoleBindings beside it,
// as digests (index.RoleBindings) kept by a reflector of their own. Being part of the
// cache, they are listed alongside the identities at a start, and no controller
// starts before it holds them: a reconcile that did not yet see its identity's
// binding would try to create it again.
type withRoleBindings struct {
	cache.Cache
	known     *index.RoleBindings
	reflector *toolscache.Reflector
}

func newCacheWithRoleBindings(known *index.RoleBindings) cache.NewCacheFunc {
	return func(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
		c, err := cache.New(cfg, opts)
		if err != nil {
			return nil, err
		}
		reflector, err := newRoleBindingReflector(cfg, known)
		if err != nil {
			return nil, err
		}
		return &withRoleBindings{Cache: c, known: known, reflector: reflector}, nil
	}
}

// Start runs the reflector beside the cache's informers, until ctx ends.
func (c *withRoleBindings) Start(ctx context.Context) error {
	go c.reflector.RunWithContext(ctx)
	return c.Cache.Start(ctx)
}

// WaitForCacheSync waits for the informers, then for the digests.
func (c *withRoleBindings) WaitForCacheSync(ctx context.Context) bool {
	return c.Cache.WaitForCacheSync(ctx) && toolscache.WaitForCacheSync(ctx.Done(), c.known.HasSynced)
}

// newRoleBindingReflector watches the RoleBindings labelled as the operator's, in
// every namespace, into known.
func newRoleBindingReflector(cfg *rest.Config, known *index.RoleBindings) (*toolscache.Reflector, error) {
	cfg = rest.CopyConfig(cfg)
	// Decoded only to be reduced to digests: protobuf is the cheaper to decode.
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	c, err := rbacv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the RoleBinding client: %w", err)
	}
	managed := labels.SelectorFromSet(labels.Set{identityv1alpha1.LabelManagedBy: identityv1alpha1.LabelManagedByValue}).String()
	lw := toolscache.NewFilteredListWatchFromClient(c.RESTClient(), "rolebindings", metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = managed })
	return toolscache.NewReflectorWithOptions(lw, &rbacv1.RoleBinding{}, known,
		toolscache.ReflectorOptions{Name: "scim-operator RoleBindings", TypeDescription: "RoleBinding digests"}), nil
}
