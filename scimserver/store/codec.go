package store

import (
	"bytes"
	"encoding/json"
	"strings"
)

func decodeMap(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := decodeWithNumbers(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeWithNumbers decodes JSON with numbers kept as json.Number, as documents hold them.
func decodeWithNumbers(b []byte, into any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(into)
}

// fromMap fills a spec struct from a canonical document; attributes the struct has
// no field for were already dropped by schema normalization.
func fromMap(m map[string]any, into any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// isURN: a top-level key that is an extension's, listed in the document's schemas.
func isURN(key string) bool { return len(key) >= 4 && strings.EqualFold(key[:4], "urn:") }

// splitExtensions separates the extension objects (keys that are URNs) from the
// core attributes of a document.
func splitExtensions(doc map[string]any) (core map[string]any, extensions map[string]any) {
	core = make(map[string]any, len(doc))
	extensions = map[string]any{}
	for k, v := range doc {
		switch {
		case k == "id" || k == "schemas" || k == "meta":
		case isURN(k):
			extensions[k] = v
		default:
			core[k] = v
		}
	}
	return core, extensions
}
