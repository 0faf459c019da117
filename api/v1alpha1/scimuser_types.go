package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PersonName is the SCIM name complex attribute (RFC 7643 section 4.1.1).
type PersonName struct {
	// formatted is the full name for display.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Formatted string `json:"formatted,omitempty"`
	// familyName is the family (last) name.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	FamilyName string `json:"familyName,omitempty"`
	// givenName is the given (first) name.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	GivenName string `json:"givenName,omitempty"`
	// middleName is the middle name(s).
	// +optional
	// +kubebuilder:validation:MaxLength=256
	MiddleName string `json:"middleName,omitempty"`
	// honorificPrefix such as "Ms.".
	// +optional
	// +kubebuilder:validation:MaxLength=64
	HonorificPrefix string `json:"honorificPrefix,omitempty"`
	// honorificSuffix such as "III".
	// +optional
	// +kubebuilder:validation:MaxLength=64
	HonorificSuffix string `json:"honorificSuffix,omitempty"`
}

// MultiValuedAttribute is one value of a SCIM multi-valued attribute such as emails,
// phoneNumbers, ims, photos, entitlements, roles or x509Certificates.
type MultiValuedAttribute struct {
	// value of the attribute (an address, number, URL, role name or base64 certificate).
	// +optional
	// +kubebuilder:validation:MaxLength=16384
	Value string `json:"value,omitempty"`
	// display is a human-readable form of value.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Display string `json:"display,omitempty"`
	// type such as work, home or mobile.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Type string `json:"type,omitempty"`
	// primary marks the preferred value; at most one value of an attribute is primary.
	// +optional
	Primary *bool `json:"primary,omitempty"`
}

// Address is one value of the SCIM addresses attribute.
type Address struct {
	// formatted is the full mailing address.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Formatted string `json:"formatted,omitempty"`
	// streetAddress is the street, house number and similar.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	StreetAddress string `json:"streetAddress,omitempty"`
	// locality is the city.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Locality string `json:"locality,omitempty"`
	// region is the state or province.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Region string `json:"region,omitempty"`
	// postalCode is the zip or postal code.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	PostalCode string `json:"postalCode,omitempty"`
	// country is the ISO 3166-1 alpha-2 country code.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Country string `json:"country,omitempty"`
	// type such as work or home.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Type string `json:"type,omitempty"`
	// primary marks the preferred address.
	// +optional
	Primary *bool `json:"primary,omitempty"`
}

// Manager is the enterprise extension's manager attribute.
type Manager struct {
	// value is the SCIM id of the manager.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Value string `json:"value,omitempty"`
	// ref is the URI of the manager's User resource.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Ref string `json:"$ref,omitempty"`
	// displayName of the manager.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	DisplayName string `json:"displayName,omitempty"`
}

// EnterpriseUser is the enterprise User extension
// (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User, RFC 7643 section 4.3).
type EnterpriseUser struct {
	// employeeNumber assigned by the organisation.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	EmployeeNumber string `json:"employeeNumber,omitempty"`
	// costCenter name.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	CostCenter string `json:"costCenter,omitempty"`
	// organization name.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Organization string `json:"organization,omitempty"`
	// division name.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Division string `json:"division,omitempty"`
	// department name.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Department string `json:"department,omitempty"`
	// manager of the user.
	// +optional
	Manager *Manager `json:"manager,omitempty"`
}

// ScimUserSpec is a SCIM User as the identity provider sent it, plus the overrides an
// administrator may set. It has no password: passwords are never stored.
type ScimUserSpec struct {
	// tenantRef names the ScimTenant that provisioned this user.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="tenantRef is immutable"
	TenantRef TenantReference `json:"tenantRef"`

	// userName is the unique identifier of the user within its tenant (case-insensitive).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	UserName string `json:"userName"`

	// externalId is the identity provider's identifier for the user.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	ExternalID string `json:"externalId,omitempty"`

	// name is the user's name in its components.
	// +optional
	Name *PersonName `json:"name,omitempty"`

	// displayName is the name shown to people.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	DisplayName string `json:"displayName,omitempty"`

	// nickName is the casual name.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	NickName string `json:"nickName,omitempty"`

	// profileUrl is the URL of the user's online profile.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	ProfileURL string `json:"profileUrl,omitempty"`

	// title such as "Vice President".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title,omitempty"`

	// userType such as Employee or Contractor.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	UserType string `json:"userType,omitempty"`

	// preferredLanguage as an Accept-Language value.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	PreferredLanguage string `json:"preferredLanguage,omitempty"`

	// locale such as en-US.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Locale string `json:"locale,omitempty"`

	// timezone as an IANA time zone name.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Timezone string `json:"timezone,omitempty"`

	// active is false when the identity provider deactivated the user (default true).
	// +optional
	Active *bool `json:"active,omitempty"`

	// emails of the user.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Emails []MultiValuedAttribute `json:"emails,omitempty"`

	// phoneNumbers of the user.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	PhoneNumbers []MultiValuedAttribute `json:"phoneNumbers,omitempty"`

	// ims are instant messaging addresses.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	IMs []MultiValuedAttribute `json:"ims,omitempty"`

	// photos are URLs of images of the user.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Photos []MultiValuedAttribute `json:"photos,omitempty"`

	// addresses of the user.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Addresses []Address `json:"addresses,omitempty"`

	// entitlements of the user as the identity provider sent them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	Entitlements []MultiValuedAttribute `json:"entitlements,omitempty"`

	// roles of the user as the identity provider sent them (Entra ID app role assignments).
	// They set the effective role only when the tenant's roleSource is IdP.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	Roles []MultiValuedAttribute `json:"roles,omitempty"`

	// x509Certificates of the user, base64 DER.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	X509Certificates []MultiValuedAttribute `json:"x509Certificates,omitempty"`

	// enterprise holds the enterprise User extension.
	// +optional
	Enterprise *EnterpriseUser `json:"enterprise,omitempty"`

	// extensions holds every other extension schema, keyed by its URN, verbatim.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	Extensions map[string]apiextensionsv1.JSON `json:"extensions,omitempty"`

	// role is set by an administrator to override the user's role; no SCIM request
	// changes it. It must name one of the tenant's roles.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Role *string `json:"role,omitempty"`

	// storageQuota is set by an administrator to override the tenant's default quota.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!quantity(string(self)).isLessThan(quantity('0'))",message="storageQuota must not be negative"
	StorageQuota *resource.Quantity `json:"storageQuota,omitempty"`
}

// AppDeliveryState is where a user stands with one downstream app.
// +kubebuilder:validation:Enum=Synced;Pending;Failed
type AppDeliveryState string

const (
	// AppDeliverySynced means the app acknowledged the user's current entitlements.
	AppDeliverySynced AppDeliveryState = "Synced"
	// AppDeliveryPending means a delivery is due or being retried.
	AppDeliveryPending AppDeliveryState = "Pending"
	// AppDeliveryFailed means the app refused the delivery; lastError says why.
	AppDeliveryFailed AppDeliveryState = "Failed"
)

// AppDelivery is the state of one user or group in one DownstreamApp. Each app's
// entry is written by server-side apply under a field manager of the app's own, so
// that deliveries to different apps never overwrite each other.
type AppDelivery struct {
	// app is the name of the DownstreamApp.
	// +required
	// +kubebuilder:validation:MaxLength=253
	App string `json:"app"`
	// state of the delivery.
	// +required
	State AppDeliveryState `json:"state"`
	// hash is the SHA-256 of the last document the app acknowledged: a delivery is due
	// when the document the identity should have hashes differently.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Hash string `json:"hash,omitempty"`
	// remoteID is the app's own id of the identity (SCIM connector).
	// +optional
	// +kubebuilder:validation:MaxLength=256
	RemoteID string `json:"remoteID,omitempty"`
	// lastDelivered is when the app last acknowledged the user.
	// +optional
	LastDelivered *metav1.Time `json:"lastDelivered,omitempty"`
	// lastError is the app's answer to the last failed delivery.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	LastError string `json:"lastError,omitempty"`
}

// ScimUserStatus is what the operator made of the user. The user's groups are not
// copied here: they are the ScimGroups that list it, and SCIM GET /Users/{id} answers
// them. A copy would cost a status write to every member of a group that changes.
// +kubebuilder:validation:MinProperties=1
type ScimUserStatus struct {
	// conditions: Ready summarises; Suspended is True while the user is deactivated.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// role is the user's effective role.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Role string `json:"role,omitempty"`

	// workspace is the namespace in which the user has access.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Workspace string `json:"workspace,omitempty"`

	// storageQuota is the user's effective storage quota.
	// +optional
	StorageQuota *resource.Quantity `json:"storageQuota,omitempty"`

	// apps is the user's delivery state in each DownstreamApp in scope.
	// +optional
	// +listType=map
	// +listMapKey=app
	// +kubebuilder:validation:MaxItems=256
	Apps []AppDelivery `json:"apps,omitempty"`
}

// ScimUser is one SCIM User provisioned by an identity provider. Its name is the SCIM id.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=su,categories=scim
// +kubebuilder:printcolumn:name="Username",type=string,JSONPath=`.spec.userName`
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Active",type=boolean,JSONPath=`.spec.active`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.status.role`
// +kubebuilder:printcolumn:name="Quota",type=string,JSONPath=`.status.storageQuota`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,priority=10,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimUser struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the user as provisioned.
	// +required
	Spec ScimUserSpec `json:"spec"`

	// status is what the operator made of it.
	// +optional
	Status ScimUserStatus `json:"status,omitzero"`
}

// IsActive reports whether the identity provider has the user active (default true).
func (u *ScimUser) IsActive() bool { return u.Spec.Active == nil || *u.Spec.Active }

// +kubebuilder:object:root=true

// ScimUserList is a list of ScimUsers.
type ScimUserList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []ScimUser `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ScimUser{}, &ScimUserList{})
}
