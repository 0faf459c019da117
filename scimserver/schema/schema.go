// Package schema holds the one definition of the SCIM resources scim-operator serves
// (RFC 7643 core User and Group, the enterprise User extension). The discovery
// endpoints render it and request validation, filters, PATCH and projection read it,
// so what the server advertises and what it does cannot disagree.
package schema

import "strings"

// Type is an attribute's data type (RFC 7643 §2.3).
type Type string

const (
	String    Type = "string"
	Boolean   Type = "boolean"
	Decimal   Type = "decimal"
	Integer   Type = "integer"
	DateTime  Type = "dateTime"
	Binary    Type = "binary"
	Reference Type = "reference"
	Complex   Type = "complex"
)

// Mutability (RFC 7643 §7).
const (
	ReadOnly  = "readOnly"
	ReadWrite = "readWrite"
	Immutable = "immutable"
	WriteOnly = "writeOnly"
)

// Returned (RFC 7643 §7).
const (
	ReturnedAlways  = "always"
	ReturnedNever   = "never"
	ReturnedDefault = "default"
	ReturnedRequest = "request"
)

// URNs of the schemas and messages.
const (
	UserURN           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	ListResponseURN   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	ErrorURN          = "urn:ietf:params:scim:api:messages:2.0:Error"
	PatchOpURN        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SearchRequestURN  = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	BulkRequestURN    = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	BulkResponseURN   = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	SchemaURN         = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	ResourceTypeURN   = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SPConfigURN       = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
)

// Attribute describes one attribute or sub-attribute (RFC 7643 §7).
type Attribute struct {
	Name            string
	Type            Type
	MultiValued     bool
	Description     string
	Required        bool
	CaseExact       bool
	Mutability      string
	Returned        string
	Uniqueness      string
	CanonicalValues []string
	ReferenceTypes  []string
	SubAttributes   []*Attribute
}

// Sub returns the sub-attribute with the given name, matched case-insensitively.
func (a *Attribute) Sub(name string) *Attribute {
	return find(a.SubAttributes, name)
}

// Schema is one schema URN and its attributes.
type Schema struct {
	ID          string
	Name        string
	Description string
	Attributes  []*Attribute
}

// Attr returns the attribute with the given name, matched case-insensitively.
func (s *Schema) Attr(name string) *Attribute {
	return find(s.Attributes, name)
}

func find(attrs []*Attribute, name string) *Attribute {
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// Resource is a resource type: its endpoint, core schema and extensions.
type Resource struct {
	Name        string
	Endpoint    string
	Description string
	Core        *Schema
	Extensions  []*Schema
}

// Extension returns the known extension schema with the given URN (case-insensitive).
func (r *Resource) Extension(urn string) *Schema {
	for _, s := range r.Extensions {
		if strings.EqualFold(s.ID, urn) {
			return s
		}
	}
	return nil
}

// Schemas lists the core schema and its extensions.
func (r *Resource) Schemas() []*Schema {
	return append([]*Schema{r.Core}, r.Extensions...)
}

// Common attributes every resource carries (RFC 7643 §3.1); they are part of no
// schema's attribute list in /Schemas but filters, sorting and projection know them.
var (
	IDAttr = &Attribute{Name: "id", Type: String, CaseExact: true, Mutability: ReadOnly,
		Returned: ReturnedAlways, Uniqueness: "server", Description: "A unique identifier for a SCIM resource as defined by the service provider."}
	ExternalIDAttr = &Attribute{Name: "externalId", Type: String, CaseExact: true, Mutability: ReadWrite,
		Returned: ReturnedDefault, Uniqueness: "none", Description: "A String that is an identifier for the resource as defined by the provisioning client."}
	MetaAttr = &Attribute{Name: "meta", Type: Complex, Mutability: ReadOnly, Returned: ReturnedDefault,
		Description: "A complex attribute containing resource metadata.",
		SubAttributes: []*Attribute{
			{Name: "resourceType", Type: String, CaseExact: true, Mutability: ReadOnly, Returned: ReturnedDefault},
			{Name: "created", Type: DateTime, Mutability: ReadOnly, Returned: ReturnedDefault},
			{Name: "lastModified", Type: DateTime, Mutability: ReadOnly, Returned: ReturnedDefault},
			{Name: "location", Type: Reference, CaseExact: true, Mutability: ReadOnly, Returned: ReturnedDefault, ReferenceTypes: []string{"uri"}},
			{Name: "version", Type: String, CaseExact: true, Mutability: ReadOnly, Returned: ReturnedDefault},
		}}
	commonAttrs = []*Attribute{IDAttr, ExternalIDAttr, MetaAttr}
)

// CommonAttr returns id, externalId or meta by name (case-insensitive).
func CommonAttr(name string) *Attribute { return find(commonAttrs, name) }
