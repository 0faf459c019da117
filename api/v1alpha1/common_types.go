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

// LabelTenant names the ScimTenant an object belongs to. It is set on the token
// Secrets a tenant accepts and on every object the operator derives; an identity
// names its tenant in spec.tenantRef instead.
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

// Labels on the objects the operator creates for identities (RoleBindings, quota
// namespaces and ResourceQuotas), so that it finds and cleans up its own and never
// touches anyone else's.
const (
	// LabelManagedBy marks objects scim-operator created; its value is LabelManagedByValue.
	LabelManagedBy      = "app.kubernetes.io/managed-by"
	LabelManagedByValue = "scim-operator"
	// LabelUser and LabelGroup name the ScimUser or ScimGroup (by SCIM id) an object serves.
	LabelUser  = "identity.scim-operator.io/user"
	LabelGroup = "identity.scim-operator.io/group"
	// LabelIdentityNamespace is the namespace of that ScimUser or ScimGroup (the tenant's).
	LabelIdentityNamespace = "identity.scim-operator.io/identity-namespace"
)

// FinalizerCleanup holds a deleted identity until its bindings are gone and its
// retention has passed.
const FinalizerCleanup = "identity.scim-operator.io/cleanup"

// AnnotationDeletedAt marks an identity the identity provider deleted under the
// Retain policy: it has no access and is invisible to SCIM, and stays until an
// administrator deletes it.
const AnnotationDeletedAt = "identity.scim-operator.io/deleted-at"

// AnnotationWorkspaceTenants on a Namespace lets ScimTenants of other namespaces grant
// access in it: a comma-separated list of the namespaces whose tenants may name it as
// their workspace. A tenant may always use its own namespace. Only who may update
// Namespaces (cluster administrators, not namespace admins) can set it, so writing a
// ScimTenant never suffices to grant roles in someone else's namespace.
const AnnotationWorkspaceTenants = "identity.scim-operator.io/workspace-for"
