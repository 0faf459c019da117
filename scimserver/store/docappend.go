package store

import (
	"reflect"
	"slices"
	"strconv"

	"github.com/scim-operator/scim-operator/scimserver/docjson"
)

// A listed user was rendered into a map, which docjson then walked to write it: at
// 100,000 users a lookup's boxes and maps were half of what it allocated, and what
// the collector, marking a heap of 500 MB, charged for it. Here a struct with a plan
// is written straight to JSON, byte for byte what docjson writes of docOf's map.

// member is one top-level member of a document besides its spec's fields (id, meta,
// an extension): its key and its JSON, buf[start:end] of the members it is in.
type member struct {
	key        string
	start, end int
}

// members collects a document's members besides its spec's fields.
type members struct {
	buf  []byte
	list []member
	// exclude are the top-level keys the document is written without.
	exclude []string
}

// wants: the document is written with the member key.
func (m *members) wants(key string) bool { return !slices.Contains(m.exclude, key) }

// leaveOutExcluded drops the members the document is written without.
func (m *members) leaveOutExcluded() {
	if len(m.exclude) > 0 {
		m.list = slices.DeleteFunc(m.list, func(mb member) bool { return !m.wants(mb.key) })
	}
}

// begin starts a member; its JSON is what is appended to m.buf until end.
func (m *members) begin(key string) {
	m.list = append(m.list, member{key: key, start: len(m.buf)})
}

func (m *members) end() { m.list[len(m.list)-1].end = len(m.buf) }

// drop takes back the member begun last.
func (m *members) drop() {
	m.buf = m.buf[:m.list[len(m.list)-1].start]
	m.list = m.list[:len(m.list)-1]
}

// addString is a member whose value is a string.
func (m *members) addString(key, value string) {
	m.begin(key)
	m.buf = docjson.AppendString(m.buf, value)
	m.end()
}

// sort orders the members by key, as docjson writes an object's. A document has a
// handful: insertion sort.
func (m *members) sort() {
	for i := 1; i < len(m.list); i++ {
		for j := i; j > 0 && m.list[j].key < m.list[j-1].key; j-- {
			m.list[j], m.list[j-1] = m.list[j-1], m.list[j]
		}
	}
}

// appendObject writes v's document (but the fields named in omit) merged with the
// sorted members; a member replaces a field of its key, as it would in the map. ok is
// false when a field present goes through encoding/json (a number, a map, a type with
// its own JSON): docOf decodes what encoding/json writes of it, and the caller
// renders the document that way instead.
func (p *structPlan) appendObject(dst []byte, v reflect.Value, omit []string, with *members) (_ []byte, ok bool) {
	var extra []member
	if with != nil {
		extra = with.list
	}
	dst = append(dst, '{')
	first := true
	for i, j := 0, 0; i < len(p.sorted) || j < len(extra); {
		var key string
		if j < len(extra) && (i == len(p.sorted) || extra[j].key <= p.sorted[i].name) {
			if i < len(p.sorted) && extra[j].key == p.sorted[i].name {
				i++
			}
			key = extra[j].key
		} else if f := p.sorted[i]; !f.rendered(v, omit) {
			i++
			continue
		} else if f.byJSON {
			return dst, false
		} else {
			key = f.name
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = docjson.AppendString(dst, key)
		dst = append(dst, ':')
		if j < len(extra) && extra[j].key == key {
			dst = append(dst, with.buf[extra[j].start:extra[j].end]...)
			j++
			continue
		}
		if dst, ok = appendValue(dst, v.Field(p.sorted[i].index)); !ok {
			return dst, false
		}
		i++
	}
	return append(dst, '}'), true
}

// appendValue writes what valueOf renders v as; ok is false where valueOf leaves it to
// encoding/json.
func appendValue(dst []byte, v reflect.Value) (_ []byte, ok bool) {
	switch v.Kind() {
	case reflect.String:
		return docjson.AppendString(dst, v.String()), true
	case reflect.Bool:
		return strconv.AppendBool(dst, v.Bool()), true
	case reflect.Pointer:
		if v.IsNil() {
			return append(dst, "null"...), true
		}
		return appendValue(dst, v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return append(dst, "null"...), true
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return dst, false
		}
		dst = append(dst, '[')
		for i := range v.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = appendValue(dst, v.Index(i)); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case reflect.Struct:
		if plan := planOf(v.Type()); plan != nil {
			return plan.appendObject(dst, v, nil, nil)
		}
	}
	return dst, false
}
