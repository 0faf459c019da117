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
// and of its label map: those are shared, about 500 bytes an identity, 50 MB at
// 100,000 users. Its other strings, each an allocation as decoded, are packed into
// one: the collector's marking of a heap of 100,000 users is what the lookups'
// tail latency waits on, and it goes object by object.
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

// objectStrings sorts an object's strings: those that repeat across objects are
// shared through the table, the object's own are packed into one allocation (see
// intern.Pack), so that the collector marks one object where it marked a dozen.
type objectStrings struct {
	table *intern.Table
	own   []*string
}

// share shares each field's value through the table, or packs it with the object's
// own if the table has no room for it.
func (s *objectStrings) share(fields ...*string) {
	for _, f := range fields {
		if !s.table.Share(f) {
			s.own = append(s.own, f)
		}
	}
}

// keep packs each field's value with the object's own: values nearly unique per object.
func (s *objectStrings) keep(fields ...*string) { s.own = append(s.own, fields...) }

func (s *objectStrings) pack() { intern.Pack(s.own...) }

func (s *objectStrings) meta(t *metav1.TypeMeta, m *metav1.ObjectMeta) {
	s.share(&t.APIVersion, &t.Kind, &m.Namespace)
	for i := range m.Finalizers {
		s.share(&m.Finalizers[i])
	}
	m.Finalizers = s.table.Strings(m.Finalizers)
	s.keep(&m.Name, &m.GenerateName, &m.SelfLink, (*string)(&m.UID), &m.ResourceVersion)
	for i := range m.OwnerReferences {
		ref := &m.OwnerReferences[i]
		s.share(&ref.APIVersion, &ref.Kind)
		s.keep(&ref.Name, (*string)(&ref.UID))
	}
}

// A condition's message is often the same for thousands ("The identity provider has
// the user active"); those naming their identity fill the shared table (bounded)
// once and are then packed with the rest of their object.
func (s *objectStrings) conditions(conds []metav1.Condition) {
	for i := range conds {
		c := &conds[i]
		s.share(&c.Type, &c.Reason, &c.Message, (*string)(&c.Status))
	}
}

func (s *objectStrings) apps(apps []identityv1alpha1.AppDelivery) {
	for i := range apps {
		a := &apps[i]
		s.share(&a.App, (*string)(&a.State))
		s.keep(&a.Hash, &a.RemoteID, &a.LastError)
	}
}

func (s *objectStrings) multiValued(values []identityv1alpha1.MultiValuedAttribute) {
	for i := range values {
		s.share(&values[i].Type)
		s.keep(&values[i].Value, &values[i].Display)
	}
}

// An identity's labels are its tenant's, the same map for all of them. What a user's
// attributes share with many others (a department, a locale, a title) is shared.
func compactUser(shared *intern.Table, u *identityv1alpha1.ScimUser) {
	s := objectStrings{table: shared}
	s.meta(&u.TypeMeta, &u.ObjectMeta)
	u.Labels = shared.Labels(u.Labels)
	spec := &u.Spec
	s.share(&spec.TenantRef.Name, &spec.UserType, &spec.Title, &spec.PreferredLanguage, &spec.Locale, &spec.Timezone)
	s.keep(&spec.UserName, &spec.ExternalID, &spec.DisplayName, &spec.NickName, &spec.ProfileURL)
	if spec.Role != nil {
		s.share(spec.Role)
	}
	if n := spec.Name; n != nil {
		s.keep(&n.Formatted, &n.FamilyName, &n.GivenName, &n.MiddleName, &n.HonorificPrefix, &n.HonorificSuffix)
	}
	for _, values := range [][]identityv1alpha1.MultiValuedAttribute{spec.Emails, spec.PhoneNumbers, spec.IMs, spec.Photos,
		spec.Entitlements, spec.Roles, spec.X509Certificates} {
		s.multiValued(values)
	}
	for i := range spec.Addresses {
		a := &spec.Addresses[i]
		s.share(&a.Locality, &a.Region, &a.Country, &a.Type)
		s.keep(&a.Formatted, &a.StreetAddress, &a.PostalCode)
	}
	if e := spec.Enterprise; e != nil {
		s.share(&e.CostCenter, &e.Organization, &e.Division, &e.Department)
		s.keep(&e.EmployeeNumber)
		if m := e.Manager; m != nil {
			s.keep(&m.Value, &m.Ref, &m.DisplayName)
		}
	}
	s.share(&u.Status.Role, &u.Status.Workspace)
	s.conditions(u.Status.Conditions)
	s.apps(u.Status.Apps)
	s.pack()
}

// A group's members' ids are shared through the membership index, and their display
// names, if the identity provider sends them, are left as they are: packed with the
// group's own strings, they would make a thousand members' names one allocation that
// any one of them kept from an old version of the group would keep whole.
func compactGroup(shared *intern.Table, g *identityv1alpha1.ScimGroup) {
	s := objectStrings{table: shared}
	s.meta(&g.TypeMeta, &g.ObjectMeta)
	g.Labels = shared.Labels(g.Labels)
	s.share(&g.Spec.TenantRef.Name)
	s.keep(&g.Spec.DisplayName, &g.Spec.ExternalID)
	if g.Spec.Role != nil {
		s.share(g.Spec.Role)
	}
	for i := range g.Spec.Members {
		shared.Share((*string)(&g.Spec.Members[i].Type)) // "User" or "Group": the table has them
	}
	s.share(&g.Status.Role)
	s.conditions(g.Status.Conditions)
	s.apps(g.Status.Apps)
	s.pack()
}
