package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Reasons for access the operator refuses to grant.
const (
	ReasonClusterRoleNotGrantable = "ClusterRoleNotGrantable"
	ReasonWorkspaceNotPermitted   = "WorkspaceNotPermitted"
)

// DefaultGrantableClusterRoles are the ClusterRoles bound unless configured otherwise:
// Kubernetes' user-facing roles, none of which reaches beyond a namespace.
var DefaultGrantableClusterRoles = []string{"admin", "edit", "view"}

// quotaNamespaceClusterRole is what a user holds in their own quota namespace.
const quotaNamespaceClusterRole = "admin"

// Grants decides which ClusterRoles the operator binds and in which namespaces.
//
// Whoever may write a ScimTenant chooses its roles and workspace, and the operator
// holds the bind permission, so without these limits that writer could have any
// ClusterRole (cluster-admin) bound in any namespace (kube-system). The API server
// enforces the first limit too: the chart grants bind on exactly these ClusterRoles.
type Grants struct {
	// ClusterRoles the operator may bind (--grantable-cluster-roles).
	ClusterRoles []string
}

// refusal is access the operator will not grant: a configuration problem that only an
// administrator can solve, not an error to retry.
type refusal struct {
	reason, message string
}

func (r *refusal) Error() string { return r.message }

// checkClusterRole refuses a ClusterRole outside the grantable ones.
func (g Grants) checkClusterRole(name string) *refusal {
	if slices.Contains(g.ClusterRoles, name) {
		return nil
	}
	return g.notGrantable("ClusterRole " + name)
}

func (g Grants) notGrantable(what string) *refusal {
	return &refusal{ReasonClusterRoleNotGrantable, fmt.Sprintf(
		"%s: not grantable (the operator binds only %s; see the chart value rbac.grantableClusterRoles)",
		what, strings.Join(g.ClusterRoles, ", "))}
}

// checkTenant refuses a tenant whose workspace (the Namespace it names, read by the
// caller) has not accepted it, or that maps a role to a ClusterRole that is not
// grantable.
func (g Grants) checkTenant(t *identityv1alpha1.ScimTenant, workspace *corev1.Namespace) *refusal {
	if r := workspaceRefusal(t, workspace); r != nil {
		return r
	}
	var refused []string
	for _, role := range t.Spec.Roles {
		if g.checkClusterRole(role.ClusterRole) != nil {
			refused = append(refused, fmt.Sprintf("%s (role %s)", role.ClusterRole, role.Name))
		}
	}
	if t.Spec.StorageQuotaPolicy == identityv1alpha1.StorageQuotaEnforce && g.checkClusterRole(quotaNamespaceClusterRole) != nil {
		refused = append(refused, quotaNamespaceClusterRole+" (each user's quota namespace, storageQuotaPolicy Enforce)")
	}
	if len(refused) > 0 {
		return g.notGrantable("ClusterRole(s) " + strings.Join(refused, ", "))
	}
	return nil
}

// checkBinding refuses a workspace binding of clusterRole for the tenant. A missing
// workspace is the NotFound error.
func (g Grants) checkBinding(ctx context.Context, c client.Reader, t *identityv1alpha1.ScimTenant, clusterRole string) (*refusal, error) {
	if t.Spec.Workspace != t.Namespace {
		workspace := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: t.Spec.Workspace}, workspace); err != nil {
			return nil, err
		}
		if r := workspaceRefusal(t, workspace); r != nil {
			return r, nil
		}
	}
	return g.checkClusterRole(clusterRole), nil
}

// workspaceRefusal: a tenant may grant access in its own namespace, and in another only
// if that Namespace names the tenant's namespace in AnnotationWorkspaceTenants.
func workspaceRefusal(t *identityv1alpha1.ScimTenant, workspace *corev1.Namespace) *refusal {
	if t.Spec.Workspace == t.Namespace || workspaceAccepts(workspace, t.Namespace) {
		return nil
	}
	return &refusal{ReasonWorkspaceNotPermitted, fmt.Sprintf(
		"Namespace %s does not accept tenants of namespace %s: a cluster administrator opts it in with "+
			"kubectl annotate namespace %s %s=%s", t.Spec.Workspace, t.Namespace, t.Spec.Workspace,
		identityv1alpha1.AnnotationWorkspaceTenants, t.Namespace)}
}

func workspaceAccepts(ns *corev1.Namespace, tenantNamespace string) bool {
	for _, accepted := range strings.Split(ns.Annotations[identityv1alpha1.AnnotationWorkspaceTenants], ",") {
		if strings.TrimSpace(accepted) == tenantNamespace {
			return true
		}
	}
	return false
}

// workspaceAcceptanceChanged passes the Namespace events that can change whether a
// tenant may use it as its workspace.
var workspaceAcceptanceChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetAnnotations()[identityv1alpha1.AnnotationWorkspaceTenants] !=
			e.ObjectNew.GetAnnotations()[identityv1alpha1.AnnotationWorkspaceTenants]
	},
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// identitiesOfWorkspace enqueues the identities whose access a change of a namespace's
// acceptance of tenants grants or withdraws: those of every tenant using it.
func identitiesOfWorkspace(c client.Reader, ofTenant handler.MapFunc) handler.MapFunc {
	return func(ctx context.Context, ns client.Object) []reconcile.Request {
		tenants, err := tenantsWhere(ctx, c, func(t *identityv1alpha1.ScimTenant) bool { return t.Spec.Workspace == ns.GetName() })
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Failed to list ScimTenants")
			return nil
		}
		var reqs []reconcile.Request
		for i := range tenants {
			reqs = append(reqs, ofTenant(ctx, &tenants[i])...)
		}
		return reqs
	}
}
