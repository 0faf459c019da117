package schema

// The attribute definitions follow RFC 7643 §4 and §8.7.1 (descriptions included:
// Microsoft's test collection looks for "User Account").

func str(name, desc string) *Attribute {
	return &Attribute{Name: name, Type: String, Description: desc, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none"}
}

func caseExact(a *Attribute) *Attribute { a.CaseExact = true; return a }

func withType(a *Attribute, t Type) *Attribute { a.Type = t; return a }

func readOnly(a *Attribute) *Attribute { a.Mutability = ReadOnly; return a }

func immutable(a *Attribute) *Attribute { a.Mutability = Immutable; return a }

func canonical(a *Attribute, values ...string) *Attribute { a.CanonicalValues = values; return a }

func refTo(a *Attribute, types ...string) *Attribute {
	a.Type = Reference
	a.CaseExact = true
	a.ReferenceTypes = types
	return a
}

func complexAttr(name, desc string, multi bool, subs ...*Attribute) *Attribute {
	return &Attribute{Name: name, Type: Complex, MultiValued: multi, Description: desc, Mutability: ReadWrite,
		Returned: ReturnedDefault, Uniqueness: "none", SubAttributes: subs}
}

// multiValued builds the value/display/type/primary shape RFC 7643 §2.4 uses for
// emails, phoneNumbers, ims, photos, entitlements, roles and x509Certificates.
func multiValued(name, desc string, value *Attribute, types ...string) *Attribute {
	return complexAttr(name, desc, true,
		value,
		str("display", "A human-readable name, primarily used for display purposes."),
		canonical(str("type", "A label indicating the attribute's function."), types...),
		withType(str("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute."), Boolean),
	)
}

// User is the User resource type with the enterprise extension.
var User = &Resource{
	Name:        "User",
	Endpoint:    "/Users",
	Description: "User Account",
	Core:        userSchema,
	Extensions:  []*Schema{enterpriseUserSchema},
}

// Group is the Group resource type.
var Group = &Resource{
	Name:        "Group",
	Endpoint:    "/Groups",
	Description: "Group",
	Core:        groupSchema,
}

// Resources lists the resource types, Users first (Microsoft's tests expect that order).
var Resources = []*Resource{User, Group}

var userSchema = &Schema{
	ID:          UserURN,
	Name:        "User",
	Description: "User Account",
	Attributes: []*Attribute{
		func() *Attribute {
			a := str("userName", "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the service provider's entire set of Users. REQUIRED.")
			a.Required = true
			a.Uniqueness = "server"
			return a
		}(),
		complexAttr("name", "The components of the user's real name.", false,
			str("formatted", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
			str("familyName", "The family name of the User, or last name in most Western languages."),
			str("givenName", "The given name of the User, or first name in most Western languages."),
			str("middleName", "The middle name(s) of the User."),
			str("honorificPrefix", "The honorific prefix(es) of the User, or title in most Western languages."),
			str("honorificSuffix", "The honorific suffix(es) of the User, or suffix in most Western languages."),
		),
		str("displayName", "The name of the User, suitable for display to end-users."),
		str("nickName", "The casual way to address the user in real life."),
		refTo(str("profileUrl", "A fully qualified URL pointing to a page representing the User's online profile."), "external"),
		str("title", "The user's title, such as \"Vice President.\""),
		str("userType", "Used to identify the relationship between the organization and the user."),
		str("preferredLanguage", "Indicates the User's preferred written or spoken language."),
		str("locale", "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
		str("timezone", "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
		withType(str("active", "A Boolean value indicating the User's administrative status."), Boolean),
		func() *Attribute {
			a := caseExact(str("password", "The User's cleartext password. Accepted and never stored or returned."))
			a.Mutability = WriteOnly
			a.Returned = ReturnedNever
			return a
		}(),
		multiValued("emails", "Email addresses for the user.",
			str("value", "Email addresses for the user."), "work", "home", "other"),
		multiValued("phoneNumbers", "Phone numbers for the User.",
			str("value", "Phone number of the User."), "work", "home", "mobile", "fax", "pager", "other"),
		multiValued("ims", "Instant messaging addresses for the User.",
			str("value", "Instant messaging address for the User."), "aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
		multiValued("photos", "URLs of photos of the User.",
			refTo(str("value", "URL of a photo of the User."), "external"), "photo", "thumbnail"),
		complexAttr("addresses", "A physical mailing address for this User.", true,
			str("formatted", "The full mailing address, formatted for display or use with a mailing label."),
			str("streetAddress", "The full street address component."),
			str("locality", "The city or locality component."),
			str("region", "The state or region component."),
			str("postalCode", "The zip code or postal code component."),
			str("country", "The country name component."),
			canonical(str("type", "A label indicating the attribute's function."), "work", "home", "other"),
			withType(str("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute."), Boolean),
		),
		func() *Attribute {
			a := complexAttr("groups", "A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.", true,
				readOnly(str("value", "The identifier of the User's group.")),
				readOnly(refTo(str("$ref", "The URI of the corresponding 'Group' resource to which the user belongs."), "User", "Group")),
				readOnly(str("display", "A human-readable name, primarily used for display purposes.")),
				readOnly(canonical(str("type", "A label indicating the attribute's function."), "direct", "indirect")),
			)
			a.Mutability = ReadOnly
			return a
		}(),
		multiValued("entitlements", "A list of entitlements for the User that represent a thing the User has.",
			str("value", "The value of an entitlement.")),
		multiValued("roles", "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
			str("value", "The value of a role.")),
		multiValued("x509Certificates", "A list of certificates issued to the User.",
			withType(str("value", "The value of an X.509 certificate."), Binary)),
	},
}

var enterpriseUserSchema = &Schema{
	ID:          EnterpriseUserURN,
	Name:        "EnterpriseUser",
	Description: "Enterprise User",
	Attributes: []*Attribute{
		str("employeeNumber", "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."),
		str("costCenter", "Identifies the name of a cost center."),
		str("organization", "Identifies the name of an organization."),
		str("division", "Identifies the name of a division."),
		str("department", "Identifies the name of a department."),
		complexAttr("manager", "The User's manager.", false,
			str("value", "The id of the SCIM resource representing the User's manager."),
			refTo(str("$ref", "The URI of the SCIM resource representing the User's manager."), "User"),
			readOnly(str("displayName", "The displayName of the User's manager.")),
		),
	},
}

var groupSchema = &Schema{
	ID:          GroupURN,
	Name:        "Group",
	Description: "Group",
	Attributes: []*Attribute{
		func() *Attribute {
			a := str("displayName", "A human-readable name for the Group. REQUIRED. Unique per tenant.")
			a.Required = true
			a.Uniqueness = "server"
			return a
		}(),
		complexAttr("members", "A list of members of the Group.", true,
			immutable(caseExact(str("value", "Identifier of the member of this Group."))),
			immutable(refTo(str("$ref", "The URI corresponding to a SCIM resource that is a member of this Group."), "User", "Group")),
			str("display", "A human-readable name, primarily used for display purposes."),
			immutable(canonical(str("type", "A label indicating the type of resource, e.g., 'User' or 'Group'."), "User", "Group")),
		),
	},
}
