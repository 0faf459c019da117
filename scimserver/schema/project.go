package schema

import "strings"

// Project applies the attributes and excludedAttributes parameters (RFC 7644
// §3.4.2.5) to a rendered document, which it may modify. schemas and id are always
// returned. Attribute names the resource does not have are ignored, and a value
// filter in a name (Microsoft's tests ask for `emails[type eq "work"]`) selects the
// whole attribute.
func (r *Resource) Project(doc map[string]any, attributes, excluded []string) map[string]any {
	if len(attributes) > 0 {
		out := map[string]any{"schemas": doc["schemas"], "id": doc["id"]}
		for _, name := range attributes {
			if keys, ok := r.projectionKeys(name); ok {
				copyKeys(out, doc, keys)
			}
		}
		return out
	}
	for _, keys := range r.excludedPaths(excluded) {
		deleteKeys(doc, keys)
	}
	return doc
}

// ExcludedKeys returns the top-level keys Project removes for excludedAttributes
// without attributes, when it removes nothing deeper; ok is false when it does.
func (r *Resource) ExcludedKeys(excluded []string) (keys []string, ok bool) {
	for _, path := range r.excludedPaths(excluded) {
		if len(path) != 1 {
			return nil, false
		}
		keys = append(keys, path[0])
	}
	return keys, true
}

// excludedPaths are where in a document the excludedAttributes are: id is always
// returned, and names the resource does not have are ignored.
func (r *Resource) excludedPaths(excluded []string) [][]string {
	var paths [][]string
	for _, name := range excluded {
		if keys, ok := r.projectionKeys(name); ok && !(len(keys) == 1 && keys[0] == "id") {
			paths = append(paths, keys)
		}
	}
	return paths
}

func (r *Resource) projectionKeys(name string) ([]string, bool) {
	name = strings.TrimSpace(name)
	if i := strings.IndexByte(name, '['); i >= 0 {
		if j := strings.LastIndexByte(name, ']'); j > i {
			name = name[:i] + name[j+1:]
		}
	}
	if name == "" {
		return nil, false
	}
	p, err := r.ResolveString(name)
	if err != nil {
		return nil, false
	}
	return p.Keys(), true
}

// ParseAttributeList splits a comma-separated attributes parameter.
func ParseAttributeList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func copyKeys(dst, src map[string]any, keys []string) {
	v, ok := src[keys[0]]
	if !ok {
		return
	}
	if len(keys) == 1 {
		dst[keys[0]] = v
		return
	}
	switch t := v.(type) {
	case map[string]any:
		d, _ := dst[keys[0]].(map[string]any)
		if d == nil {
			d = map[string]any{}
			dst[keys[0]] = d
		}
		copyKeys(d, t, keys[1:])
	case []any:
		d, _ := dst[keys[0]].([]any)
		if len(d) != len(t) {
			d = make([]any, len(t))
			for i := range d {
				d[i] = map[string]any{}
			}
			dst[keys[0]] = d
		}
		for i, el := range t {
			if m, ok := el.(map[string]any); ok {
				copyKeys(d[i].(map[string]any), m, keys[1:])
			}
		}
	}
}

func deleteKeys(doc map[string]any, keys []string) {
	if len(keys) == 1 {
		delete(doc, keys[0])
		return
	}
	switch t := doc[keys[0]].(type) {
	case map[string]any:
		deleteKeys(t, keys[1:])
	case []any:
		for _, el := range t {
			if m, ok := el.(map[string]any); ok {
				deleteKeys(m, keys[1:])
			}
		}
	}
}
