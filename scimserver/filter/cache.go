package filter

import (
	"github.com/scim-operator/scim-operator/internal/memo"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// parseKey is what a parse depends on: the resource type and the text.
type parseKey struct {
	res  *schema.Resource
	text string
}

// parseCache keeps parse results, bounded so that hostile distinct filters or paths
// cannot grow it.
type parseCache[V any] = memo.Bounded[parseKey, V]
