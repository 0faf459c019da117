package queryparam

import (
	"net/url"
	"strings"
	"testing"
)

func TestGetReadsAsURLValuesDo(t *testing.T) {
	for _, tc := range []struct {
		query, name, want string
	}{
		{`filter=userName+eq+%22a%40example.com%22`, "filter", `userName eq "a@example.com"`},
		{`attributes=userName&filter=x`, "filter", "x"},
		{`filter=first&filter=second`, "filter", "first"},
		{`filter`, "filter", ""},
		{`filter=`, "filter", ""},
		{`fil%74er=escaped+key`, "filter", "escaped key"},
		{`filter=%zz&filter=valid`, "filter", "valid"},
		{`filter=a;b&filter=c`, "filter", "c"},
		{`count=10;startIndex=2`, "count", ""},
		{`&&count=5&`, "count", "5"},
		{`Count=5`, "count", ""},
		{``, "filter", ""},
		{strings.Repeat("a=1&", maxParams) + "count=5", "count", ""},
	} {
		if got := Get(tc.query, tc.name); got != tc.want {
			t.Errorf("Get(%q, %q) = %q, want %q", tc.query, tc.name, got, tc.want)
		}
		values, _ := url.ParseQuery(tc.query)
		if got := values.Get(tc.name); got != tc.want {
			t.Errorf("the table is wrong: url.ParseQuery(%q).Get(%q) = %q", tc.query, tc.name, got)
		}
	}
}

// FuzzGet holds Get to url.ParseQuery's reading of any query.
func FuzzGet(f *testing.F) {
	for _, seed := range []string{`filter=userName+eq+%22a%22`, `a=1&b=2;c&%zz=1&count=%31`, `count=5&count=6`, `=&==&a==b`} {
		f.Add(seed, "filter")
		f.Add(seed, "count")
	}
	f.Fuzz(func(t *testing.T, query, name string) {
		values, _ := url.ParseQuery(query)
		if got, want := Get(query, name), values.Get(name); got != want {
			t.Errorf("Get(%q, %q) = %q, url.ParseQuery reads %q", query, name, got, want)
		}
	})
}
