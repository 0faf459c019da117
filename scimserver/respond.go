package scimserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/scim-operator/scim-operator/scimserver/docjson"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// ContentType is what every response carries; the Microsoft validator refuses
// application/json.
const ContentType = "application/scim+json"

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := responseBuffers.Get().(*[]byte)
	defer putResponseBuffer(buf)
	b, err := docjson.Append((*buf)[:0], v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"schemas":["` + schema.ErrorURN + `"],"status":"500","detail":"rendering the response failed"}`)
	} else {
		*buf = b
	}
	writeBody(w, status, b)
}

// writeBody answers with a JSON body already written.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// responseBuffers hold responses while they are written: a lookup's or a user's
// rendering then allocates no buffer of its own.
var responseBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledResponse keeps the pool from holding on to a rare huge response (a page
// of large groups) for every request after it.
const maxPooledResponse = 256 << 10

func putResponseBuffer(buf *[]byte) {
	if cap(*buf) <= maxPooledResponse {
		*buf = (*buf)[:0] // its next user appends from the start
		responseBuffers.Put(buf)
	}
}

// writeError answers with the SCIM error body (RFC 7644 §3.12). Errors that are not
// SCIM errors are the server's fault: 500 without internals in the body.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := scimerr.As(err)
	if !ok {
		e = &scimerr.Error{Status: http.StatusInternalServerError, Detail: "internal error"}
		setInternalError(r, err)
	}
	body := map[string]any{
		"schemas": []any{schema.ErrorURN},
		"status":  strconv.Itoa(e.Status),
		"detail":  e.Detail,
	}
	if e.ScimType != "" {
		body["scimType"] = e.ScimType
	}
	switch e.Status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim-operator"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "5")
		}
	}
	writeJSON(w, e.Status, body)
}

func errNotFound(format string, args ...any) error {
	return scimerr.New(http.StatusNotFound, format, args...)
}

// readObject decodes a JSON object body, numbers kept exact; limit bounds it.
func readObject(w http.ResponseWriter, r *http.Request, limit int64) (map[string]any, error) {
	var m map[string]any
	if err := readJSON(w, r, limit, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, scimerr.BadRequest(scimerr.InvalidSyntax, "the body must be a JSON object")
	}
	return m, nil
}

func readJSON(w http.ResponseWriter, r *http.Request, limit int64, into any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return scimerr.New(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", limit)
		}
		return scimerr.BadRequest(scimerr.InvalidSyntax, "reading the body: %v", err)
	}
	return decodeJSON(body, into)
}

func decodeJSON(body []byte, into any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return scimerr.BadRequest(scimerr.InvalidSyntax, "the body is empty")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(into); err != nil {
		return scimerr.BadRequest(scimerr.InvalidSyntax, "the body is not valid JSON: %v", err)
	}
	if d.More() {
		return scimerr.BadRequest(scimerr.InvalidSyntax, "the body has data after the JSON value")
	}
	return nil
}
