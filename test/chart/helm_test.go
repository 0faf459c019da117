package chart_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/scim-operator/scim-operator/internal/testenv"
)

// chartDir is the chart under test.
var chartDir = filepath.Join(testenv.RepoRoot(), "charts", "scim-operator")

// allFeatures turns every optional object of the chart on.
var allFeatures = filepath.Join(chartDir, "ci", "all-features-values.yaml")

// helmBinary is the pinned helm that `make test` builds (HELM), or one `make helm` left
// in bin/. There is no machine-wide helm to fall back on, on purpose.
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		if !filepath.IsAbs(h) {
			h = filepath.Join(testenv.RepoRoot(), h)
		}
		return h
	}
	matches, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "bin", "helm-*", "helm"))
	if len(matches) == 0 {
		t.Skip("no helm: `make test` builds the pinned one (make helm)")
	}
	return matches[len(matches)-1]
}

// helm runs the pinned helm and returns its stdout, or its stderr as the error.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// No helm state of the developer's (repositories, plugins) changes the outcome.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// render runs `helm template` and decodes every object it renders (hooks included).
func render(t *testing.T, release, namespace string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(t, append([]string{"template", release, chartDir, "--namespace", namespace}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeManifests(out)
	if err != nil {
		t.Fatalf("decoding the rendered chart: %v", err)
	}
	return objs
}

func decodeManifests(manifests string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(manifests, "\n---") {
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%w in:\n%s", err, doc)
		}
		if string(js) == "null" {
			continue
		}
		// Unstructured's own decoding keeps integers int64, as the API machinery expects.
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("%w in:\n%s", err, doc)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// find returns the rendered object of a kind whose name ends in suffix.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, suffix string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && strings.HasSuffix(o.GetName(), suffix) {
			return o
		}
	}
	t.Fatalf("the chart rendered no %s named *%s", kind, suffix)
	return nil
}

// writeValues writes a values file for helm -f.
func writeValues(t *testing.T, values map[string]any) string {
	t.Helper()
	b, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "values.yaml", b)
}

// writeTemp writes a file into a folder of the test's own and returns its path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
