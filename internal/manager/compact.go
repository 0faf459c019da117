package manager

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/internal/intern"
)

// compactForCache is the cache's transform. Nothing reads managedFields, which with
// the per-app status writes can be the largest part of an identity: they are dropped.
// And every decoded object has its own copy of strings that are the same across
// thousands (its namespace, tenant, finalizer, condition types, reasons and messages)
// and of its label map: those are shared, about 500 bytes an
// identity, 50 MB at 100,000 users.
//
// Groups' member ids, each named by many groups, are shared through the membership
// index, which forgets an id with the last group naming it.
//
// Sharing is safe because the cache's objects are never written to: reads get deep
// copies, and handlers only read.
func compactForCache(shared *intern.Table, members *index.Members) toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	return func(in any) (any, error) {
		obj, err := strip(in)
		if err != nil {
			return obj, err
		}
		switch o := obj.(type) {
		case *identityv1alpha1.ScimUser:
			compactUser(shared, o)
		case *identityv1alpha1.ScimGroup:
			compactGroup(shared, o)
			members.ShareMemberIDs(o)
		}
		return obj, nil
	}
}

func compactMeta(shared *intern.Table, m *metav1.ObjectMeta) {
	m.Namespace = shared.String(m.Namespace)
	for i := range m.Finalizers {
		m.Finalizers[i] = shared.String(m.Finalizers[i])
	}
}

// A condition's message is often the same for thousands ("The identity provider has
// the user active"); those naming their identity fill the shared table (bounded)
// once and are then kept as they are.
func compactConditions(shared *intern.Table, conds []metav1.Condition) {
	for i := range conds {
		c := &conds[i]
		c.Type, c.Reason, c.Message = shared.String(c.Type), shared.String(c.Reason), shared.String(c.Message)
		c.Status = metav1.ConditionStatus(shared.String(string(c.Status)))
	}
}

func compactApps(shared *intern.Table, apps []identityv1alpha1.AppDelivery) {
	for i := range apps {
		apps[i].App = shared.String(apps[i].App)
		apps[i].State = identityv1alpha1.AppDeliveryState(shared.String(string(apps[i].State)))
	}
}

// An identity's labels are its tenant's, the same map for all of them.
func compactUser(shared *intern.Table, u *identityv1alpha1.ScimUser) {
	compactMeta(shared, &u.ObjectMeta)
	u.Labels = shared.Labels(u.Labels)
	u.Spec.TenantRef.Name = shared.String(u.Spec.TenantRef.Name)
	for _, values := range [][]identityv1alpha1.MultiValuedAttribute{u.Spec.Emails, u.Spec.PhoneNumbers, u.Spec.IMs, u.Spec.Photos} {
		for i := range values {
			values[i].Type = shared.String(values[i].Type)
		}
	}
	u.Status.Role, u.Status.Workspace = shared.String(u.Status.Role), shared.String(u.Status.Workspace)
	compactConditions(shared, u.Status.Conditions)
	compactApps(shared, u.Status.Apps)
}

func compactGroup(shared *intern.Table, g *identityv1alpha1.ScimGroup) {
	compactMeta(shared, &g.ObjectMeta)
	g.Labels = shared.Labels(g.Labels)
	g.Spec.TenantRef.Name = shared.String(g.Spec.TenantRef.Name)
	for i := range g.Spec.Members {
		g.Spec.Members[i].Type = identityv1alpha1.MemberType(shared.String(string(g.Spec.Members[i].Type)))
	}
	g.Status.Role = shared.String(g.Status.Role)
	compactConditions(shared, g.Status.Conditions)
	compactApps(shared, g.Status.Apps)
}
