package chart_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/scim-operator/scim-operator/internal/testenv"
)

// The chart installs exactly the CRDs and manager rules that controller-gen generates;
// `make manifests` copies them, and a hand edit of either copy fails here.
func TestChartCarriesGeneratedFiles(t *testing.T) {
	root := testenv.RepoRoot()
	generated, _ := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	inChart, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
	if len(generated) == 0 || len(generated) != len(inChart) {
		t.Fatalf("config/crd/bases has %d CRDs, the chart %d: run make manifests", len(generated), len(inChart))
	}
	pairs := map[string]string{filepath.Join(root, "config", "rbac", "role.yaml"): filepath.Join(chartDir, "files", "rbac", "role.yaml")}
	for _, g := range generated {
		pairs[g] = filepath.Join(chartDir, "crds", filepath.Base(g))
	}
	for src, copied := range pairs {
		a, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(copied)
		if err != nil {
			t.Fatalf("%v: run make manifests", err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s: run make manifests", copied, src)
		}
	}
}

func TestLintAndTemplate(t *testing.T) {
	for name, args := range map[string][]string{
		"default values": nil,
		"every feature":  {"-f", allFeatures},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := helm(t, append([]string{"lint", "--strict", chartDir}, args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			objs := render(t, "scim", "scim-system", args...)
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.GetKind()]++
			}
			want := []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "PodDisruptionBudget"}
			if args != nil {
				want = append(want, "Ingress", "HTTPRoute", "Certificate", "ServiceMonitor", "PrometheusRule", "ConfigMap",
					"NetworkPolicy", "ScimTenant", "Secret", "Pod")
			}
			for _, k := range want {
				if kinds[k] == 0 {
					t.Errorf("no %s rendered (got %v)", k, kinds)
				}
			}
		})
	}
}

func TestRenderedDeployment(t *testing.T) {
	objs := render(t, "scim", "scim-system", "-f", allFeatures)
	dep := find(t, objs, "Deployment", "scim-operator")
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	image := c["image"].(string)
	if !strings.HasSuffix(image, ":0.1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") {
		t.Errorf("image %q is not pinned by the digest with the appVersion tag", image)
	}
	argList, _, _ := unstructured.NestedStringSlice(c, "args")
	args := strings.Join(argList, " ")
	for _, want := range []string{"--leader-elect", "--external-url=https://scim.example.com",
		"--scim-tls-cert-file=/etc/scim-operator/tls/tls.crt", "--metrics-secure=true", "--enable-http2",
		"--scim-trusted-proxies=10.244.0.0/16,fd00:10:244::/56", "--scim-failed-auth-per-second=1",
		"--kube-api-qps=100", "--kube-api-burst=200"} {
		if !strings.Contains(args, want) {
			t.Errorf("manager args %q lack %s", args, want)
		}
	}
	// The manager refuses and the API server forbids binding any other ClusterRole.
	if !strings.Contains(args, "--grantable-cluster-roles=admin,edit,view") {
		t.Errorf("manager args %q do not name the grantable ClusterRoles", args)
	}
	grant := find(t, objs, "ClusterRole", "scim-operator-grant")
	rules, _, _ := unstructured.NestedSlice(grant.Object, "rules")
	if want := []any{map[string]any{"apiGroups": []any{"rbac.authorization.k8s.io"}, "resources": []any{"clusterroles"},
		"verbs": []any{"bind"}, "resourceNames": []any{"admin", "edit", "view"}}}; !equality.Semantic.DeepEqual(rules, want) {
		t.Errorf("grant ClusterRole rules %v, want %v", rules, want)
	}
	if replicas, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); replicas != 2 {
		t.Errorf("replicas = %d, want 2: every replica serves SCIM", replicas)
	}
	tenant := find(t, objs, "ScimTenant", "entra")
	if ref, _, _ := unstructured.NestedString(tenant.Object, "spec", "tokenSecretRef", "name"); ref != "entra-token" {
		t.Errorf("tenant token Secret %q, want entra-token", ref)
	}
	secret := find(t, objs, "Secret", "entra-token")
	if secret.GetAnnotations()["helm.sh/resource-policy"] != "keep" || secret.GetLabels()["identity.scim-operator.io/tenant"] != "entra" {
		t.Errorf("token Secret must be kept by uninstall and labelled for its tenant: %v %v", secret.GetAnnotations(), secret.GetLabels())
	}
}

// values.schema.json (or, for what a schema cannot say, the template) refuses a wrong
// value before anything reaches the cluster, and says which value and why.
func TestSchemaRejectsBadValues(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"replicaCount=two"}, "at '/replicaCount': got string, want integer"},
		{[]string{"ingres.enabled=true"}, "additional properties 'ingres' not allowed"},
		{[]string{"tenant.enabled=true"}, "at '/tenant/workspace'"},
		{[]string{"tenant.enabled=true", "tenant.workspace=team-a", "tenant.storageQuotaPolicy=enforce"}, "at '/tenant/storageQuotaPolicy': value must be one of 'Enforce', 'Record'"},
		{[]string{"tenant.retention=30d"}, "at '/tenant/retention'"},
		{[]string{"ingress.enabled=true"}, "at '/ingress/host'"},
		{[]string{"externalURL=scim.example.com"}, "at '/externalURL'"},
		{[]string{"image.digest=latest"}, "at '/image/digest'"},
		{[]string{"service.type=Ingress"}, "at '/service/type'"},
		{[]string{"metrics.serviceMonitor.interval=often"}, "at '/metrics/serviceMonitor/interval'"},
		{[]string{"certificate.enabled=true", "certificate.issuerRef.name=letsencrypt"}, "certificate.dnsNames, ingress.host or httpRoute.hostnames"},
		{[]string{"httpRoute.enabled=true"}, "at '/httpRoute/parentRefs'"},
		{[]string{"rbac.grantableClusterRoles={view,system:node}"}, "at '/rbac/grantableClusterRoles/1'"},
		{[]string{"rbac.grantableClusterRoles={}"}, "at '/rbac/grantableClusterRoles/0': minLength"},
		{[]string{"tenant.enabled=true", "tenant.workspace=team-a", "rbac.grantableClusterRoles={view}"},
			"role editor maps to ClusterRole edit, which is not in rbac.grantableClusterRoles (view)"},
	} {
		t.Run(strings.Join(tc.set, ","), func(t *testing.T) {
			args := []string{"template", "scim", chartDir}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, err := helm(t, args...)
			if err == nil {
				t.Fatalf("helm template accepted %v", tc.set)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
}
