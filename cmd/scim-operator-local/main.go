// Command scim-operator-local is what `make run` starts: the operator against the
// cluster in $KUBECONFIG or, when that is unset, against a local control plane
// (kube-apiserver and etcd) that it starts and stops itself, with a demo tenant
// whose URL and token it prints.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/logging"
	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/token"
	"github.com/scim-operator/scim-operator/scimserver"
)

const (
	demoNamespace = "default"
	demoTenant    = "demo"
	demoWorkspace = "demo-workspace"
	demoSecret    = "demo-token"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scim-operator-local:", err)
		os.Exit(1)
	}
}

func run() error {
	binaries := flag.String("k8s-binaries", "bin/k8s", "Folder holding kube-apiserver, etcd and kubectl.")
	dataDir := flag.String("data-dir", "bin/local", "Folder for the local control plane's data, kept between runs.")
	crdDir := flag.String("crd-dir", "config/crd/bases", "Folder of the CRD manifests to install.")
	scimAddr := flag.String("scim-bind-address", "127.0.0.1:8080", "Address of the SCIM server.")
	probeAddr := flag.String("health-probe-bind-address", "127.0.0.1:8081", "Address of /healthz and /readyz.")
	zapOpts := zap.Options{Development: true}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(logging.DeferValues(zap.New(zap.UseFlagOptions(&zapOpts))))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, kubeconfig, shutdown, err := controlPlane(*binaries, *dataDir, *crdDir)
	if err != nil {
		return err
	}
	defer shutdown()

	externalURL := "http://" + *scimAddr
	mgr, err := manager.New(ctx, cfg, manager.Options{
		MetricsAddr:             "0",
		ProbeAddr:               *probeAddr,
		ExternalURL:             externalURL,
		MaxConcurrentReconciles: 16,
		SCIM:                    scimserver.Options{BindAddress: *scimAddr},
	})
	if err != nil {
		return err
	}
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()

	tok, tenantURL, err := ensureDemoTenant(ctx, mgr.GetClient(), mgr.GetAPIReader())
	if err != nil {
		return err
	}
	fmt.Println("tenant URL: " + tenantURL)
	fmt.Println("token: " + tok)
	if kubeconfig != "" {
		fmt.Println("KUBECONFIG=" + kubeconfig)
	}
	fmt.Fprintln(os.Stderr, "Running; Ctrl-C stops the operator and everything it started.")

	select {
	case err := <-mgrDone:
		return err
	case <-ctx.Done():
		return <-mgrDone
	}
}

// controlPlane connects to $KUBECONFIG's cluster, or starts a local control plane
// whose etcd data lives in dataDir so that a second run finds what the first provisioned.
// Either way it installs the CRDs.
func controlPlane(binaries, dataDir, crdDir string) (*rest.Config, string, func(), error) {
	crdOpts := envtest.CRDInstallOptions{Paths: []string{crdDir}, ErrorIfPathMissing: true}
	if os.Getenv("KUBECONFIG") != "" {
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return nil, "", nil, err
		}
		if _, err := envtest.InstallCRDs(cfg, crdOpts); err != nil {
			return nil, "", nil, fmt.Errorf("installing CRDs: %w", err)
		}
		fmt.Fprintln(os.Stderr, "Using the cluster in $KUBECONFIG.")
		return cfg, "", func() {}, nil
	}

	absData, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, "", nil, err
	}
	// The control plane's processes run in their own folders: relative paths would break.
	absBinaries, err := filepath.Abs(binaries)
	if err != nil {
		return nil, "", nil, err
	}
	if err := os.MkdirAll(filepath.Join(absData, "etcd"), 0o700); err != nil {
		return nil, "", nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: absBinaries,
		CRDInstallOptions:     crdOpts,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{DataDir: filepath.Join(absData, "etcd")}
	fmt.Fprintf(os.Stderr, "Starting a local control plane (data in %s; `make clean-local` resets it).\n", absData)
	cfg, err := env.Start()
	if err != nil {
		return nil, "", nil, fmt.Errorf("starting the local control plane: %w", err)
	}
	shutdown := func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the local control plane:", err)
		}
	}
	kubeconfig := filepath.Join(absData, "kubeconfig")
	if err := writeKubeconfig(env, kubeconfig); err != nil {
		shutdown()
		return nil, "", nil, err
	}
	return cfg, kubeconfig, shutdown, nil
}

// writeKubeconfig gives kubectl an administrator of the local control plane.
func writeKubeconfig(env *envtest.Environment, path string) error {
	admin, err := env.AddUser(envtest.User{Name: "local-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding the local administrator: %w", err)
	}
	raw, err := admin.KubeConfig()
	if err != nil {
		return err
	}
	kc, err := clientcmd.Load(raw)
	if err != nil {
		return err
	}
	for _, ctx := range kc.Contexts {
		ctx.Namespace = demoNamespace
	}
	return clientcmd.WriteToFile(*kc, path)
}

// ensureDemoTenant creates (or keeps) the demo tenant, gives it a fresh token, and waits
// until the operator reports it Ready.
func ensureDemoTenant(ctx context.Context, c client.Client, reader client.Reader) (string, string, error) {
	// The workspace accepts the demo tenant's namespace, as a cluster administrator's
	// annotation would in a real cluster.
	ws := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoWorkspace,
		Annotations: map[string]string{identityv1alpha1.AnnotationWorkspaceTenants: demoNamespace}}}
	err := c.Create(ctx, ws)
	if apierrors.IsAlreadyExists(err) {
		err = c.Patch(ctx, ws, client.Merge)
	}
	if err != nil {
		return "", "", fmt.Errorf("creating the demo workspace: %w", err)
	}
	tenant := &identityv1alpha1.ScimTenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: demoNamespace, Name: demoTenant},
		Spec: identityv1alpha1.ScimTenantSpec{
			TokenSecretRef: identityv1alpha1.SecretReference{Name: demoSecret},
			Workspace:      demoWorkspace,
			DefaultRole:    "viewer",
			Roles: []identityv1alpha1.RoleMapping{
				{Name: "viewer", ClusterRole: "view"},
				{Name: "editor", ClusterRole: "edit"},
				{Name: "admin", ClusterRole: "admin"},
			},
			DefaultStorageQuota: ptr.To(resource.MustParse("50Gi")),
			SubjectPrefix:       "oidc:",
		},
	}
	if err := c.Create(ctx, tenant); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", fmt.Errorf("creating the demo tenant: %w", err)
	}
	// Tokens are stored hashed, so a reused tenant cannot show its old token: issue a new one.
	tok, _, err := token.Issue(ctx, c, demoNamespace, demoTenant, demoSecret, time.Time{})
	if err != nil {
		return "", "", err
	}
	key := types.NamespacedName{Namespace: demoNamespace, Name: demoTenant}
	deadline, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		t := &identityv1alpha1.ScimTenant{}
		if err := reader.Get(deadline, key, t); err == nil {
			if cond := meta.FindStatusCondition(t.Status.Conditions, identityv1alpha1.ConditionReady); cond != nil &&
				cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == t.Generation {
				return tok, t.Status.TenantURL, nil
			}
		}
		select {
		case <-deadline.Done():
			return "", "", errors.New("the demo tenant did not become Ready within 60s; see `kubectl describe scimtenant demo`")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
