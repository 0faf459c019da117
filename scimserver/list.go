package scimserver

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/queryparam"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
	"github.com/scim-operator/scim-operator/scimserver/store"
)

// query is a list request, from URL parameters or a SearchRequest body.
type query struct {
	Filter             string   `json:"filter"`
	SortBy             string   `json:"sortBy"`
	SortOrder          string   `json:"sortOrder"`
	StartIndex         *int     `json:"startIndex"`
	Count              *int     `json:"count"`
	Attributes         []string `json:"attributes"`
	ExcludedAttributes []string `json:"excludedAttributes"`
}

func queryFromURL(rawQuery string) (query, error) {
	q := query{
		Filter:    queryparam.Get(rawQuery, "filter"),
		SortBy:    queryparam.Get(rawQuery, "sortBy"),
		SortOrder: queryparam.Get(rawQuery, "sortOrder"),
	}
	q.Attributes, q.ExcludedAttributes = attributeParams(rawQuery)
	for _, p := range [...]struct {
		name string
		dst  **int
	}{{"startIndex", &q.StartIndex}, {"count", &q.Count}} {
		s := queryparam.Get(rawQuery, p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return q, scimerr.BadRequest(scimerr.InvalidValue, "%s must be an integer, got %q", p.name, s)
		}
		*p.dst = &n
	}
	return q, nil
}

// attributeParams are a request's attributes and excludedAttributes parameters
// (RFC 7644 §3.9), which every answer with resources in it is projected by.
func attributeParams(rawQuery string) (attributes, excluded []string) {
	return schema.ParseAttributeList(queryparam.Get(rawQuery, "attributes")),
		schema.ParseAttributeList(queryparam.Get(rawQuery, "excludedAttributes"))
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, req *request, coll store.Collection) {
	q, err := queryFromURL(r.URL.RawQuery)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.answerQuery(w, r, req, []store.Collection{coll}, q)
}

// search is POST /Users/.search (RFC 7644 §3.4.3).
func (s *Server) search(w http.ResponseWriter, r *http.Request, req *request, coll store.Collection) {
	var q query
	if err := readJSON(w, r, s.opts.MaxBodyBytes, &q); err != nil {
		writeError(w, r, err)
		return
	}
	s.answerQuery(w, r, req, []store.Collection{coll}, q)
}

// searchAll is POST /.search at the root: every resource type.
func (s *Server) searchAll(w http.ResponseWriter, r *http.Request, req *request) {
	var q query
	if err := readJSON(w, r, s.opts.MaxBodyBytes, &q); err != nil {
		writeError(w, r, err)
		return
	}
	s.answerQuery(w, r, req, []store.Collection{s.users, s.groups}, q)
}

type hit struct {
	item *store.Item
	res  *schema.Resource
	key  any // sort key
}

func (s *Server) answerQuery(w http.ResponseWriter, r *http.Request, req *request, colls []store.Collection, q query) {
	hits, err := s.find(r, req, colls, q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	start := 1
	if q.StartIndex != nil && *q.StartIndex > 1 {
		start = *q.StartIndex
	}
	count := s.opts.MaxResults
	if q.Count != nil {
		count = min(max(*q.Count, 0), s.opts.MaxResults)
	}
	page := hits[min(start-1, len(hits)):]
	page = page[:min(count, len(page))]
	buf := responseBuffers.Get().(*[]byte)
	defer putResponseBuffer(buf)
	body := append(*buf, listResponseHead...)
	var proj projection
	for i, h := range page {
		if proj.res != h.res {
			proj = newProjection(h.res, q.Attributes, q.ExcludedAttributes)
		}
		if i > 0 {
			body = append(body, ',')
		}
		var err error
		if body, err = proj.appendItem(body, h.item); err != nil {
			writeError(w, r, err)
			return
		}
	}
	*buf = appendListResponseTail(body, len(page), start, len(hits))
	writeBody(w, http.StatusOK, *buf)
}

// A ListResponse is written around its resources as they are appended, its members
// in the order docjson writes a map's: "Resources" first, its other members after.
const listResponseHead = `{"Resources":[`

func appendListResponseTail(dst []byte, itemsPerPage, startIndex, totalResults int) []byte {
	dst = append(dst, `],"itemsPerPage":`...)
	dst = strconv.AppendInt(dst, int64(itemsPerPage), 10)
	dst = append(dst, `,"schemas":["`+schema.ListResponseURN+`"],"startIndex":`...)
	dst = strconv.AppendInt(dst, int64(startIndex), 10)
	dst = append(dst, `,"totalResults":`...)
	dst = strconv.AppendInt(dst, int64(totalResults), 10)
	return append(dst, '}')
}

// find returns the matching resources in a stable order: sortBy when given, else
// creation time then id, so that paging through a tenant sees every resource once.
func (s *Server) find(r *http.Request, req *request, colls []store.Collection, q query) ([]hit, error) {
	var hits []hit
	parsed := 0
	var firstErr error
	for _, coll := range colls {
		res := coll.Resource()
		var f *filter.Filter
		var eqs []filter.Equality
		if strings.TrimSpace(q.Filter) != "" {
			var err error
			if f, err = filter.Parse(res, q.Filter); err != nil {
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			eqs = f.Equalities()
		}
		parsed++
		var sortPath *schema.Path
		if q.SortBy != "" {
			p, err := res.ResolveString(q.SortBy)
			if err != nil || p.Attr == nil {
				return nil, scimerr.BadRequest(scimerr.InvalidValue, "cannot sort by %q", q.SortBy)
			}
			sortPath = &p
		}
		items, err := coll.List(r.Context(), req.tenant, eqs)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			h := hit{item: it, res: res}
			if f != nil {
				ok, err := it.Match(f)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			if sortPath != nil {
				found, err := it.Resource()
				if err != nil {
					return nil, err
				}
				h.key = sortKey(found.Doc, *sortPath)
			}
			hits = append(hits, h)
		}
	}
	if parsed == 0 && firstErr != nil {
		return nil, firstErr
	}
	descending := strings.EqualFold(q.SortOrder, "descending")
	slices.SortStableFunc(hits, func(a, b hit) int {
		if q.SortBy != "" {
			if c := compareKeys(a.key, b.key); c != 0 {
				if descending {
					return -c
				}
				return c
			}
		}
		if c := a.item.Created.Compare(b.item.Created); c != 0 {
			return c
		}
		return strings.Compare(a.item.ID, b.item.ID)
	})
	return hits, nil
}

// sortKey is the value a resource sorts by: for a multi-valued attribute its primary
// (or first) value (RFC 7644 §3.4.2.3); strings of caseExact=false attributes
// lower-cased.
func sortKey(doc map[string]any, p schema.Path) any {
	v := schema.Get(doc, p)
	if arr, ok := v.([]any); ok {
		v = nil
		for i, el := range arr {
			if m, ok := el.(map[string]any); ok && (i == 0 || m["primary"] == true) {
				v = m
			}
		}
	}
	if m, ok := v.(map[string]any); ok {
		sub := "value"
		if p.Sub != nil {
			sub = p.Sub.Name
		}
		v = m[sub]
	}
	leaf := p.Attr
	if p.Sub != nil {
		leaf = p.Sub
	}
	if s, ok := v.(string); ok && !leaf.CaseExact {
		return strings.ToLower(s)
	}
	return v
}

// compareKeys orders values of one attribute; absent values sort last.
func compareKeys(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok && x != y {
			if !x {
				return -1
			}
			return 1
		}
		return 0
	}
	return strings.Compare(toString(a), toString(b))
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if n, ok := v.(interface{ String() string }); ok {
		return n.String()
	}
	return ""
}
