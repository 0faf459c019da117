package v1alpha1

// Condition types shared by the kinds. Ready always summarises the others, and
// Event reasons equal the reasons of the condition they explain.
const (
	// ConditionReady is True when the object is fully applied.
	ConditionReady = "Ready"
	// ConditionTokenValid is True when a tenant has at least one usable bearer token.
	ConditionTokenValid = "TokenValid"
	// ConditionSuspended is True while a user is deactivated and holds no access.
	ConditionSuspended = "Suspended"
	// ConditionMembersResolved is True when every member of a group is a known user or group.
	ConditionMembersResolved = "MembersResolved"
	// ConditionDelivered is True when a downstream app has acknowledged every user in scope.
	ConditionDelivered = "Delivered"
)

// Condition reasons used by more than one kind.
const (
	// ReasonReconciled means the object was applied as specified.
	ReasonReconciled = "Reconciled"
	// ReasonTenantNotFound means the referenced ScimTenant does not exist.
	ReasonTenantNotFound = "TenantNotFound"
)

// LabelTenant names the ScimTenant an object belongs to. It is set on identities,
// on the token Secrets a tenant accepts, and on every object the operator derives.
const LabelTenant = "identity.scim-operator.io/tenant"

// TenantReference names a ScimTenant in the namespace of the referring object.
type TenantReference struct {
	// name of the ScimTenant.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// SecretReference names a Secret in the namespace of the referring object.
type SecretReference struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}
