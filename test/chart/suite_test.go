package chart_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/testenv"
)

// The API server the rendered chart is installed into. It writes an audit log, from
// which the least-privilege test learns every request the manager made.
var (
	env       *envtest.Environment
	cfg       *rest.Config
	admin     client.Client
	auditLog  string
	envtestUp error
)

// auditPolicy records every request's metadata (who, what, outcome), never bodies.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "chart-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir) //nolint:errcheck // temp
	policy := filepath.Join(dir, "audit-policy.yaml")
	auditLog = filepath.Join(dir, "audit.log")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts := testenv.Options{APIServerFlags: map[string]string{"audit-policy-file": policy, "audit-log-path": auditLog}}
	if crds := thirdPartyCRDs(); crds != "" {
		opts.CRDDirs = []string{crds}
	}
	env, cfg, envtestUp = testenv.StartWith(opts)
	if errors.Is(envtestUp, testenv.ErrNoBinaries) {
		return m.Run() // the tests that need it skip
	}
	if envtestUp != nil {
		fmt.Fprintln(os.Stderr, envtestUp)
		return 1
	}
	defer env.Stop() //nolint:errcheck // best effort at exit
	scheme := manager.Scheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if admin, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// needAPIServer skips a test when there is no control plane to run it against.
func needAPIServer(t *testing.T) {
	t.Helper()
	if envtestUp != nil {
		t.Skip(envtestUp.Error())
	}
}

// thirdPartyCRDs is the folder `make third-party-crds` fills with the ServiceMonitor,
// PrometheusRule, Certificate and HTTPRoute CRDs, or "" when there is none.
func thirdPartyCRDs() string {
	dir := os.Getenv("THIRD_PARTY_CRDS")
	if dir == "" {
		dir = filepath.Join(testenv.RepoRoot(), "bin", "third-party-crds")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.yaml")); len(m) == 0 {
		return ""
	}
	return dir
}

// apply server-side applies objects as Helm 4 installs them, creating their namespaces.
func apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	namespaces := map[string]bool{}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && !namespaces[ns] {
			if err := ensureNamespace(ctx, ns, "helm-namespaces", nil); err != nil {
				return err
			}
			namespaces[ns] = true
		}
		if err := admin.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("helm"), client.ForceOwnership); err != nil {
			return fmt.Errorf("%s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// ensureNamespace applies a namespace; each owner keeps the labels it applied.
func ensureNamespace(ctx context.Context, name, owner string, labels map[string]string) error {
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
	if labels != nil {
		ns.SetLabels(labels)
	}
	return admin.Apply(ctx, client.ApplyConfigurationFromUnstructured(ns), client.FieldOwner(owner), client.ForceOwnership)
}
