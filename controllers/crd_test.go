package controllers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testenv"
)

func TestCRDsAreEstablished(t *testing.T) {
	g := NewWithT(t)
	for _, plural := range []string{"scimtenants", "scimusers", "scimgroups", "downstreamapps"} {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Name: plural + ".identity.scim-operator.io"}, crd)).To(Succeed())
		g.Expect(crd.Status.Conditions).To(ContainElement(And(
			HaveField("Type", apiextensionsv1.Established), HaveField("Status", apiextensionsv1.ConditionTrue))), plural)
		g.Expect(crd.Spec.Names.Categories).To(ContainElement("scim"), plural)
		g.Expect(crd.Spec.Names.ShortNames).NotTo(BeEmpty(), plural)
	}
}

func validUser(namespace, tenant, name string) *identityv1alpha1.ScimUser {
	return &identityv1alpha1.ScimUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: identityv1alpha1.ScimUserSpec{
			TenantRef: identityv1alpha1.TenantReference{Name: tenant},
			UserName:  name + "@example.com",
		},
	}
}

func validTenant(namespace, name string) *identityv1alpha1.ScimTenant {
	return testenv.Tenant(namespace, name)
}

func webhookApp(name string) *identityv1alpha1.DownstreamApp {
	return &identityv1alpha1.DownstreamApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: identityv1alpha1.DownstreamAppSpec{
			TenantRef: identityv1alpha1.TenantReference{Name: "t"},
			Scope:     identityv1alpha1.AppScope{Type: identityv1alpha1.ScopeAllUsers},
			Webhook:   &identityv1alpha1.WebhookConnector{URL: "https://a.example", SecretRef: identityv1alpha1.SecretReference{Name: "s"}},
		},
	}
}

// TestSchemaRejectsBadObjects proves that the API server, not the operator, refuses
// malformed identities, with a message that names the field.
func TestSchemaRejectsBadObjects(t *testing.T) {
	tests := []struct {
		name    string
		obj     func() client.Object
		wantMsg string
	}{
		{"user without userName", func() client.Object {
			u := validUser("default", "schema", "no-username")
			u.Spec.UserName = ""
			return u
		}, "spec.userName"},
		{"user with negative quota", func() client.Object {
			u := validUser("default", "schema", "negative-quota")
			u.Spec.StorageQuota = ptr.To(resource.MustParse("-1Gi"))
			return u
		}, "storageQuota must not be negative"},
		{"user without tenant", func() client.Object {
			u := validUser("default", "schema", "no-tenant")
			u.Spec.TenantRef.Name = ""
			return u
		}, "spec.tenantRef.name"},
		{"tenant whose default role is not mapped", func() client.Object {
			tn := validTenant("default", "unmapped-default")
			tn.Spec.DefaultRole = "admin"
			return tn
		}, "defaultRole must be one of roles[].name"},
		{"tenant with a system: subject prefix", func() client.Object {
			tn := validTenant("default", "system-prefix")
			tn.Spec.SubjectPrefix = "system:"
			return tn
		}, "subjectPrefix must not start with system:"},
		{"tenant with a negative default quota", func() client.Object {
			tn := validTenant("default", "negative-default")
			tn.Spec.DefaultStorageQuota = ptr.To(resource.MustParse("-5Gi"))
			return tn
		}, "defaultStorageQuota must not be negative"},
		{"tenant with an unknown delete policy", func() client.Object {
			tn := validTenant("default", "bad-policy")
			tn.Spec.Deprovisioning.OnDelete = "Shred"
			return tn
		}, `supported values: "Delete", "Retain"`},
		{"app with two connectors", func() client.Object {
			a := webhookApp("two-connectors")
			a.Spec.SCIM = &identityv1alpha1.SCIMConnector{BaseURL: "https://b.example/scim/v2", TokenSecretRef: identityv1alpha1.SecretReference{Name: "s"}}
			return a
		}, "exactly one of webhook and scim must be set"},
		{"group scope without groups", func() client.Object {
			a := webhookApp("empty-scope")
			a.Spec.Scope.Type = identityv1alpha1.ScopeGroups
			return a
		}, "scope type Groups needs at least one group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := k8sClient.Create(context.Background(), tt.obj())
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			g.Expect(err.Error()).To(ContainSubstring(tt.wantMsg))
		})
	}
}

func TestTenantRefIsImmutable(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	u := validUser("default", "schema", "immutable-tenant")
	g.Expect(k8sClient.Create(ctx, u)).To(Succeed())
	// A patch, not an update: the reconciler may have written status meanwhile.
	before := u.DeepCopy()
	u.Spec.TenantRef.Name = "other"
	err := k8sClient.Patch(ctx, u, client.MergeFrom(before))
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
	g.Expect(err.Error()).To(ContainSubstring("tenantRef is immutable"))
}

// TestPrinterColumnsAreServed asks for a Table, as kubectl get does.
func TestPrinterColumnsAreServed(t *testing.T) {
	tests := []struct {
		resource string
		columns  []string
	}{
		{"scimusers", []string{"Name", "Username", "Display Name", "Active", "Role", "Quota", "Ready", "Status", "Age"}},
		{"scimgroups", []string{"Name", "Display Name", "Members", "Ready", "Status", "Age"}},
		{"scimtenants", []string{"Name", "Workspace", "Users", "Groups", "Ready", "URL", "Status", "Age"}},
		{"downstreamapps", []string{"Name", "Type", "Synced", "Failed", "Ready", "Status", "Age"}},
	}
	rc := restClient(t)
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			g := NewWithT(t)
			body, err := rc.Get().AbsPath("/apis/identity.scim-operator.io/v1alpha1/namespaces/default", tt.resource).
				SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(context.Background())
			g.Expect(err).NotTo(HaveOccurred())
			table := &metav1.Table{}
			g.Expect(json.Unmarshal(body, table)).To(Succeed())
			var names []string
			for _, c := range table.ColumnDefinitions {
				names = append(names, c.Name)
			}
			g.Expect(names).To(Equal(tt.columns))
		})
	}
}

func restClient(t *testing.T) rest.Interface {
	t.Helper()
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &schema.GroupVersion{}
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// TestSamplesApply creates every object of config/samples, as a user following the
// README would, in a namespace of its own.
func TestSamplesApply(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "samples"
	g.Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "identity_*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).To(HaveLen(4))
	for _, f := range files {
		for _, obj := range readManifests(t, f) {
			if obj.GetKind() != "Namespace" {
				obj.SetNamespace(ns)
			}
			err := k8sClient.Create(ctx, obj)
			if obj.GetKind() == "Namespace" && apierrors.IsAlreadyExists(err) {
				continue
			}
			g.Expect(err).NotTo(HaveOccurred(), "%s: %s %s", filepath.Base(f), obj.GetKind(), obj.GetName())
		}
	}
}

func readManifests(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var objs []*unstructured.Unstructured
	r := yaml.NewYAMLReader(bufio.NewReader(f))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 || strings.TrimSpace(string(doc)) == "---" {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatal(err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}
