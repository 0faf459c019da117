package store

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/scimserver/docjson"
)

// writingCodec is a codec whose documents are written from their objects (see
// docappend.go) as well as rendered.
type writingCodec[T client.Object] interface {
	// spec is the struct the document's own attributes render from, and its fields
	// that are not attributes.
	spec(obj T) (spec reflect.Value, omit []string)
	// appendMembers adds the document's members besides id, schemas, meta and the
	// spec's fields; ok is false for a document only render renders. It may leave out
	// a member m does not want, unless its key is a URN: schemas lists those present.
	appendMembers(ctx context.Context, t Tenant, obj T, m *members) (ok bool, err error)
}

// writtenSpec is an object's spec as its codec renders it, with the plan it renders
// by, when the codec writes its documents.
type writtenSpec[T client.Object] struct {
	codec writingCodec[T]
	value reflect.Value
	omit  []string
	plan  *structPlan
}

func (c *collection[T]) specOf(obj T) (writtenSpec[T], bool) {
	wc, ok := any(c.codec).(writingCodec[T])
	if !ok {
		return writtenSpec[T]{}, false
	}
	value, omit := wc.spec(obj)
	plan := planOf(value.Type())
	return writtenSpec[T]{codec: wc, value: value, omit: omit, plan: plan}, plan != nil
}

// docFor renders the top-level attributes keys names of obj, when its codec renders
// them all from its spec: what a filter reads of a listed resource.
func (c *collection[T]) docFor(obj T, keys []string) (map[string]any, bool, error) {
	spec, ok := c.specOf(obj)
	if !ok {
		return nil, false, nil
	}
	for _, key := range keys {
		if key != "id" && (slices.Contains(spec.omit, key) || !slices.ContainsFunc(spec.plan.fields, func(f fieldPlan) bool { return f.name == key })) {
			return nil, false, nil
		}
	}
	doc, err := spec.plan.render(spec.value, spec.omit, keys)
	if err != nil {
		return nil, false, err
	}
	if slices.Contains(keys, "id") {
		doc["id"] = obj.GetName()
	}
	return doc, true, nil
}

// appendJSON writes obj's document as docjson writes what rendered renders, without
// the top-level members exclude names; ok is false, and dst as it was, when its codec
// cannot.
func (c *collection[T]) appendJSON(ctx context.Context, t Tenant, obj T, dst []byte, exclude []string) ([]byte, bool, error) {
	spec, ok := c.specOf(obj)
	if !ok {
		return dst, false, nil
	}
	m := memberPool.Get().(*members)
	defer putMembers(m)
	m.exclude = exclude
	if ok, err := spec.codec.appendMembers(ctx, t, obj, m); !ok || err != nil {
		return dst, false, err
	}
	c.appendCommon(t, obj, m)
	m.leaveOutExcluded()
	m.sort()
	omit := spec.omit
	if len(exclude) > 0 {
		omit = append(slices.Clip(omit), exclude...)
	}
	out, ok := spec.plan.appendObject(dst, spec.value, omit, m)
	if !ok {
		return dst, false, nil
	}
	return out, true, nil
}

// appendCommon adds what every resource has: id, schemas (the core schema, then the
// extensions present, sorted) and meta.
func (c *collection[T]) appendCommon(t Tenant, obj T, m *members) {
	res := c.codec.resource()
	var stack [4]string
	urns := stack[:0]
	for _, mb := range m.list {
		if isURN(mb.key) {
			urns = append(urns, mb.key)
		}
	}
	slices.Sort(urns)
	m.begin("schemas")
	m.buf = append(m.buf, '[')
	m.buf = docjson.AppendString(m.buf, res.Core.ID)
	for _, urn := range urns {
		m.buf = append(m.buf, ',')
		m.buf = docjson.AppendString(m.buf, urn)
	}
	m.buf = append(m.buf, ']')
	m.end()
	m.addString("id", obj.GetName())
	// meta as metaOf renders it, appended rather than built as strings first.
	created, lastModified := timesOf(obj)
	m.begin("meta")
	m.buf = append(m.buf, `{"created":"`...)
	m.buf = created.AppendFormat(m.buf, time.RFC3339)
	m.buf = append(m.buf, `","lastModified":"`...)
	m.buf = lastModified.AppendFormat(m.buf, time.RFC3339Nano)
	m.buf = append(m.buf, `","location":`...)
	m.buf = docjson.AppendJoined(m.buf, t.BaseURL, res.Endpoint, "/", obj.GetName())
	m.buf = append(m.buf, `,"resourceType":`...)
	m.buf = docjson.AppendString(m.buf, res.Name)
	m.buf = append(m.buf, `,"version":`...)
	var version [40]byte
	m.buf = docjson.AppendString(m.buf, string(appendVersion(version[:0], obj))) // escapes its quotes
	m.buf = append(m.buf, '}')
	m.end()
}

var memberPool = sync.Pool{New: func() any { return &members{} }}

// maxPooledMembers keeps the pool from holding on to a rare large document's members.
const maxPooledMembers = 64 << 10

func putMembers(m *members) {
	if cap(m.buf) > maxPooledMembers {
		return
	}
	m.buf, m.list, m.exclude = m.buf[:0], m.list[:0], nil
	memberPool.Put(m)
}
