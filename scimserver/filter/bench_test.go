package filter

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

const benchFilter = `userName eq "alice@example.com" or (emails[type eq "work" and value co "@example.com"] and active eq true) or meta.lastModified gt "2020-01-01T00:00:00Z"`

// BenchmarkParse is the cost of one filter from a request.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(schema.User, benchFilter); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch is one parsed filter evaluated against one user, as a filter that no
// index answers does for each candidate.
func BenchmarkMatch(b *testing.B) {
	f, err := Parse(schema.User, benchFilter)
	if err != nil {
		b.Fatal(err)
	}
	d := json.NewDecoder(strings.NewReader(alice))
	d.UseNumber()
	var user map[string]any
	if err := d.Decode(&user); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !f.Match(user) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkParseLookup is the filter of Entra ID's lookup before every create.
func BenchmarkParseLookup(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(schema.User, `userName eq "alice@example.com"`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePath is a PATCH path with a value filter, as Entra sends for emails.
func BenchmarkParsePath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePath(schema.User, `emails[type eq "work"].value`); err != nil {
			b.Fatal(err)
		}
	}
}
