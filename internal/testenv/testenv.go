// Package testenv starts the real kube-apiserver and etcd that the envtest suites
// of every package run against, with the project's CRDs installed.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"go.uber.org/zap/zapcore"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// RepoRoot is the folder of the project's go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// ErrNoBinaries means neither KUBEBUILDER_ASSETS nor bin/k8s holds the control plane.
var ErrNoBinaries = errors.New("no kube-apiserver: run `make test`, or `make k8s-binaries` and then go test")

// Start starts a control plane with the CRDs installed. It takes the binaries from
// KUBEBUILDER_ASSETS, as `make test` sets it, or else from bin/k8s, so that a test run
// from an editor finds them too.
func Start() (*envtest.Environment, *rest.Config, error) {
	return StartWith(Options{})
}

// Options add to the control plane that Start starts.
type Options struct {
	// CRDDirs hold more CRDs to install, such as other projects' kinds a test applies.
	CRDDirs []string
	// APIServerFlags are set on kube-apiserver, e.g. audit-policy-file.
	APIServerFlags map[string]string
}

// StartWith is Start with more CRDs and kube-apiserver flags.
func StartWith(opts Options) (*envtest.Environment, *rest.Config, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(RepoRoot(), "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return nil, nil, ErrNoBinaries
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     append([]string{filepath.Join(RepoRoot(), "config", "crd", "bases")}, opts.CRDDirs...),
		ErrorIfCRDPathMissing: true,
	}
	for k, v := range opts.APIServerFlags {
		env.ControlPlane.GetAPIServer().Configure().Set(k, v)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting envtest: %w", err)
	}
	return env, cfg, nil
}

// Manager is what StartManager needs of a controller-runtime manager.
type Manager interface {
	Start(ctx context.Context) error
	GetCache() cache.Cache
}

// StartManager starts mgr and waits for its caches. stop cancels it and returns
// what Start returned.
func StartManager(mgr Manager) (stop func() error, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	syncCtx, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		cancel()
		<-done
		return nil, errors.New("caches did not sync")
	}
	return func() error { cancel(); return <-done }, nil
}

// Tenant is a valid ScimTenant whose workspace is its own namespace and whose token
// Secret is NAME-token.
func Tenant(namespace, name string) *identityv1alpha1.ScimTenant {
	return &identityv1alpha1.ScimTenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: identityv1alpha1.ScimTenantSpec{
			TokenSecretRef: identityv1alpha1.SecretReference{Name: name + "-token"},
			Workspace:      namespace,
			DefaultRole:    "viewer",
			Roles:          []identityv1alpha1.RoleMapping{{Name: "viewer", ClusterRole: "view"}},
		},
	}
}

// FillAggregatedRoles gives the aggregated ClusterRoles view, edit and admin a few
// rules, as kube-controller-manager's aggregation controller fills them in a real
// cluster; envtest runs no controller manager, so they are empty there, and binding an
// empty role would prove nothing about who may grant it.
func FillAggregatedRoles(ctx context.Context, c client.Client) error {
	rules := map[string][]rbacv1.PolicyRule{
		"view":  {{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}},
		"edit":  {{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "create"}}, {APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "create"}}},
		"admin": {{APIGroups: []string{""}, Resources: []string{"pods", "persistentvolumeclaims"}, Verbs: []string{"get", "list", "create", "delete"}}},
	}
	for name, r := range rules {
		var cr rbacv1.ClusterRole
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &cr); err != nil {
			return err
		}
		cr.Rules = r
		if err := c.Update(ctx, &cr); err != nil {
			return err
		}
	}
	return nil
}

// StartQuiet is Start with controller-runtime logging errors only, as the suites
// want it: envtest and the reconcilers are chatty.
func StartQuiet() (*envtest.Environment, *rest.Config, error) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true), zap.Level(zapcore.ErrorLevel)))
	return Start()
}

// FreeAddr is a loopback address with a port nothing listens on, for a server a test
// starts (a listener on port 0 that is closed again). It panics if the loopback
// interface cannot be listened on, where no test could run anyway.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("listening on the loopback interface: %v", err))
	}
	defer l.Close() //nolint:errcheck // freed for the caller's server
	return l.Addr().String()
}

// SharedDir is the folder of third-party conformance data (peer test suites) that
// sits beside the repository in CI: $SCIM_OPERATOR_SHARED, else ../shared. It is
// empty when there is none, as in a user's clone; tests that need it skip.
func SharedDir() string {
	dir := os.Getenv("SCIM_OPERATOR_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "peers")); err != nil {
		return ""
	}
	return dir
}
