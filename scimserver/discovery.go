package scimserver

import (
	"net/http"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

func (s *Server) features() schema.Features {
	return schema.Features{
		MaxBulkOperations:  s.opts.MaxBulkOperations,
		MaxBulkPayloadSize: int(s.opts.MaxBulkBodyBytes),
		MaxFilterResults:   s.opts.MaxResults,
		DocumentationURI:   "https://github.com/scim-operator/scim-operator#scim-compatibility",
	}
}

func (s *Server) serviceProviderConfig(w http.ResponseWriter, req *request) {
	writeJSON(w, http.StatusOK, schema.ServiceProviderConfigDoc(s.features(), req.tenant.BaseURL))
}

func (s *Server) resourceTypes(w http.ResponseWriter, r *http.Request, req *request, rest []string) {
	if len(rest) == 1 {
		for _, res := range schema.Resources {
			if res.Name == rest[0] {
				writeJSON(w, http.StatusOK, schema.ResourceTypeDoc(res, req.tenant.BaseURL))
				return
			}
		}
		writeError(w, r, errNotFound("no resource type %q", rest[0]))
		return
	}
	docs := make([]any, 0, len(schema.Resources))
	for _, res := range schema.Resources {
		docs = append(docs, schema.ResourceTypeDoc(res, req.tenant.BaseURL))
	}
	writeJSON(w, http.StatusOK, listResponse(docs))
}

func (s *Server) schemas(w http.ResponseWriter, r *http.Request, req *request, rest []string) {
	var all []*schema.Schema
	for _, res := range schema.Resources {
		all = append(all, res.Schemas()...)
	}
	if len(rest) == 1 {
		for _, sc := range all {
			if sc.ID == rest[0] {
				writeJSON(w, http.StatusOK, schema.SchemaDoc(sc, req.tenant.BaseURL))
				return
			}
		}
		writeError(w, r, errNotFound("no schema %q", rest[0]))
		return
	}
	docs := make([]any, 0, len(all))
	for _, sc := range all {
		docs = append(docs, schema.SchemaDoc(sc, req.tenant.BaseURL))
	}
	writeJSON(w, http.StatusOK, listResponse(docs))
}

func listResponse(resources []any) map[string]any {
	return map[string]any{
		"schemas":      []any{schema.ListResponseURN},
		"totalResults": len(resources),
		"startIndex":   1,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	}
}
