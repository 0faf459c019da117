package scimserver

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/docjson"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// A ListResponse written around its items is the document docjson writes for it.
func TestAListResponseIsWrittenAsItsDocument(t *testing.T) {
	items := []string{`{"id":"a","userName":"\u003cb\u003e"}`, `{"id":"c","meta":{"version":"W/\"1-x\""}}`, `{}`}
	for n := range len(items) + 1 {
		page := items[:n]
		got := append([]byte(listResponseHead), strings.Join(page, ",")...)
		got = appendListResponseTail(got, n, 3, 1000)

		resources := []any{}
		for _, item := range page {
			d := json.NewDecoder(strings.NewReader(item))
			d.UseNumber()
			var v any
			if err := d.Decode(&v); err != nil {
				t.Fatal(err)
			}
			resources = append(resources, v)
		}
		want, err := docjson.Append(nil, map[string]any{"schemas": []any{schema.ListResponseURN},
			"totalResults": 1000, "startIndex": 3, "itemsPerPage": n, "Resources": resources})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d items: written\n %s\nthe document\n %s", n, got, want)
		}
	}
}
