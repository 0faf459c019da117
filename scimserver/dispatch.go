package scimserver

import (
	"net/http"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"
	"github.com/scim-operator/scim-operator/scimserver/store"
)

// dispatch routes a request under the tenant URL. Endpoint names match
// case-insensitively: clients disagree on case and nothing is gained by refusing.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, req *request) {
	seg := req.segments
	if len(seg) == 0 {
		writeError(w, r, errNotFound("no resource at the tenant root; see %s/ResourceTypes", req.tenant.BaseURL))
		return
	}
	first := strings.ToLower(seg[0])
	setLabel(r, labelResource, resourceLabel(first))
	switch first {
	case "users", "groups":
		coll := s.users
		if first == "groups" {
			coll = s.groups
		}
		s.serveResource(w, r, req, coll, seg[1:])
	case ".search":
		s.allow(w, r, len(seg) == 1, http.MethodPost, func() { s.searchAll(w, r, req) })
	case "bulk":
		s.allow(w, r, len(seg) == 1, http.MethodPost, func() { s.bulk(w, r, req) })
	case "serviceproviderconfig", "serviceconfiguration":
		// serviceConfiguration is the path Microsoft's test collection calls.
		s.allow(w, r, len(seg) == 1, http.MethodGet, func() { s.serviceProviderConfig(w, req) })
	case "resourcetypes":
		s.allow(w, r, len(seg) <= 2, http.MethodGet, func() { s.resourceTypes(w, r, req, seg[1:]) })
	case "schemas":
		s.allow(w, r, len(seg) <= 2, http.MethodGet, func() { s.schemas(w, r, req, seg[1:]) })
	case "me":
		writeError(w, r, scimerr.New(http.StatusNotImplemented, "/Me is not supported: tokens belong to identity providers, not users"))
	default:
		writeError(w, r, errNotFound("no endpoint %q", seg[0]))
	}
}

func (s *Server) allow(w http.ResponseWriter, r *http.Request, pathOK bool, method string, serve func()) {
	switch {
	case !pathOK:
		writeError(w, r, errNotFound("no such resource"))
	case r.Method != method:
		w.Header().Set("Allow", method)
		writeError(w, r, scimerr.New(http.StatusMethodNotAllowed, "%s is not allowed here", r.Method))
	default:
		serve()
	}
}

func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, req *request, coll store.Collection, rest []string) {
	switch {
	case len(rest) == 0:
		switch r.Method {
		case http.MethodGet:
			s.list(w, r, req, coll)
		case http.MethodPost:
			s.create(w, r, req, coll)
		default:
			w.Header().Set("Allow", "GET, POST")
			writeError(w, r, scimerr.New(http.StatusMethodNotAllowed, "%s is not allowed on %s", r.Method, coll.Resource().Endpoint))
		}
	case len(rest) == 1 && rest[0] == ".search":
		s.allow(w, r, true, http.MethodPost, func() { s.search(w, r, req, coll) })
	case len(rest) == 1:
		id := rest[0]
		switch r.Method {
		case http.MethodGet:
			s.get(w, r, req, coll, id)
		case http.MethodPut:
			s.replace(w, r, req, coll, id)
		case http.MethodPatch:
			s.patch(w, r, req, coll, id)
		case http.MethodDelete:
			s.delete(w, r, req, coll, id)
		default:
			w.Header().Set("Allow", "GET, PUT, PATCH, DELETE")
			writeError(w, r, scimerr.New(http.StatusMethodNotAllowed, "%s is not allowed on a resource", r.Method))
		}
	default:
		writeError(w, r, errNotFound("no such resource"))
	}
}

func resourceLabel(first string) string {
	switch first {
	case "users":
		return "Users"
	case "groups":
		return "Groups"
	case ".search":
		return "search"
	case "bulk":
		return "Bulk"
	case "serviceproviderconfig", "serviceconfiguration", "resourcetypes", "schemas":
		return "discovery"
	}
	return "other"
}
