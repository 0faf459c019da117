package patch

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// BenchmarkApplyUser is Entra ID's usual update of a user: several replaces, one with a
// value filter.
func BenchmarkApplyUser(b *testing.B) {
	doc := decode(b, user)
	o := ops(b, `[{"op": "Replace", "path": "displayName", "value": "Alice Y"},
	  {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alice@new.example.com"},
	  {"op": "Replace", "path": "active", "value": "False"},
	  {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"}]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Apply(schema.User, doc, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddMembersTo1000 adds 100 members to a group of 1,000 (one of Entra's
// membership batches).
func BenchmarkAddMembersTo1000(b *testing.B) {
	var existing, added []string
	for i := range 1000 {
		existing = append(existing, fmt.Sprintf(`{"value": "u%d"}`, i))
	}
	for i := 1000; i < 1100; i++ {
		added = append(added, fmt.Sprintf(`{"value": "u%d"}`, i))
	}
	doc := decode(b, `{"displayName": "Everyone", "members": [`+strings.Join(existing, ",")+`]}`)
	o := ops(b, `[{"op": "Add", "path": "members", "value": [`+strings.Join(added, ",")+`]}]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Apply(schema.Group, doc, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFill1000 fills an empty group with 1,000 members in one request, as the load
// tool's initial cycle does, and then empties it.
func BenchmarkFill1000(b *testing.B) {
	var added []string
	for i := range 1000 {
		added = append(added, fmt.Sprintf(`{"value": "u%d"}`, i))
	}
	doc := decode(b, `{"displayName": "Everyone"}`)
	add := ops(b, `[{"op": "Add", "path": "members", "value": [`+strings.Join(added, ",")+`]}]`)
	remove := ops(b, `[{"op": "Remove", "path": "members", "value": [`+strings.Join(added, ",")+`]}]`)
	b.ReportAllocs()
	for b.Loop() {
		full, err := Apply(schema.Group, doc, add)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(schema.Group, full, remove); err != nil {
			b.Fatal(err)
		}
	}
}
