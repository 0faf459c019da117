package docjson_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/docjson"
)

// requireSame fails unless Append writes v as encoding/json does, or fails as it does.
func requireSame(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, err := docjson.Append(nil, v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("Append error %v, encoding/json's %v", err, wantErr)
	}
	if wantErr == nil && !bytes.Equal(got, want) {
		t.Fatalf("Append wrote\n %s\nencoding/json\n %s", got, want)
	}
}

func TestAppendWritesWhatEncodingJSONWrites(t *testing.T) {
	type typed struct {
		A string `json:"a"`
		B []int  `json:"b,omitempty"`
	}
	for name, v := range map[string]any{
		"a user": map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "id": "2819c223",
			"userName": "bjensen@example.com", "active": true, "name": map[string]any{"givenName": "Barbara"},
			"emails": []any{map[string]any{"value": "b@example.com", "primary": false}}, "count": json.Number("12.5e3")},
		"escapes":                     map[string]any{"<a&b>": "\"quoted\" \\ \n\t\x01 é ü 🎉 \u2028\u2029 <script>", "\xff": "\xfe\x80"},
		"null, empty and nil":         map[string]any{"null": nil, "empty": map[string]any{}, "list": []any{}, "nilMap": map[string]any(nil), "nilList": []any(nil)},
		"more keys than the stack":    manyKeys(40),
		"an empty json.Number":        json.Number(""),
		"an invalid json.Number":      json.Number("12abc"),
		"a json.Number of a string":   json.Number(`"12"`),
		"a json.Number of a literal":  []any{json.Number("true"), json.Number("-0.5E-3")},
		"other types":                 map[string]any{"int": 3, "float": 0.1, "strings": []string{"a", "<"}, "typed": typed{A: "x"}, "ptr": &typed{}},
		"a value encoding/json fails": map[string]any{"nan": math.NaN()},
		"a bare string":               "plain",
		"a ListResponse's counts":     map[string]any{"totalResults": 100000, "startIndex": 1, "itemsPerPage": 0, "negative": -7, "int64": int64(math.MinInt64), "max": math.MaxInt},
	} {
		t.Run(name, func(t *testing.T) { requireSame(t, v) })
	}
}

// AppendJoined writes the parts as encoding/json writes them joined.
func TestAppendJoinedWritesThePartsJoined(t *testing.T) {
	for _, parts := range [][]string{{}, {"https://example.com/scim", "/", "Users", "s/", "u1"}, {"a", "<b>", "\u2028"}, {"\xff", "\xfe"}, {"", ""}} {
		want, _ := json.Marshal(strings.Join(parts, ""))
		if got := docjson.AppendJoined([]byte("x"), parts...); string(got) != "x"+string(want) {
			t.Errorf("AppendJoined(%q) = %s, want x%s", parts, got, want)
		}
	}
}

func manyKeys(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[string(rune('A'+i%26))+string(rune('a'+i/26))] = i%2 == 0
	}
	return m
}

// FuzzAppend: any JSON document, decoded as the server decodes bodies, is written back
// as encoding/json writes it.
func FuzzAppend(f *testing.F) {
	f.Add(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a<b>&\u2028","n":1.50,"x":[null,true,{}]}`)
	f.Add(`"\ud800"`)
	f.Add(`[1e400]`)
	f.Fuzz(func(t *testing.T, doc string) {
		d := json.NewDecoder(bytes.NewReader([]byte(doc)))
		d.UseNumber()
		var v any
		if d.Decode(&v) == nil {
			requireSame(t, v)
		}
		requireSame(t, doc) // any Go string, invalid UTF-8 included
	})
}
