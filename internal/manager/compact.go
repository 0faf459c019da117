package manager

import (
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
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
func compactForCache(shared *interner, members *index.Members) toolscache.TransformFunc {
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

func compactMeta(shared *interner, m *metav1.ObjectMeta) {
	m.Namespace = shared.string(m.Namespace)
	for i := range m.Finalizers {
		m.Finalizers[i] = shared.string(m.Finalizers[i])
	}
}

// A condition's message is often the same for thousands ("The identity provider has
// the user active"); those naming their identity fill the interner's bounded table
// once and are then kept as they are.
func compactConditions(shared *interner, conds []metav1.Condition) {
	for i := range conds {
		c := &conds[i]
		c.Type, c.Reason, c.Message = shared.string(c.Type), shared.string(c.Reason), shared.string(c.Message)
		c.Status = metav1.ConditionStatus(shared.string(string(c.Status)))
	}
}

func compactApps(shared *interner, apps []identityv1alpha1.AppDelivery) {
	for i := range apps {
		apps[i].App = shared.string(apps[i].App)
		apps[i].State = identityv1alpha1.AppDeliveryState(shared.string(string(apps[i].State)))
	}
}

// An identity's labels are its tenant's, the same map for all of them.
func compactUser(shared *interner, u *identityv1alpha1.ScimUser) {
	compactMeta(shared, &u.ObjectMeta)
	u.Labels = shared.labels(u.Labels)
	u.Spec.TenantRef.Name = shared.string(u.Spec.TenantRef.Name)
	for _, values := range [][]identityv1alpha1.MultiValuedAttribute{u.Spec.Emails, u.Spec.PhoneNumbers, u.Spec.IMs, u.Spec.Photos} {
		for i := range values {
			values[i].Type = shared.string(values[i].Type)
		}
	}
	u.Status.Role, u.Status.Workspace = shared.string(u.Status.Role), shared.string(u.Status.Workspace)
	compactConditions(shared, u.Status.Conditions)
	compactApps(shared, u.Status.Apps)
}

func compactGroup(shared *interner, g *identityv1alpha1.ScimGroup) {
	compactMeta(shared, &g.ObjectMeta)
	g.Labels = shared.labels(g.Labels)
	g.Spec.TenantRef.Name = shared.string(g.Spec.TenantRef.Name)
	for i := range g.Spec.Members {
		g.Spec.Members[i].Type = identityv1alpha1.MemberType(shared.string(string(g.Spec.Members[i].Type)))
	}
	g.Status.Role = shared.string(g.Status.Role)
	compactConditions(shared, g.Status.Conditions)
	compactApps(shared, g.Status.Apps)
}

// interner hands out one copy of each value it is given. It is bounded: values that
// turn out to be unique (a namespace per user, a role per group) fill it up to
// maxShared and are then kept as they are, costing nothing more.
type interner struct {
	mu      sync.Mutex
	strings map[string]string
	maps    map[string]map[string]string
}

const (
	maxShared       = 8192
	maxSharedLength = 256
)

func newInterner() *interner {
	return &interner{strings: map[string]string{}, maps: map[string]map[string]string{}}
}

func (in *interner) string(s string) string {
	if s == "" || len(s) > maxSharedLength {
		return s
	}
	return share(&in.mu, in.strings, s, s)
}

func (in *interner) labels(l map[string]string) map[string]string {
	if len(l) == 0 {
		return l
	}
	key := labelsKey(l)
	if len(key) > maxSharedLength {
		return l
	}
	return share(&in.mu, in.maps, key, l)
}

// share returns table's value for key, which becomes v if the table has none and has
// room.
func share[V any](mu *sync.Mutex, table map[string]V, key string, v V) V {
	mu.Lock()
	defer mu.Unlock()
	if shared, ok := table[key]; ok {
		return shared
	}
	if len(table) < maxShared {
		table[key] = v
	}
	return v
}

// labelsKey is l in one string, the same for equal maps: label keys and values cannot
// hold "\x00".
func labelsKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(l[k])
		b.WriteByte(0)
	}
	return b.String()
}
