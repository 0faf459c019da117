// Package testenv starts the real kube-apiserver and etcd that the envtest suites
// of every package run against, with the project's CRDs installed.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
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
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(RepoRoot(), "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return nil, nil, ErrNoBinaries
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting envtest: %w", err)
	}
	return env, cfg, nil
}
