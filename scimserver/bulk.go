package scimserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

type bulkRequest struct {
	FailOnErrors *int            `json:"failOnErrors"`
	Operations   []bulkOperation `json:"Operations"`
}

type bulkOperation struct {
	Method  string `json:"method"`
	BulkID  string `json:"bulkId"`
	Version string `json:"version"`
	Path    string `json:"path"`
	Data    any    `json:"data"`
}

// bulk is POST /Bulk (RFC 7644 §3.7): operations run in order through the same
// handlers as single requests; "bulkId:X" in a path or value stands for the id of
// the resource an earlier POST with bulkId X created.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request, req *request) {
	var body bulkRequest
	if err := readJSON(w, r, s.opts.MaxBulkBodyBytes, &body); err != nil {
		writeError(w, r, err)
		return
	}
	if len(body.Operations) > s.opts.MaxBulkOperations {
		writeError(w, r, &scimerr.Error{Status: http.StatusRequestEntityTooLarge, ScimType: scimerr.TooMany,
			Detail: "the request has " + strconv.Itoa(len(body.Operations)) + " operations; maxOperations is " + strconv.Itoa(s.opts.MaxBulkOperations)})
		return
	}
	ids := map[string]string{}
	results := make([]any, 0, len(body.Operations))
	failures := 0
	for _, op := range body.Operations {
		if body.FailOnErrors != nil && *body.FailOnErrors > 0 && failures >= *body.FailOnErrors {
			break
		}
		result := s.bulkOperation(r, req, op, ids)
		if status, _ := strconv.Atoi(result["status"].(string)); status >= 400 {
			failures++
		}
		results = append(results, result)
	}
	setLabel(r, labelResource, "Bulk")
	writeJSON(w, http.StatusOK, map[string]any{"schemas": []any{schema.BulkResponseURN}, "Operations": results})
}

func (s *Server) bulkOperation(r *http.Request, req *request, op bulkOperation, ids map[string]string) map[string]any {
	method := strings.ToUpper(op.Method)
	result := map[string]any{"method": method}
	if op.BulkID != "" {
		result["bulkId"] = op.BulkID
	}
	fail := func(err error) map[string]any {
		e, _ := scimerr.As(err)
		result["status"] = strconv.Itoa(e.Status)
		body := map[string]any{"schemas": []any{schema.ErrorURN}, "status": strconv.Itoa(e.Status), "detail": e.Detail}
		if e.ScimType != "" {
			body["scimType"] = e.ScimType
		}
		result["response"] = body
		return result
	}
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return fail(scimerr.BadRequest(scimerr.InvalidValue, "bulk method %q is not POST, PUT, PATCH or DELETE", op.Method))
	}
	if method == http.MethodPost && op.BulkID == "" {
		return fail(scimerr.BadRequest(scimerr.InvalidValue, "a bulk POST needs a bulkId"))
	}
	path, err := resolveBulkIDs(op.Path, ids)
	if err != nil {
		return fail(err)
	}
	data, err := resolveBulkIDs(op.Data, ids)
	if err != nil {
		return fail(err)
	}
	segments := splitPath(path.(string))
	if len(segments) == 0 || len(segments) > 2 || !strings.EqualFold(segments[0], "Users") && !strings.EqualFold(segments[0], "Groups") {
		return fail(scimerr.BadRequest(scimerr.InvalidPath, "bulk path %q is not /Users or /Groups", op.Path))
	}
	var payload []byte
	if data != nil {
		payload, _ = json.Marshal(data)
	}
	sub, _ := http.NewRequestWithContext(r.Context(), method, path.(string), bytes.NewReader(payload))
	if op.Version != "" {
		sub.Header.Set("If-Match", op.Version)
	}
	rec := &bufferedResponse{header: http.Header{}}
	s.dispatch(rec, sub, &request{tenant: req.tenant, segments: segments})
	result["status"] = strconv.Itoa(rec.status)
	if v := rec.header.Get("ETag"); v != "" {
		result["version"] = v
	}
	if loc := rec.header.Get("Location"); loc != "" {
		result["location"] = loc
	} else if len(segments) == 2 && rec.status < 400 {
		result["location"] = req.tenant.BaseURL + "/" + segments[0] + "/" + segments[1]
	}
	if rec.status >= 400 {
		var errBody any
		if json.Unmarshal(rec.body.Bytes(), &errBody) == nil {
			result["response"] = errBody
		}
		return result
	}
	if method == http.MethodPost {
		var created struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(rec.body.Bytes(), &created) == nil && created.ID != "" {
			ids[op.BulkID] = created.ID
		}
	}
	return result
}

// resolveBulkIDs replaces "bulkId:X" references (whole strings, or a path segment)
// with the ids earlier operations created.
func resolveBulkIDs(v any, ids map[string]string) (any, error) {
	switch t := v.(type) {
	case string:
		if !strings.Contains(t, "bulkId:") {
			return t, nil
		}
		parts := strings.Split(t, "/")
		for i, p := range parts {
			if ref, ok := strings.CutPrefix(p, "bulkId:"); ok {
				id, known := ids[ref]
				if !known {
					return nil, &scimerr.Error{Status: http.StatusConflict, ScimType: scimerr.InvalidValue,
						Detail: "bulkId " + ref + " refers to no resource created earlier in this request"}
				}
				parts[i] = id
			}
		}
		return strings.Join(parts, "/"), nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, sv := range t {
			r, err := resolveBulkIDs(sv, ids)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, sv := range t {
			r, err := resolveBulkIDs(sv, ids)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// bufferedResponse captures a bulk operation's response.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
