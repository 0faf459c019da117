package scimserver

import (
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/scimserver/patch"
	"github.com/scim-operator/scim-operator/scimserver/queryparam"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/store"
)

// Event reasons recorded on ScimUsers and ScimGroups. A creation has no Event of its
// own: the reconciler's first one (reason Provisioned) says what it was given, one API
// write less per provisioned identity.
const (
	ReasonDeactivated = "Deactivated"
	ReasonReactivated = "Reactivated"
	ReasonDeleted     = "Deleted"
)

// readResource reads a resource body in its normal form.
func (s *Server) readResource(w http.ResponseWriter, r *http.Request, res *schema.Resource) (map[string]any, error) {
	body, err := readObject(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	return res.Normalize(body)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, req *request, coll store.Collection) {
	res := coll.Resource()
	doc, err := s.readResource(w, r, res)
	if err != nil {
		writeError(w, r, err)
		return
	}
	created, err := coll.Create(r.Context(), req.tenant, doc)
	if err != nil {
		writeError(w, r, err)
		return
	}
	countIdentity(req.tenant, res.Name, "created")
	if active, ok := created.Doc["active"].(bool); ok && !active {
		countIdentity(req.tenant, res.Name, "deactivated")
	}
	w.Header().Set("Location", location(created))
	s.writeResource(w, r, http.StatusCreated, res, created)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, req *request, coll store.Collection, id string) {
	found, err := coll.Get(r.Context(), req.tenant, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	version := found.Version()
	if inm := r.Header.Get("If-None-Match"); inm != "" && store.ETagMatches(inm, version) {
		w.Header().Set("ETag", version)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	attributes, excluded := attributeParams(r.URL.RawQuery)
	proj := newProjection(coll.Resource(), attributes, excluded)
	buf := responseBuffers.Get().(*[]byte)
	defer putResponseBuffer(buf)
	b, err := proj.appendItem(*buf, found)
	if err != nil {
		writeError(w, r, err)
		return
	}
	*buf = b
	w.Header().Set("ETag", version)
	writeBody(w, http.StatusOK, b)
}

// replace is PUT: the body replaces every attribute the client may write.
func (s *Server) replace(w http.ResponseWriter, r *http.Request, req *request, coll store.Collection, id string) {
	doc, err := s.readResource(w, r, coll.Resource())
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.update(w, r, req, coll, id, func(map[string]any) (map[string]any, error) { return doc, nil }, http.StatusOK)
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, req *request, coll store.Collection, id string) {
	var body patch.Request
	if err := readJSON(w, r, s.opts.MaxBodyBytes, &body); err != nil {
		writeError(w, r, err)
		return
	}
	res := coll.Resource()
	// PATCH answers 204 (RFC 7644 §3.5.2 allows it; Entra ID documents it for groups
	// and Microsoft's tests expect it for users; rendering thousands of members back
	// is waste). A client that names attributes, or prefers a representation (RFC
	// 7240), gets the resource with 200.
	status := http.StatusNoContent
	if queryparam.Get(r.URL.RawQuery, "attributes") != "" || queryparam.Get(r.URL.RawQuery, "excludedAttributes") != "" || strings.Contains(r.Header.Get("Prefer"), "return=representation") {
		status = http.StatusOK
	}
	s.update(w, r, req, coll, id, func(doc map[string]any) (map[string]any, error) {
		return patch.Apply(res, doc, body.Operations)
	}, status)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, req *request, coll store.Collection, id string,
	change func(map[string]any) (map[string]any, error), status int) {
	res := coll.Resource()
	var wasActive, nowActive bool
	updated, err := coll.Update(r.Context(), req.tenant, id, r.Header.Get("If-Match"), func(doc map[string]any) (map[string]any, error) {
		changed, err := change(doc)
		wasActive, nowActive = isActive(doc), isActive(changed)
		return changed, err
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	if updated.Changed && res == schema.User {
		switch {
		case wasActive && !nowActive:
			s.event(updated.Object, ReasonDeactivated, "Deactivate", "Deactivated by the identity provider")
			countIdentity(req.tenant, res.Name, "deactivated")
		case !wasActive && nowActive:
			s.event(updated.Object, ReasonReactivated, "Reactivate", "Reactivated by the identity provider")
			countIdentity(req.tenant, res.Name, "reactivated")
		}
	}
	if updated.Changed {
		countIdentity(req.tenant, res.Name, "updated")
	}
	if status == http.StatusNoContent {
		w.Header().Set("ETag", updated.Version)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rendered, err := updated.Resource()
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.writeResource(w, r, status, res, rendered)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, req *request, coll store.Collection, id string) {
	deleted, err := coll.Delete(r.Context(), req.tenant, id, r.Header.Get("If-Match"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.event(deleted.Object, ReasonDeleted, "Delete", "Deleted by the identity provider")
	countIdentity(req.tenant, coll.Resource().Name, "deleted")
	w.WriteHeader(http.StatusNoContent)
}

// writeResource answers with one resource, projected by attributes/excludedAttributes.
func (s *Server) writeResource(w http.ResponseWriter, r *http.Request, status int, res *schema.Resource, found *store.Resource) {
	attributes, excluded := attributeParams(r.URL.RawQuery)
	doc := res.Project(found.Doc, attributes, excluded)
	w.Header().Set("ETag", found.Version)
	writeJSON(w, status, doc)
}

func (s *Server) event(obj client.Object, reason, action, message string) {
	if s.recorder == nil || obj == nil {
		return
	}
	s.recorder.Eventf(obj, nil, corev1.EventTypeNormal, reason, action, message)
}

func isActive(doc map[string]any) bool {
	active, ok := doc["active"].(bool)
	return !ok || active
}

func location(res *store.Resource) string {
	meta, _ := res.Doc["meta"].(map[string]any)
	loc, _ := meta["location"].(string)
	return loc
}
