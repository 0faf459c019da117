//go:build tools

// Package k8s pins the control-plane binaries that envtest and `make run` start.
// It is its own module so that the main module never depends on k8s.io/kubernetes.
package k8s

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
