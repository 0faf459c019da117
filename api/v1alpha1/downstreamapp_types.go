package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ScopeType says which users of a tenant an app receives.
// +kubebuilder:validation:Enum=AllUsers;Groups
type ScopeType string

const (
	// ScopeAllUsers delivers every user of the tenant.
	ScopeAllUsers ScopeType = "AllUsers"
	// ScopeGroups delivers the members of the listed groups.
	ScopeGroups ScopeType = "Groups"
)

// AppScope selects the users delivered to an app.
// +kubebuilder:validation:XValidation:rule="self.type != 'Groups' || (has(self.groups) && size(self.groups) > 0)",message="scope type Groups needs at least one group"
type AppScope struct {
	// type of scope.
	// +required
	Type ScopeType `json:"type"`
	// groups whose members are delivered, by displayName, when type is Groups.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=1024
	Groups []string `json:"groups,omitempty"`
}

// AppRoleMapping maps an operator role to the app's own role name.
type AppRoleMapping struct {
	// role is the operator role (a tenant roles[].name).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Role string `json:"role"`
	// appRole is the app's name for it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	AppRole string `json:"appRole"`
}

// WebhookConnector delivers entitlements as signed JSON POSTs.
type WebhookConnector struct {
	// url receiving the deliveries.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	URL string `json:"url"`
	// secretRef names the Secret whose key "secret" signs each delivery (HMAC-SHA256).
	// +required
	SecretRef SecretReference `json:"secretRef"`
	// timeout of one delivery (Go duration, default 10s).
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	Timeout string `json:"timeout,omitempty"`
}

// SyncGroupsPolicy says whether a SCIM connector provisions groups too.
// +kubebuilder:validation:Enum=Sync;Skip
type SyncGroupsPolicy string

const (
	// SyncGroups provisions the groups of the users in scope.
	SyncGroups SyncGroupsPolicy = "Sync"
	// SkipGroups provisions users only.
	SkipGroups SyncGroupsPolicy = "Skip"
)

// SCIMConnector provisions users (and groups) into an app's SCIM 2.0 endpoint.
type SCIMConnector struct {
	// baseURL is the app's SCIM base URL (the one ending in /v2 or similar).
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	BaseURL string `json:"baseURL"`
	// tokenSecretRef names the Secret whose key "token" is the bearer token for the app.
	// +required
	TokenSecretRef SecretReference `json:"tokenSecretRef"`
	// groups says whether groups are provisioned too (default Skip).
	// +optional
	Groups SyncGroupsPolicy `json:"groups,omitempty"`
	// roleAttribute is the SCIM attribute path that receives the mapped role
	// (for example urn:example:params:scim:schemas:extension:app:2.0:User:role).
	// +optional
	// +kubebuilder:validation:MaxLength=512
	RoleAttribute string `json:"roleAttribute,omitempty"`
	// quotaAttribute is the SCIM attribute path that receives the storage quota in bytes.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	QuotaAttribute string `json:"quotaAttribute,omitempty"`
}

// DownstreamAppSpec describes an app that receives users' entitlements.
// +kubebuilder:validation:XValidation:rule="has(self.webhook) != has(self.scim)",message="exactly one of webhook and scim must be set"
type DownstreamAppSpec struct {
	// tenantRef names the ScimTenant whose users the app receives.
	// +required
	TenantRef TenantReference `json:"tenantRef"`
	// scope selects the users delivered.
	// +required
	Scope AppScope `json:"scope"`
	// roleMapping maps operator roles to app roles; unmapped roles are sent as they are.
	// +optional
	// +listType=map
	// +listMapKey=role
	// +kubebuilder:validation:MaxItems=64
	RoleMapping []AppRoleMapping `json:"roleMapping,omitempty"`
	// webhook delivers signed JSON documents.
	// +optional
	Webhook *WebhookConnector `json:"webhook,omitempty"`
	// scim provisions into the app's SCIM endpoint.
	// +optional
	SCIM *SCIMConnector `json:"scim,omitempty"`
}

// ConnectorType names the connector of a DownstreamApp.
type ConnectorType string

const (
	// ConnectorWebhook is the signed JSON webhook connector.
	ConnectorWebhook ConnectorType = "Webhook"
	// ConnectorSCIM is the SCIM client connector.
	ConnectorSCIM ConnectorType = "SCIM"
)

// DownstreamAppStatus is the delivery state of an app.
// +kubebuilder:validation:MinProperties=1
type DownstreamAppStatus struct {
	// conditions: Ready summarises; Delivered is True when every user in scope is synced.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// connector is the type of connector in use.
	// +optional
	// +kubebuilder:validation:Enum=Webhook;SCIM
	Connector ConnectorType `json:"connector,omitempty"`
	// synced is the number of users whose current state the app acknowledged.
	// +optional
	Synced *int32 `json:"synced,omitempty"`
	// pending is the number of users with a delivery due or retrying.
	// +optional
	Pending *int32 `json:"pending,omitempty"`
	// failed is the number of users the app refused.
	// +optional
	Failed *int32 `json:"failed,omitempty"`
	// lastError is the most recent delivery error.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	LastError string `json:"lastError,omitempty"`
}

// DownstreamApp is an app outside the cluster's RBAC that receives users' roles,
// workspace and storage quota through a webhook or SCIM connector.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=da,categories=scim
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.status.connector`
// +kubebuilder:printcolumn:name="Synced",type=integer,JSONPath=`.status.synced`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failed`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,priority=10,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DownstreamApp struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec describes the app.
	// +required
	Spec DownstreamAppSpec `json:"spec"`

	// status is its delivery state.
	// +optional
	Status DownstreamAppStatus `json:"status,omitzero"`
}

// ConnectorType returns the connector the spec selects.
func (a *DownstreamApp) ConnectorType() ConnectorType {
	if a.Spec.SCIM != nil {
		return ConnectorSCIM
	}
	return ConnectorWebhook
}

// SyncsGroups says whether the app receives groups as well as users (a SCIM connector
// with groups: Sync).
func (a *DownstreamApp) SyncsGroups() bool {
	return a.Spec.SCIM != nil && a.Spec.SCIM.Groups == SyncGroups
}

// +kubebuilder:object:root=true

// DownstreamAppList is a list of DownstreamApps.
type DownstreamAppList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []DownstreamApp `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DownstreamApp{}, &DownstreamAppList{})
}
