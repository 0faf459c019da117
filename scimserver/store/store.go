// Package store keeps SCIM resources as ScimUser and ScimGroup objects: reads from
// the informer cache through the indexes beside it, writes to the API server with
// optimistic concurrency. Uniqueness (userName, group displayName) holds across replicas because
// a resource's object name derives from its unique value: two racing creates of one
// userName create one object, and the API server refuses the other.
package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/index"
	"github.com/scim-operator/scim-operator/scimserver/docjson"
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// AnnotationLastModified records when the identity provider last changed a resource
// (meta.lastModified), from its first change on; the API server keeps no such time.
const AnnotationLastModified = "identity.scim-operator.io/last-modified"

// maxUpdateAttempts bounds the retries of a write that lost a race: each retry reads
// the object fresh from the API server, so only a conflict storm exhausts it.
const maxUpdateAttempts = 25

// idNamespace seeds the name-based UUIDs that resource ids are.
var idNamespace = uuid.MustParse("6f1c7e0e-5a43-4d8e-9a8e-3f7c2b1d9e55")

// Tenant is where a request's resources live.
type Tenant struct {
	Namespace string
	Name      string
	// BaseURL is the tenant URL, for meta.location and $ref.
	BaseURL string
	// RetainDeleted keeps deleted resources, without access and invisible to SCIM,
	// until an administrator deletes them (the tenant's onDelete: Retain).
	RetainDeleted bool
}

// Resource is a stored resource rendered as a SCIM document.
type Resource struct {
	Doc     map[string]any
	ID      string
	Version string
	Object  client.Object
}

// Store reads through the cache and writes to the API server.
type Store struct {
	// Client reads from the informer cache and writes to the API server.
	Client client.Client
	// APIReader reads from the API server: after a lost race, and for an object the
	// cache has not seen yet (a client reading what it just created).
	APIReader client.Reader
	// Lookups are the indexes beside the cache: by userName, externalId and
	// displayName, and a user's groups.
	Lookups *index.Lookups

	// The newest resourceVersion this server wrote of each kind: a read through an
	// index first waits for the index to have taken it in.
	userWrites, groupWrites writeMark
}

// writeMark is the newest resourceVersion written.
type writeMark struct{ rv atomic.Int64 }

func (m *writeMark) note(obj client.Object) {
	rv, err := strconv.ParseInt(obj.GetResourceVersion(), 10, 64)
	if err != nil {
		return
	}
	for cur := m.rv.Load(); rv > cur && !m.rv.CompareAndSwap(cur, rv); cur = m.rv.Load() {
	}
}

// ownWritesWait bounds how long a read waits for an index to take in this server's
// own writes; it takes milliseconds, unless the informer is stuck.
const ownWritesWait = 5 * time.Second

// awaitOwnWrites waits until ix has taken in what this server wrote up to mark, so that
// a client reads back what it just wrote (Microsoft's tests list users right after
// creating them).
func awaitOwnWrites(ctx context.Context, ix interface {
	HasTakenIn(int64) bool
	WaitFor(context.Context, int64) error
}, mark *writeMark) error {
	rv := mark.rv.Load()
	if rv == 0 || ix.HasTakenIn(rv) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, ownWritesWait)
	defer cancel()
	if err := ix.WaitFor(ctx, rv); err != nil {
		return unavailable(fmt.Errorf("waiting for the index to take in this server's writes: %w", err))
	}
	return nil
}

// cacheWait bounds how long a read of one object waits for the cache to take in this
// server's own writes. That takes milliseconds, except after an outage of the API
// server, when informers reconnect with a backoff of up to 30 s: a read then asks the
// API server, which is up again, rather than holding the identity provider's request.
var cacheWait = 2 * time.Second

// cachedGet reads obj from the cache once it holds this server's writes, or else from
// the API server.
func (s *Store) cachedGet(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	waitCtx, cancel := context.WithTimeout(ctx, cacheWait)
	defer cancel()
	err := s.Client.Get(waitCtx, key, obj, opts...)
	if err != nil && ctx.Err() == nil && errors.Is(waitCtx.Err(), context.DeadlineExceeded) {
		return s.APIReader.Get(ctx, key, obj)
	}
	return err
}

// groupsNaming returns the tenant's groups that name memberID, from the member index
// once it has taken in this server's own group writes.
func (s *Store) groupsNaming(ctx context.Context, t Tenant, memberID string) ([]index.GroupRef, error) {
	if err := awaitOwnWrites(ctx, s.Lookups.Members, &s.groupWrites); err != nil {
		return nil, err
	}
	return s.Lookups.Members.GroupsOf(t.Namespace, t.Name, memberID), nil
}

// Collection is the set of one resource type, Users or Groups.
type Collection interface {
	Resource() *schema.Resource
	// Get reads one resource, rendered or written when asked.
	Get(ctx context.Context, t Tenant, id string) (*Item, error)
	List(ctx context.Context, t Tenant, eqs []filter.Equality) ([]*Item, error)
	Create(ctx context.Context, t Tenant, doc map[string]any) (*Resource, error)
	Update(ctx context.Context, t Tenant, id, ifMatch string, change func(map[string]any) (map[string]any, error)) (*Updated, error)
	Delete(ctx context.Context, t Tenant, id, ifMatch string) (*Resource, error)
}

// codec is what differs between Users and Groups.
type codec[T client.Object] interface {
	resource() *schema.Resource
	newObject() T
	tenantOf(T) string
	setTenant(obj T, tenant string)
	// render returns the SCIM document without id, schemas and meta.
	render(ctx context.Context, t Tenant, obj T) (map[string]any, error)
	// apply writes a document into obj's spec, keeping what only administrators set.
	apply(doc map[string]any, obj T) error
	specEqual(a, b T) bool
	uniqueValue(T) string
	// uniqueIndex is the index of uniqueValue, under uniqueKey.
	uniqueIndex(*index.Lookups) *index.Keys
	uniqueKey(tenant, value string) index.Key
	newList() client.ObjectList
	// equalityIndex maps a filter equality to an index and its key, when there is one.
	equalityIndex(lk *index.Lookups, t Tenant, eq filter.Equality) (ix *index.Keys, key index.Key, ok bool)
	// keyIndexes are every index equalityIndex and uniqueIndex answer from.
	keyIndexes(*index.Lookups) []*index.Keys
	// equalityNames answers a filter equality from the member index: the names of
	// the objects that may match.
	equalityNames(ctx context.Context, t Tenant, eq filter.Equality) (names []string, ok bool, err error)
}

type collection[T client.Object] struct {
	store *Store
	codec codec[T]
	// writes marks what this server wrote of the collection's kind.
	writes *writeMark
}

func (c *collection[T]) Resource() *schema.Resource { return c.codec.resource() }

// id is the SCIM id and object name of the n-th candidate for a unique value. It is
// deterministic so that replicas racing to create the same user pick the same name.
func (c *collection[T]) id(t Tenant, unique string, n int) string {
	seed := fmt.Sprintf("%s/%s/%s/%s/%d", t.Namespace, t.Name, c.codec.resource().Name, strings.ToLower(unique), n)
	return uuid.NewSHA1(idNamespace, []byte(seed)).String()
}

func (c *collection[T]) Get(ctx context.Context, t Tenant, id string) (*Item, error) {
	obj, err := c.get(ctx, t, id, false)
	if err != nil {
		return nil, err
	}
	return c.item(ctx, t, obj), nil
}

// get reads one resource of the tenant; fresh reads the API server instead of the cache.
func (c *collection[T]) get(ctx context.Context, t Tenant, id string, fresh bool) (T, error) {
	var zero T
	if !isObjectName(id) {
		return zero, notFound(c.codec.resource().Name, id)
	}
	obj := c.codec.newObject()
	key := client.ObjectKey{Namespace: t.Namespace, Name: id}
	var err error
	if fresh {
		err = c.store.APIReader.Get(ctx, key, obj)
	} else if err = c.store.cachedGet(ctx, key, obj); apierrors.IsNotFound(err) {
		err = c.store.APIReader.Get(ctx, key, obj)
	}
	if apierrors.IsNotFound(err) || err == nil && !c.visible(t, obj) {
		return zero, notFound(c.codec.resource().Name, id)
	}
	if err != nil {
		return zero, unavailable(err)
	}
	return obj, nil
}

// visible: a resource of another tenant, or one being deleted, does not exist for
// this tenant's client.
func (c *collection[T]) visible(t Tenant, obj T) bool {
	_, deleted := obj.GetAnnotations()[identityv1alpha1.AnnotationDeletedAt]
	return c.codec.tenantOf(obj) == t.Name && obj.GetDeletionTimestamp() == nil && !deleted
}

func (c *collection[T]) List(ctx context.Context, t Tenant, eqs []filter.Equality) ([]*Item, error) {
	objs, err := c.candidates(ctx, t, eqs)
	if err != nil {
		return nil, err
	}
	out := make([]*Item, 0, len(objs))
	for _, obj := range objs {
		if !c.visible(t, obj) {
			continue
		}
		out = append(out, c.item(ctx, t, obj))
	}
	return out, nil
}

// item is obj, rendered when asked.
func (c *collection[T]) item(ctx context.Context, t Tenant, obj T) *Item {
	return &Item{ID: obj.GetName(), Created: obj.GetCreationTimestamp().Time,
		view: &listed[T]{c: c, ctx: ctx, t: t, obj: obj}}
}

// Item is a resource read, rendered only when asked: a page of an unfiltered list
// renders its page, not the tenant, a filter renders what it reads, and a response
// without attributes to project is written without rendering.
type Item struct {
	ID      string
	Created time.Time
	view    itemView
	cached  *Resource
}

// itemView is a listed object and how its collection renders it.
type itemView interface {
	render() (*Resource, error)
	// docFor renders the top-level attributes keys, when that is less than the whole.
	docFor(keys []string) (doc map[string]any, ok bool, err error)
	// appendJSON writes the document without rendering it, when the codec can,
	// without the top-level members exclude names.
	appendJSON(dst []byte, exclude []string) (_ []byte, ok bool, err error)
	version() string
}

type listed[T client.Object] struct {
	c   *collection[T]
	ctx context.Context
	t   Tenant
	obj T
}

func (l *listed[T]) render() (*Resource, error) { return l.c.rendered(l.ctx, l.t, l.obj) }
func (l *listed[T]) version() string            { return Version(l.obj) }
func (l *listed[T]) docFor(keys []string) (map[string]any, bool, error) {
	return l.c.docFor(l.obj, keys)
}
func (l *listed[T]) appendJSON(dst []byte, exclude []string) ([]byte, bool, error) {
	return l.c.appendJSON(l.ctx, l.t, l.obj, dst, exclude)
}

// Resource renders the item (once).
func (i *Item) Resource() (*Resource, error) {
	if i.cached == nil {
		r, err := i.view.render()
		if err != nil {
			return nil, err
		}
		i.cached = r
	}
	return i.cached, nil
}

// Version is the item's ETag.
func (i *Item) Version() string { return i.view.version() }

// Match tells whether the item matches f, rendering only what f reads when it can.
func (i *Item) Match(f *filter.Filter) (bool, error) {
	if i.cached == nil {
		doc, ok, err := i.view.docFor(f.Attributes())
		if err != nil {
			return false, err
		}
		if ok {
			return f.Match(doc), nil
		}
	}
	r, err := i.Resource()
	if err != nil {
		return false, err
	}
	return f.Match(r.Doc), nil
}

// AppendJSON writes the item's document, as docjson writes it rendered, without the
// top-level members exclude names (schema.Resource.ExcludedKeys).
func (i *Item) AppendJSON(dst []byte, exclude []string) ([]byte, error) {
	if i.cached == nil {
		out, ok, err := i.view.appendJSON(dst, exclude)
		if err != nil || ok {
			return out, err
		}
	}
	r, err := i.Resource()
	if err != nil {
		return dst, err
	}
	doc := r.Doc
	if len(exclude) > 0 {
		doc = maps.Clone(doc)
		for _, key := range exclude {
			delete(doc, key)
		}
	}
	return docjson.Append(dst, doc)
}

// candidates narrows a query to the objects an index says may match; the filter
// itself is evaluated by the caller. Without a usable equality it lists the tenant.
func (c *collection[T]) candidates(ctx context.Context, t Tenant, eqs []filter.Equality) ([]T, error) {
	for _, eq := range eqs {
		if strings.EqualFold(eq.Attribute, "id") {
			obj, err := c.get(ctx, t, eq.Value, false)
			if se, ok := scimerr.As(err); ok && se.Status == http.StatusNotFound {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return []T{obj}, nil
		}
		if ix, key, ok := c.codec.equalityIndex(c.store.Lookups, t, eq); ok {
			return c.lookup(ctx, t, ix, key)
		}
		names, ok, err := c.codec.equalityNames(ctx, t, eq)
		if err != nil {
			return nil, err
		}
		if ok {
			return c.named(ctx, t, names)
		}
	}
	objs, err := c.list(ctx, t)
	return objs, unavailable(err)
}

func (c *collection[T]) rendered(ctx context.Context, t Tenant, obj T) (*Resource, error) {
	doc, err := c.codec.render(ctx, t, obj)
	if err != nil {
		return nil, err
	}
	res := c.codec.resource()
	doc["id"] = obj.GetName()
	doc["schemas"] = schemasOf(res, doc)
	m := c.metaOf(t, obj)
	doc["meta"] = map[string]any{
		"resourceType": res.Name,
		"created":      m.created,
		"lastModified": m.lastModified,
		"location":     m.location,
		"version":      m.version,
	}
	return &Resource{Doc: doc, ID: obj.GetName(), Version: m.version, Object: obj}, nil
}

// meta is a resource's meta attribute but its resourceType.
type meta struct{ created, lastModified, location, version string }

func (c *collection[T]) metaOf(t Tenant, obj T) meta {
	created, lastModified := timesOf(obj)
	return meta{
		created:      created.Format(time.RFC3339),
		lastModified: lastModified.Format(time.RFC3339Nano),
		location:     t.BaseURL + c.codec.resource().Endpoint + "/" + obj.GetName(),
		version:      Version(obj),
	}
}

// timesOf is when obj was created (in UTC) and last modified (as the annotation the
// server writes in UTC records it; a resource never changed since it was created has
// none).
func timesOf(obj client.Object) (created, lastModified time.Time) {
	created = obj.GetCreationTimestamp().UTC()
	lastModified = created
	if s, ok := obj.GetAnnotations()[AnnotationLastModified]; ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			lastModified = t
		}
	}
	return created, lastModified
}

// Version is the ETag of a resource. It follows metadata.generation, which changes
// with the spec (what SCIM clients write) and not with the status the reconcilers
// write, qualified by the object's UID so that a deleted and re-created resource of
// the same id never matches. It is weak: a user's groups come from other objects.
func Version(obj client.Object) string {
	return string(appendVersion(make([]byte, 0, 32), obj))
}

func appendVersion(dst []byte, obj client.Object) []byte {
	uid := string(obj.GetUID())
	dst = append(dst, `W/"`...)
	dst = strconv.AppendInt(dst, obj.GetGeneration(), 10)
	dst = append(dst, '-')
	dst = append(dst, uid[:min(8, len(uid))]...)
	return append(dst, '"')
}

func schemasOf(res *schema.Resource, doc map[string]any) []any {
	out := []any{res.Core.ID}
	for k := range doc {
		if isURN(k) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out[1:], func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	return out
}

func (c *collection[T]) Create(ctx context.Context, t Tenant, doc map[string]any) (*Resource, error) {
	if err := c.codec.resource().CheckRequired(doc); err != nil {
		return nil, err
	}
	obj := c.codec.newObject()
	obj.SetNamespace(t.Namespace)
	if err := c.codec.apply(doc, obj); err != nil {
		return nil, err
	}
	c.codec.setTenant(obj, t.Name)
	// The cleanup finalizer comes with the object rather than in a second write by
	// the reconciler: one write less per provisioned identity.
	obj.SetFinalizers([]string{identityv1alpha1.FinalizerCleanup})
	unique := c.codec.uniqueValue(obj)
	if err := c.checkUnique(ctx, t, unique, ""); err != nil {
		return nil, err
	}
	// No lastModified annotation: a resource never changed was last modified when it
	// was created (RFC 7643 section 3.1), which rendered says without one. Left out, it
	// costs the cache nothing for each of the identities a first cycle creates (a map
	// each, 28 MB at 100,000) and the API server's objects 170 bytes of JSON.
	for n := range 16 {
		obj.SetName(c.id(t, unique, n))
		obj.SetResourceVersion("")
		err := c.store.Client.Create(ctx, obj)
		if err == nil {
			c.writes.note(obj)
			return c.rendered(ctx, t, obj)
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, writeError(err)
		}
		// The name is taken: by this very value (a racing create, an identity
		// provider's retry), or by a resource since renamed or being deleted, in which
		// case the next candidate name is tried.
		existing := c.codec.newObject()
		if err := c.store.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil && !apierrors.IsNotFound(err) {
			return nil, unavailable(err)
		} else if err == nil && c.visible(t, existing) && strings.EqualFold(c.codec.uniqueValue(existing), unique) {
			// Another replica made it a moment ago, and this one's cache may not hold
			// it yet: the identity provider's lookup that follows a 409 must find it
			// here too, so reads wait for it as for this server's own writes.
			c.writes.note(existing)
			return nil, c.conflict(unique)
		}
	}
	return nil, c.conflict(unique)
}

// lookup returns the objects that have key, as ix last took them in once it holds this
// server's writes (its deletes it is told of). Like list, it does not copy them:
// callers only read them.
func (c *collection[T]) lookup(ctx context.Context, t Tenant, ix *index.Keys, key index.Key) ([]T, error) {
	if err := awaitOwnWrites(ctx, ix, c.writes); err != nil {
		return nil, err
	}
	objs := ix.Objects(t.Namespace, key)
	out := make([]T, len(objs))
	for i, o := range objs {
		out[i] = o.(T)
	}
	return out, nil
}

// named reads the named objects from the cache, skipping those gone meanwhile. Like
// list, it does not copy what the objects point to: callers only read them.
func (c *collection[T]) named(ctx context.Context, t Tenant, names []string) ([]T, error) {
	out := make([]T, 0, len(names))
	for _, name := range names {
		obj := c.codec.newObject()
		err := c.store.cachedGet(ctx, client.ObjectKey{Namespace: t.Namespace, Name: name}, obj, client.UnsafeDisableDeepCopy)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// list reads the tenant's objects from the cache, without copies: callers only read
// them. It filters the namespace's rather than asking an index by tenant, which would
// hold two entries per object for what a namespace of one tenant or a few does not need.
//
// The client's List of one object first waits, as its every read does, until the cache
// holds this server's own writes; the objects are then read from the cache's informer,
// because a List of them all would copy each into a typed list: 90 MB of garbage for
// each page of a tenant of 100,000 users.
func (c *collection[T]) list(ctx context.Context, t Tenant) ([]T, error) {
	if err := c.store.Client.List(ctx, c.codec.newList(), client.InNamespace(t.Namespace), client.Limit(1), client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	objs, err := c.store.Lookups.InNamespace(ctx, c.codec.newObject(), t.Namespace, func(o client.Object) bool {
		obj, ok := o.(T)
		return ok && c.codec.tenantOf(obj) == t.Name
	})
	if err != nil {
		return nil, err
	}
	out := make([]T, len(objs))
	for i, o := range objs {
		out[i] = o.(T)
	}
	return out, nil
}

// checkUnique refuses a value another resource of the tenant holds, case-insensitively.
func (c *collection[T]) checkUnique(ctx context.Context, t Tenant, value, selfID string) error {
	objs, err := c.lookup(ctx, t, c.codec.uniqueIndex(c.store.Lookups), c.codec.uniqueKey(t.Name, value))
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.GetName() != selfID && c.visible(t, o) {
			return c.conflict(value)
		}
	}
	return nil
}

func (c *collection[T]) conflict(value string) error {
	res := c.codec.resource()
	attr := "userName"
	if res == schema.Group {
		attr = "displayName"
	}
	return &scimerr.Error{Status: http.StatusConflict, ScimType: scimerr.Uniqueness,
		Detail: fmt.Sprintf("a %s with %s %q already exists", strings.ToLower(res.Name), attr, value)}
}

// Update changes a resource through change, retrying from a fresh read when another
// writer got there first, so that concurrent PATCHes of one group all land.
func (c *collection[T]) Update(ctx context.Context, t Tenant, id, ifMatch string, change func(map[string]any) (map[string]any, error)) (*Updated, error) {
	fresh := false
	for attempt := range maxUpdateAttempts {
		obj, err := c.get(ctx, t, id, fresh)
		if err != nil {
			return nil, err
		}
		if ifMatch != "" && !ETagMatches(ifMatch, Version(obj)) {
			return nil, scimerr.New(http.StatusPreconditionFailed, "the resource has changed: version is %s", Version(obj))
		}
		current, err := c.rendered(ctx, t, obj)
		if err != nil {
			return nil, err
		}
		doc, err := change(current.Doc)
		if err != nil {
			return nil, err
		}
		if err := c.codec.resource().CheckRequired(doc); err != nil {
			return nil, err
		}
		updated := obj.DeepCopyObject().(T)
		if err := c.codec.apply(doc, updated); err != nil {
			return nil, err
		}
		if c.codec.specEqual(obj, updated) {
			return &Updated{Item: &Item{ID: id, Created: obj.GetCreationTimestamp().Time, cached: current}, Version: current.Version, Object: obj}, nil
		}
		if newValue := c.codec.uniqueValue(updated); !strings.EqualFold(newValue, c.codec.uniqueValue(obj)) {
			if err := c.checkUnique(ctx, t, newValue, id); err != nil {
				return nil, err
			}
		}
		stampModified(updated)
		err = c.store.Client.Update(ctx, updated)
		if err == nil {
			c.writes.note(updated)
			return &Updated{Item: c.item(ctx, t, updated), Version: Version(updated), Object: updated, Changed: true}, nil
		}
		if !apierrors.IsConflict(err) {
			return nil, writeError(err)
		}
		fresh = true
		backoff(ctx, attempt)
	}
	return nil, scimerr.New(http.StatusServiceUnavailable, "too many concurrent changes to %s; retry", id)
}

// Updated is what an Update wrote, rendered only when asked (Item.Resource): a PATCH
// answered with 204 renders nothing, where a group's rendering is a map per member.
type Updated struct {
	*Item
	Version string
	Object  client.Object
	// Changed is false when the change left the resource as it was, and nothing was
	// written.
	Changed bool
}

// Delete removes a resource; it returns what was deleted, for the caller's event.
// With If-Match, the delete is conditional on the version the client saw; a
// concurrent status write retries rather than failing the precondition.
func (c *collection[T]) Delete(ctx context.Context, t Tenant, id, ifMatch string) (*Resource, error) {
	fresh := false
	for attempt := range maxUpdateAttempts {
		obj, err := c.get(ctx, t, id, fresh)
		if err != nil {
			return nil, err
		}
		if ifMatch != "" && !ETagMatches(ifMatch, Version(obj)) {
			return nil, scimerr.New(http.StatusPreconditionFailed, "the resource has changed: version is %s", Version(obj))
		}
		if t.RetainDeleted {
			ann := obj.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann[identityv1alpha1.AnnotationDeletedAt] = time.Now().UTC().Format(time.RFC3339)
			obj.SetAnnotations(ann)
			err = c.store.Client.Update(ctx, obj)
		} else {
			pre := metav1.Preconditions{UID: ptr.To(obj.GetUID())}
			if ifMatch != "" {
				pre.ResourceVersion = ptr.To(obj.GetResourceVersion())
			}
			err = c.store.Client.Delete(ctx, obj, client.Preconditions(pre))
		}
		switch {
		case err == nil:
			c.writes.note(obj)
			if !t.RetainDeleted {
				for _, ix := range c.codec.keyIndexes(c.store.Lookups) {
					ix.Deleted(obj)
				}
			}
			return &Resource{ID: id, Object: obj}, nil
		case apierrors.IsNotFound(err):
			return nil, notFound(c.codec.resource().Name, id)
		case !apierrors.IsConflict(err):
			return nil, writeError(err)
		}
		fresh = true
		backoff(ctx, attempt)
	}
	return nil, scimerr.New(http.StatusServiceUnavailable, "too many concurrent changes to %s; retry", id)
}

// ETagMatches compares an If-Match or If-None-Match header with a version; "*"
// matches any, and weak and strong forms compare equal (RFC 7232 weak comparison).
func ETagMatches(header, version string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == strings.TrimPrefix(version, "W/") {
			return true
		}
	}
	return false
}

func stampModified(obj client.Object) {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationLastModified] = time.Now().UTC().Format(time.RFC3339Nano)
	obj.SetAnnotations(ann)
}

func backoff(ctx context.Context, attempt int) {
	d := time.Duration(1+rand.IntN(5*(attempt+1))) * time.Millisecond
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func notFound(kind, id string) error {
	return scimerr.New(http.StatusNotFound, "%s %q not found", kind, id)
}

// unavailable reports an API server failure as 503: the identity provider retries
// later instead of counting a permanent error.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	if se, ok := scimerr.As(err); ok {
		return se
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &scimerr.Error{Status: http.StatusServiceUnavailable, Detail: "the request timed out; retry"}
	}
	return &scimerr.Error{Status: http.StatusServiceUnavailable, Detail: "storage unavailable; retry: " + err.Error()}
}

// writeError maps an API server refusal to a SCIM error: a schema violation (a value
// too long, too many elements) is the client's invalidValue.
func writeError(err error) error {
	switch {
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		return scimerr.BadRequest(scimerr.InvalidValue, "%s", invalidDetail(err))
	case apierrors.IsRequestEntityTooLargeError(err):
		return scimerr.New(http.StatusRequestEntityTooLarge, "the resource is too large to store")
	}
	return unavailable(err)
}

func invalidDetail(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Details != nil && len(status.Status().Details.Causes) > 0 {
		parts := make([]string, 0, len(status.Status().Details.Causes))
		for _, c := range status.Status().Details.Causes {
			parts = append(parts, strings.TrimPrefix(c.Field, "spec.")+": "+c.Message)
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

// isObjectName: an id that cannot name an object is no resource, without asking.
func isObjectName(id string) bool {
	if id == "" || len(id) > 253 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
