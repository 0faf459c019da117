package chart_test

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// restricted is the Pod Security Standard the chart's pods must meet.
var restricted = map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}

// Every object the chart renders, with default values and with every feature on, is
// accepted by a real API server: the CRDs' schemas (ours and the ServiceMonitor,
// PrometheusRule, Certificate and HTTPRoute ones), built-in validation, and Pod Security
// admission enforcing the restricted standard on the release namespace.
func TestInstallIntoAPIServer(t *testing.T) {
	needAPIServer(t)
	if thirdPartyCRDs() == "" {
		t.Skip("no third-party CRDs: `make test` fetches them (make third-party-crds)")
	}
	for _, tc := range []struct {
		release, namespace string
		args               []string
	}{
		{"install-default", "install-default", nil},
		{"install-all", "install-all", []string{"-f", allFeatures}},
	} {
		t.Run(tc.release, func(t *testing.T) {
			ctx := context.Background()
			if err := ensureNamespace(ctx, tc.namespace, "test", restricted); err != nil {
				t.Fatal(err)
			}
			objs := render(t, tc.release, tc.namespace, tc.args...)
			if err := apply(ctx, objs); err != nil {
				t.Fatalf("the API server refused the chart: %v", err)
			}
			for _, o := range objs {
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(o.GroupVersionKind())
				if err := admin.Get(ctx, client.ObjectKeyFromObject(o), got); err != nil {
					t.Errorf("%s %s not stored: %v", o.GetKind(), o.GetName(), err)
				}
			}
			// The Deployment's pods are only checked when they are created; no kubelet
			// runs here, so create its pod template as a Pod, in a dry run.
			pod := podOfDeployment(t, find(t, objs, "Deployment", "scim-operator"))
			if err := admin.Create(ctx, pod, client.DryRunAll); err != nil {
				t.Errorf("the manager pod breaks the restricted Pod Security Standard: %v", err)
			}
		})
	}
}

func podOfDeployment(t *testing.T, dep *unstructured.Unstructured) *corev1.Pod {
	t.Helper()
	tmpl, _, err := unstructured.NestedMap(dep.Object, "spec", "template")
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, pod); err != nil {
		t.Fatal(err)
	}
	pod.Namespace, pod.Name = dep.GetNamespace(), dep.GetName()+"-template"
	return pod
}

// helm itself installs, upgrades and uninstalls the chart against the API server: the
// tenant's token is generated at install, survives an upgrade (the chart looks the
// Secret up), and survives an uninstall with the CRDs and what was provisioned.
func TestHelmInstallKeepsTheToken(t *testing.T) {
	needAPIServer(t)
	ctx := context.Background()
	kubeconfig := adminKubeconfig(t)
	const release, namespace = "tok", "tok-system"
	if err := ensureNamespace(ctx, "tok-workspace", "test", nil); err != nil {
		t.Fatal(err)
	}
	common := []string{chartDir, "--namespace", namespace, "--kubeconfig", kubeconfig}
	if out, err := helm(t, append([]string{"install", release, "--create-namespace",
		"--set", "tenant.enabled=true", "--set", "tenant.workspace=tok-workspace"}, common...)...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	first := tokenIn(t, namespace, "entra-token")
	if out, err := helm(t, append([]string{"upgrade", release, "--reuse-values", "--set", "replicaCount=3"}, common...)...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := tokenIn(t, namespace, "entra-token"); got != first {
		t.Errorf("helm upgrade replaced the tenant's token: the identity provider's copy stopped working")
	}
	dep := &appsv1.Deployment{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "tok-scim-operator"}, dep); err != nil || *dep.Spec.Replicas != 3 {
		t.Errorf("the upgrade did not apply (replicas %v, %v)", dep.Spec.Replicas, err)
	}
	if out, err := helm(t, "uninstall", release, "--namespace", namespace, "--kubeconfig", kubeconfig); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := tokenIn(t, namespace, "entra-token"); got != first {
		t.Errorf("helm uninstall removed or changed the token Secret")
	}
	install := append([]string{"install", release, "--set", "tenant.enabled=true", "--set", "tenant.workspace=tok-workspace"}, common...)
	if out, err := helm(t, install...); err != nil {
		t.Fatalf("reinstall over the kept Secret: %v\n%s", err, out)
	}
	if got := tokenIn(t, namespace, "entra-token"); got != first {
		t.Errorf("a reinstall replaced the kept token")
	}
	// A Secret whose token an admin replaced by its hash is not silently given a new one.
	if out, err := helm(t, "uninstall", release, "--namespace", namespace, "--kubeconfig", kubeconfig); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s := &corev1.Secret{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "entra-token"}, s); err != nil {
		t.Fatal(err)
	}
	s.Data = map[string][]byte{"tokenSHA256": []byte("0000000000000000000000000000000000000000000000000000000000000000")}
	if err := admin.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := helm(t, install...); err == nil || !strings.Contains(err.Error(), "set tenant.token.existingSecret=entra-token") {
		t.Errorf("install over a hashed token Secret: %v, want a refusal that names tenant.token.existingSecret", err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := admin.Get(ctx, client.ObjectKey{Name: "scimusers.identity.scim-operator.io"}, crd); err != nil {
		t.Errorf("helm uninstall removed the ScimUser CRD, and with it every user: %v", err)
	}
}

func tokenIn(t *testing.T, namespace, name string) string {
	t.Helper()
	s := &corev1.Secret{}
	if err := admin.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, s); err != nil {
		t.Fatalf("token Secret: %v", err)
	}
	if len(s.Data["token"]) < 40 {
		t.Fatalf("token Secret %s holds no generated token", name)
	}
	return string(s.Data["token"])
}

// adminKubeconfig is a kubeconfig of a cluster admin, for helm.
func adminKubeconfig(t *testing.T) string {
	t.Helper()
	u, err := env.AddUser(envtest.User{Name: "helm-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "kubeconfig", b)
}
