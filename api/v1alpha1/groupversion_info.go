// Package v1alpha1 holds the API of scim-operator: identity provider connections
// (ScimTenant), the identities they provision (ScimUser, ScimGroup) and the apps
// those identities are delivered to (DownstreamApp).
//
// +kubebuilder:object:generate=true
// +groupName=identity.scim-operator.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "identity.scim-operator.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
