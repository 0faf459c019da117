package v1alpha1

import (
	"fmt"
	"net/url"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeactivatePolicy says what SCIM `active: false` does to a user.
// +kubebuilder:validation:Enum=Suspend
type DeactivatePolicy string

const (
	// DeactivateSuspend removes the user's bindings and unbinds them from their quota
	// namespace, keeping the ScimUser and everything it owns for a later reactivation.
	DeactivateSuspend DeactivatePolicy = "Suspend"
)

// DeletePolicy says what a SCIM DELETE does to a user or group.
// +kubebuilder:validation:Enum=Delete;Retain
type DeletePolicy string

const (
	// DeleteDelete removes access at once and deletes the object once the retention
	// period has passed.
	DeleteDelete DeletePolicy = "Delete"
	// DeleteRetain removes access at once but keeps the object, marked deleted, until an
	// administrator deletes it.
	DeleteRetain DeletePolicy = "Retain"
)

// StorageQuotaPolicy says whether a user's storage quota is enforced in the cluster.
// +kubebuilder:validation:Enum=Enforce;Record
type StorageQuotaPolicy string

const (
	// StorageQuotaEnforce gives each user a namespace of their own with a ResourceQuota
	// on requests.storage and persistentvolumeclaims.
	StorageQuotaEnforce StorageQuotaPolicy = "Enforce"
	// StorageQuotaRecord only records the quota on the user and hands it to downstream apps.
	StorageQuotaRecord StorageQuotaPolicy = "Record"
)

// RoleSource says where a user's role comes from after it was first assigned.
// +kubebuilder:validation:Enum=Local;IdP
type RoleSource string

const (
	// RoleSourceLocal assigns defaultRole once; afterwards only an administrator changes
	// it (spec.role on the ScimUser) and no SCIM request ever does.
	RoleSourceLocal RoleSource = "Local"
	// RoleSourceIdP takes the role from the SCIM roles attribute (Entra ID app role
	// assignments), mapped through spec.roles; a local spec.role still wins.
	RoleSourceIdP RoleSource = "IdP"
)

// GroupSubjectSource says which group attribute names the Group subject of a team binding.
// +kubebuilder:validation:Enum=DisplayName;ExternalID
type GroupSubjectSource string

const (
	// GroupSubjectDisplayName binds subjectPrefix + displayName.
	GroupSubjectDisplayName GroupSubjectSource = "DisplayName"
	// GroupSubjectExternalID binds subjectPrefix + externalId, which for Entra ID is the
	// group object id that its OIDC tokens carry in the groups claim.
	GroupSubjectExternalID GroupSubjectSource = "ExternalID"
)

// RoleMapping maps an operator role name to the ClusterRole bound in the workspace.
type RoleMapping struct {
	// name of the role as users, groups and downstream apps see it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Name string `json:"name"`

	// clusterRole bound in the workspace namespace for holders of this role.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('system:')",message="a role may not map to a system: ClusterRole"
	ClusterRole string `json:"clusterRole"`
}

// Deprovisioning says what deactivating and deleting an identity do.
type Deprovisioning struct {
	// onDeactivate is applied when the identity provider sets active to false.
	// Suspend (the only policy so far) removes access and keeps the user.
	// +optional
	OnDeactivate DeactivatePolicy `json:"onDeactivate,omitempty"`

	// onDelete is applied when the identity provider deletes a user or group.
	// Delete (the default) removes access and, after retention, the object;
	// Retain removes access and keeps the object.
	// +optional
	OnDelete DeletePolicy `json:"onDelete,omitempty"`

	// retention is how long a deleted identity is kept, without access, before it is
	// removed (Go duration such as 720h; default 0s: at once).
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	Retention string `json:"retention,omitempty"`
}

// ScimTenantSpec is one identity provider connection.
// +kubebuilder:validation:XValidation:rule="self.roles.exists(r, r.name == self.defaultRole)",message="defaultRole must be one of roles[].name"
type ScimTenantSpec struct {
	// enabled turns the SCIM endpoint of this tenant on (default true). A disabled
	// tenant answers 404 to everyone; its users and groups are kept.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// paused makes the SCIM endpoint answer 503 with Retry-After, so maintenance does not
	// look like failures to the identity provider.
	// +optional
	Paused *bool `json:"paused,omitempty"`

	// tokenSecretRef names the Secret holding the bearer token (key token, or key
	// tokenSHA256 with its hex SHA-256). Secrets labelled
	// identity.scim-operator.io/tenant=NAME are accepted as well, for rotation.
	// +required
	TokenSecretRef SecretReference `json:"tokenSecretRef"`

	// workspace is the namespace in which users and groups get their access.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Workspace string `json:"workspace"`

	// defaultRole is given to a new user once; afterwards the role is managed locally.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	DefaultRole string `json:"defaultRole"`

	// roles maps role names to the ClusterRoles bound in the workspace.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Roles []RoleMapping `json:"roles"`

	// roleSource says whether roles sent by the identity provider are applied.
	// Local (the default) ignores them.
	// +optional
	RoleSource RoleSource `json:"roleSource,omitempty"`

	// defaultStorageQuota is each user's storage quota unless the user overrides it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!quantity(string(self)).isLessThan(quantity('0'))",message="defaultStorageQuota must not be negative"
	DefaultStorageQuota *resource.Quantity `json:"defaultStorageQuota,omitempty"`

	// storageQuotaPolicy says whether the quota is enforced with a per-user namespace and
	// ResourceQuota (Enforce) or only recorded and handed to downstream apps (Record, the default).
	// +optional
	StorageQuotaPolicy StorageQuotaPolicy `json:"storageQuotaPolicy,omitempty"`

	// subjectPrefix is prepended to user names and group names in RBAC subjects; it must
	// equal the API server's OIDC username and groups prefix (for example "oidc:").
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('system:')",message="subjectPrefix must not start with system:"
	SubjectPrefix string `json:"subjectPrefix,omitempty"`

	// groupSubject says which group attribute names the group's RBAC subject.
	// DisplayName is the default; ExternalID suits Entra ID, whose tokens carry group object ids.
	// +optional
	GroupSubject GroupSubjectSource `json:"groupSubject,omitempty"`

	// deprovisioning says what deactivating and deleting identities do.
	// +optional
	Deprovisioning Deprovisioning `json:"deprovisioning,omitzero"`

	// externalBaseURL is the URL at which identity providers reach the operator (the
	// Ingress), used for status.tenantURL and SCIM meta.location. It overrides the
	// manager's --external-url.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s/?#]+(/[^\s?#]*)?$`
	ExternalBaseURL string `json:"externalBaseURL,omitempty"`
}

// ScimTenantStatus is the observed state of a ScimTenant.
// +kubebuilder:validation:MinProperties=1
type ScimTenantStatus struct {
	// conditions: Ready summarises; TokenValid says whether a bearer token is usable.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// tenantURL is the SCIM base URL to paste into the identity provider.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	TenantURL string `json:"tenantURL,omitempty"`

	// users is the number of ScimUsers of this tenant.
	// +optional
	Users *int32 `json:"users,omitempty"`

	// groups is the number of ScimGroups of this tenant.
	// +optional
	Groups *int32 `json:"groups,omitempty"`

	// lastRequestTime is when the identity provider last made an authenticated request.
	// +optional
	LastRequestTime *metav1.Time `json:"lastRequestTime,omitempty"`
}

// ScimTenant is one identity provider connection: its SCIM endpoint, bearer token,
// workspace, roles and the defaults given to the identities it provisions.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=st,categories=scim
// +kubebuilder:printcolumn:name="Workspace",type=string,JSONPath=`.spec.workspace`
// +kubebuilder:printcolumn:name="Users",type=integer,JSONPath=`.status.users`
// +kubebuilder:printcolumn:name="Groups",type=integer,JSONPath=`.status.groups`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.tenantURL`
// +kubebuilder:printcolumn:name="Status",type=string,priority=10,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimTenant struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the desired connection.
	// +required
	Spec ScimTenantSpec `json:"spec"`

	// status is the observed state.
	// +optional
	Status ScimTenantStatus `json:"status,omitzero"`
}

// IsEnabled reports whether the tenant's SCIM endpoint is on.
func (t *ScimTenant) IsEnabled() bool { return t.Spec.Enabled == nil || *t.Spec.Enabled }

// IsPaused reports whether the tenant's SCIM endpoint is paused for maintenance.
func (t *ScimTenant) IsPaused() bool { return t.Spec.Paused != nil && *t.Spec.Paused }

// ClusterRoleFor returns the ClusterRole mapped to role, if any.
func (t *ScimTenant) ClusterRoleFor(role string) (string, bool) {
	for _, r := range t.Spec.Roles {
		if r.Name == role {
			return r.ClusterRole, true
		}
	}
	return "", false
}

// +kubebuilder:object:root=true

// ScimTenantList is a list of ScimTenants.
type ScimTenantList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []ScimTenant `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ScimTenant{}, &ScimTenantList{})
}

// URL is the tenant's SCIM base URL: spec.externalBaseURL, or the manager's default
// external URL, followed by /scim/NAMESPACE/TENANT/v2.
func (t *ScimTenant) URL(defaultBase string) (string, error) {
	base := t.Spec.ExternalBaseURL
	if base == "" {
		base = defaultBase
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parsing external URL %q: %w", base, err)
	}
	return u.JoinPath("scim", t.Namespace, t.Name, "v2").String(), nil
}
