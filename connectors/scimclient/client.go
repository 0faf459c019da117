// Package scimclient provisions identities into an app's SCIM 2.0 endpoint: the
// operator as a SCIM client, as Entra ID is one towards the operator.
package scimclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/scim-operator/scim-operator/connectors"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// Client provisions into one app.
type Client struct {
	// BaseURL is the app's SCIM base, under which /Users and /Groups are.
	BaseURL string
	Token   string
	HTTP    *http.Client
	// RoleAttribute and QuotaAttribute name where the app wants the mapped role and
	// the quota in bytes: a core attribute ("title") or an extension attribute given
	// as its full path (urn:…:User:role). Empty: not sent.
	RoleAttribute, QuotaAttribute string
}

var _ connectors.Connector = (*Client)(nil)

// DeliverUser creates, replaces or deletes the user in the app. Before creating it looks
// the userName up, so that an operator that restarted between the app's create and its
// own status write adopts the user rather than creating it twice.
func (c *Client) DeliverUser(ctx context.Context, doc connectors.UserDocument, remoteID string) (string, error) {
	if doc.Event == connectors.EventDelete {
		return "", c.delete(ctx, "Users", "userName", doc.User.UserName, remoteID)
	}
	return c.upsert(ctx, "Users", "userName", doc.User.UserName, remoteID, c.renderUser(doc))
}

// DeliverGroup creates, replaces or deletes the group, with the app's ids of its members.
func (c *Client) DeliverGroup(ctx context.Context, doc connectors.GroupDocument, remoteID string) (string, error) {
	if doc.Event == connectors.EventDelete {
		return "", c.delete(ctx, "Groups", "displayName", doc.DisplayName, remoteID)
	}
	members := make([]map[string]string, 0, len(doc.Members))
	for _, m := range doc.Members {
		members = append(members, map[string]string{"value": m})
	}
	res := map[string]any{"schemas": []string{schema.GroupURN}, "displayName": doc.DisplayName, "members": members}
	if doc.ExternalID != "" {
		res["externalId"] = doc.ExternalID
	}
	return c.upsert(ctx, "Groups", "displayName", doc.DisplayName, remoteID, res)
}

func (c *Client) renderUser(doc connectors.UserDocument) map[string]any {
	u := doc.User
	res := map[string]any{"schemas": []string{schema.UserURN}, "userName": u.UserName,
		"active": u.Active && doc.Event == connectors.EventUpsert}
	if u.ExternalID != "" {
		res["externalId"] = u.ExternalID
	}
	if u.DisplayName != "" {
		res["displayName"] = u.DisplayName
	}
	if len(u.Emails) > 0 {
		res["emails"] = u.Emails
	}
	if e := doc.Entitlements; e != nil {
		setAttribute(res, c.RoleAttribute, e.Role)
		if e.StorageQuota != nil {
			setAttribute(res, c.QuotaAttribute, e.StorageQuota.Bytes)
		}
	}
	return res
}

// setAttribute puts value at a core attribute or at an extension attribute path
// (URN:attribute), declaring the extension in schemas.
func setAttribute(res map[string]any, path string, value any) {
	if path == "" {
		return
	}
	i := strings.LastIndex(path, ":")
	if !strings.HasPrefix(strings.ToLower(path), "urn:") || i < 0 {
		res[path] = value
		return
	}
	urn, attr := path[:i], path[i+1:]
	ext, _ := res[urn].(map[string]any)
	if ext == nil {
		ext = map[string]any{}
		res[urn] = ext
		res["schemas"] = append(res["schemas"].([]string), urn)
	}
	ext[attr] = value
}

func (c *Client) upsert(ctx context.Context, endpoint, uniqueAttr, unique, remoteID string, res map[string]any) (string, error) {
	if remoteID != "" {
		err := c.do(ctx, http.MethodPut, endpoint+"/"+url.PathEscape(remoteID), res, nil)
		if !isNotFound(err) {
			return remoteID, err
		}
		// Deleted in the app behind the operator's back: provision it again.
	}
	id, err := c.find(ctx, endpoint, uniqueAttr, unique)
	if err != nil {
		return "", err
	}
	if id != "" {
		return id, c.do(ctx, http.MethodPut, endpoint+"/"+url.PathEscape(id), res, nil)
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, endpoint, res, &created); err != nil {
		return "", err
	}
	if created.ID == "" {
		return "", &connectors.RefusedError{Status: http.StatusCreated, Message: "the created resource has no id"}
	}
	return created.ID, nil
}

func (c *Client) delete(ctx context.Context, endpoint, uniqueAttr, unique, remoteID string) error {
	if remoteID == "" {
		id, err := c.find(ctx, endpoint, uniqueAttr, unique)
		if err != nil || id == "" {
			return err
		}
		remoteID = id
	}
	if err := c.do(ctx, http.MethodDelete, endpoint+"/"+url.PathEscape(remoteID), nil, nil); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// find returns the app's id of the resource whose unique attribute equals value, or "".
func (c *Client) find(ctx context.Context, endpoint, attr, value string) (string, error) {
	filter := fmt.Sprintf(`%s eq "%s"`, attr, strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value))
	var list struct {
		Resources []struct {
			ID string `json:"id"`
		} `json:"Resources"`
	}
	if err := c.do(ctx, http.MethodGet, endpoint+"?filter="+url.QueryEscape(filter)+"&attributes=id", nil, &list); err != nil {
		return "", err
	}
	if len(list.Resources) == 0 {
		return "", nil
	}
	return list.Resources[0].ID, nil
}

func (c *Client) do(ctx context.Context, method, path string, body, into any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+"/"+path, r)
	if err != nil {
		return &connectors.RefusedError{Message: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	req.Header.Set("User-Agent", "scim-operator")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return connectors.Unreachable(err)
	}
	defer resp.Body.Close() //nolint:errcheck // read here or by CheckResponse
	if err := connectors.CheckResponse(resp); err != nil {
		return err
	}
	if into == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(into); err != nil {
		return &connectors.UnavailableError{Status: resp.StatusCode, Message: "unreadable answer: " + err.Error()}
	}
	return nil
}

func isNotFound(err error) bool {
	var r *connectors.RefusedError
	return errors.As(err, &r) && r.Status == http.StatusNotFound
}
