// Package index holds what the SCIM server and the controllers look identities up
// by, so that no request or reconcile lists a whole tenant: compact indexes beside
// the cache, for the keys every identity has (a cache field index costs hundreds of
// bytes per key).
package index

import "strings"

// TenantKey scopes value to a tenant, so that one index serves every tenant of a
// namespace without mixing them.
func TenantKey(tenant, value string) string { return tenant + "/" + value }

// UserNameKey is the index key of a userName: SCIM userNames are case-insensitive.
func UserNameKey(tenant, userName string) string {
	return TenantKey(tenant, strings.ToLower(userName))
}

// DisplayNameKey is the index key of a group displayName, unique case-insensitively.
func DisplayNameKey(tenant, displayName string) string {
	return TenantKey(tenant, strings.ToLower(displayName))
}

func nonEmpty(tenant, value string) []string {
	if value == "" {
		return nil
	}
	return []string{TenantKey(tenant, value)}
}
