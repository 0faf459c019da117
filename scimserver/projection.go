package scimserver

import (
	"github.com/scim-operator/scim-operator/scimserver/docjson"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/store"
)

// projection is what a request's attributes and excludedAttributes ask of one
// resource type's documents.
type projection struct {
	res                  *schema.Resource
	attributes, excluded []string
	// exclude are the top-level keys a written document leaves out; writable is false
	// when the projection needs the rendered document.
	exclude  []string
	writable bool
}

func newProjection(res *schema.Resource, attributes, excluded []string) projection {
	exclude, ok := res.ExcludedKeys(excluded)
	return projection{res: res, attributes: attributes, excluded: excluded, exclude: exclude,
		writable: ok && len(attributes) == 0}
}

// appendItem appends the item's document as projected: written from its object when
// at most top-level attributes are left out, else rendered and projected.
func (p projection) appendItem(dst []byte, item *store.Item) ([]byte, error) {
	if p.writable {
		return item.AppendJSON(dst, p.exclude)
	}
	found, err := item.Resource()
	if err != nil {
		return dst, err
	}
	return docjson.Append(dst, p.res.Project(found.Doc, p.attributes, p.excluded))
}
