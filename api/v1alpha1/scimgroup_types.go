package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MemberType says what kind of resource a group member is.
// +kubebuilder:validation:Enum=User;Group
type MemberType string

const (
	// MemberUser is a ScimUser.
	MemberUser MemberType = "User"
	// MemberGroup is a nested ScimGroup.
	MemberGroup MemberType = "Group"
)

// GroupMember is one member of a SCIM Group.
type GroupMember struct {
	// value is the SCIM id of the member.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Value string `json:"value"`
	// display is the member's display name as the identity provider sent it.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Display string `json:"display,omitempty"`
	// type of the member; User when not given.
	// +optional
	Type MemberType `json:"type,omitempty"`
}

// ScimGroupSpec is a SCIM Group as the identity provider sent it, plus the role an
// administrator may give it.
type ScimGroupSpec struct {
	// tenantRef names the ScimTenant that provisioned this group.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="tenantRef is immutable"
	TenantRef TenantReference `json:"tenantRef"`

	// displayName is the unique name of the group within its tenant.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	DisplayName string `json:"displayName"`

	// externalId is the identity provider's identifier (for Entra ID, the group object id).
	// +optional
	// +kubebuilder:validation:MaxLength=512
	ExternalID string `json:"externalId,omitempty"`

	// members of the group. Members that do not resolve to a ScimUser are kept and
	// reported in status.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20000
	Members []GroupMember `json:"members,omitempty"`

	// role is set by an administrator: the role the group's team binding grants
	// (default: the tenant's defaultRole). No SCIM request changes it.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Role *string `json:"role,omitempty"`
}

// ScimGroupStatus is what the operator made of the group.
// +kubebuilder:validation:MinProperties=1
type ScimGroupStatus struct {
	// conditions: Ready summarises; MembersResolved says whether every member is known.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// memberCount is the number of members.
	// +optional
	MemberCount *int32 `json:"memberCount,omitempty"`

	// unresolvedMemberCount is the number of members that are no known user or group.
	// +optional
	UnresolvedMemberCount *int32 `json:"unresolvedMemberCount,omitempty"`

	// unresolvedMembers lists the first unresolved member ids.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=256
	UnresolvedMembers []string `json:"unresolvedMembers,omitempty"`

	// apps is the group's delivery state in each DownstreamApp that syncs groups.
	// +optional
	// +listType=map
	// +listMapKey=app
	// +kubebuilder:validation:MaxItems=256
	Apps []AppDelivery `json:"apps,omitempty"`

	// role is the role the group's team binding grants.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Role string `json:"role,omitempty"`
}

// ScimGroup is one SCIM Group provisioned by an identity provider. Its name is the SCIM id.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sg,categories=scim
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.memberCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,priority=10,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimGroup struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the group as provisioned.
	// +required
	Spec ScimGroupSpec `json:"spec"`

	// status is what the operator made of it.
	// +optional
	Status ScimGroupStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// ScimGroupList is a list of ScimGroups.
type ScimGroupList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []ScimGroup `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ScimGroup{}, &ScimGroupList{})
}
