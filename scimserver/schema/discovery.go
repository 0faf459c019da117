package schema

// Discovery documents (RFC 7643 §5–§7), rendered from the definitions.

// SchemaDoc renders a schema as a /Schemas resource.
func SchemaDoc(s *Schema, baseURL string) map[string]any {
	return map[string]any{
		"schemas":     []any{SchemaURN},
		"id":          s.ID,
		"name":        s.Name,
		"description": s.Description,
		"attributes":  attributeDocs(s.Attributes),
		"meta": map[string]any{
			"resourceType": "Schema",
			"location":     baseURL + "/Schemas/" + s.ID,
		},
	}
}

func attributeDocs(attrs []*Attribute) []any {
	out := make([]any, 0, len(attrs))
	for _, a := range attrs {
		d := map[string]any{
			"name":        a.Name,
			"type":        string(a.Type),
			"multiValued": a.MultiValued,
			"description": a.Description,
			"required":    a.Required,
			"mutability":  a.Mutability,
			"returned":    a.Returned,
		}
		if a.Type != Complex && a.Type != Boolean {
			d["caseExact"] = a.CaseExact
			d["uniqueness"] = orDefault(a.Uniqueness, "none")
		}
		if len(a.CanonicalValues) > 0 {
			d["canonicalValues"] = toAny(a.CanonicalValues)
		}
		if len(a.ReferenceTypes) > 0 {
			d["referenceTypes"] = toAny(a.ReferenceTypes)
		}
		if len(a.SubAttributes) > 0 {
			d["subAttributes"] = attributeDocs(a.SubAttributes)
		}
		out = append(out, d)
	}
	return out
}

// ResourceTypeDoc renders a resource type as a /ResourceTypes resource.
func ResourceTypeDoc(r *Resource, baseURL string) map[string]any {
	exts := make([]any, 0, len(r.Extensions))
	for _, e := range r.Extensions {
		exts = append(exts, map[string]any{"schema": e.ID, "required": false})
	}
	d := map[string]any{
		"schemas":     []any{ResourceTypeURN},
		"id":          r.Name,
		"name":        r.Name,
		"endpoint":    r.Endpoint,
		"description": r.Description,
		"schema":      r.Core.ID,
		"meta": map[string]any{
			"resourceType": "ResourceType",
			"location":     baseURL + "/ResourceTypes/" + r.Name,
		},
	}
	if len(exts) > 0 {
		d["schemaExtensions"] = exts
	}
	return d
}

// Features are what ServiceProviderConfig advertises; the server passes what it
// enforces, so the document cannot promise more than is served.
type Features struct {
	MaxBulkOperations  int
	MaxBulkPayloadSize int
	MaxFilterResults   int
	DocumentationURI   string
}

// ServiceProviderConfigDoc renders /ServiceProviderConfig (RFC 7643 §5).
func ServiceProviderConfigDoc(f Features, baseURL string) map[string]any {
	return map[string]any{
		"schemas":          []any{SPConfigURN},
		"documentationUri": f.DocumentationURI,
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": true, "maxOperations": f.MaxBulkOperations, "maxPayloadSize": f.MaxBulkPayloadSize},
		"filter":           map[string]any{"supported": true, "maxResults": f.MaxFilterResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "A long-lived bearer token stored (hashed) in a Secret labelled for the tenant.",
			"primary":     true,
		}},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     baseURL + "/ServiceProviderConfig",
		},
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
