package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// scimClient is an identity provider's HTTP client: keep-alive connections, one per
// concurrent request.
type scimClient struct {
	base, token string
	http        *http.Client
}

func newSCIMClient(cfg config) *scimClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = cfg.concurrency
	return &scimClient{base: strings.TrimSuffix(cfg.url, "/"), token: cfg.token, http: &http.Client{Transport: t, Timeout: cfg.requestTimeout}}
}

// do sends a request and decodes a JSON answer into into (if not nil); any status
// other than want is an error.
func (c *scimClient) do(ctx context.Context, method, path string, body any, want int, into any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // drained below
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if raw, ok := into.(*[]byte); ok {
		*raw, err = io.ReadAll(resp.Body)
		return err
	}
	if into != nil {
		return json.NewDecoder(resp.Body).Decode(into)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func userName(i int) string { return fmt.Sprintf("loadtest-%07d@example.com", i) }

func lookupPath(name string) string {
	return "/Users?filter=" + url.QueryEscape(fmt.Sprintf(`userName eq "%s"`, name))
}

func groupName(i int) string { return fmt.Sprintf("loadtest-group-%05d", i) }

// groupLookupPath is Entra ID's lookup of a group, which asks for it without its
// members.
func groupLookupPath(name string) string {
	return "/Groups?excludedAttributes=members&filter=" + url.QueryEscape(fmt.Sprintf(`displayName eq "%s"`, name))
}

type listResponse struct {
	TotalResults int `json:"totalResults"`
	Resources    []struct {
		ID string `json:"id"`
	} `json:"Resources"`
}

// initialCycle is Entra ID's first cycle: each user looked up, then created; groups
// created, then filled by PATCHes of batch members. It returns the users' SCIM ids.
func initialCycle(ctx context.Context, cfg config, sc *scimClient, res *results, out io.Writer) []string {
	lookup, create := res.add(&op{Name: "user lookup (absent)"}), res.add(&op{Name: "user create"})
	ids, wall := createUsers(ctx, cfg, sc, lookup, create, 0, cfg.users, "users looked up and created", out)
	fmt.Fprintf(out, "initial cycle: %d users in %s\n", cfg.users, wall.Round(time.Millisecond))

	groupLookup, groupCreate := res.add(&op{Name: "group lookup (absent)"}), res.add(&op{Name: "group create"})
	groupFill := res.add(&op{Name: "group member PATCH"})
	gids := make([]string, cfg.groups)
	wall = parallel(cfg.groups, cfg.concurrency, func(i int) {
		var list listResponse
		timed(groupLookup, func() error {
			return sc.do(ctx, http.MethodGet, groupLookupPath(groupName(i)), nil, http.StatusOK, &list)
		})
		var created struct {
			ID string `json:"id"`
		}
		timed(groupCreate, func() error {
			return sc.do(ctx, http.MethodPost, "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
				"displayName": groupName(i), "externalId": fmt.Sprintf("gext-%05d", i)}, http.StatusCreated, &created)
		})
		gids[i] = created.ID
	})
	groupLookup.finish(wall)
	groupCreate.finish(wall)
	// Members of group g: users g, g+groups, g+2·groups, … so that memberships spread.
	type patch struct{ group, from int }
	var patches []patch
	for g := range cfg.groups {
		for from := 0; from < cfg.members; from += cfg.batch {
			patches = append(patches, patch{g, from})
		}
	}
	wall = parallelReporting(out, "member PATCHes", len(patches), cfg.concurrency, func(k int) {
		p := patches[k]
		var members []map[string]string
		for m := p.from; m < min(p.from+cfg.batch, cfg.members); m++ {
			if u := (p.group + m*cfg.groups) % cfg.users; ids[u] != "" {
				members = append(members, map[string]string{"value": ids[u]})
			}
		}
		timed(groupFill, func() error {
			if gids[p.group] == "" {
				return fmt.Errorf("group %d was not created", p.group)
			}
			return sc.do(ctx, http.MethodPatch, "/Groups/"+gids[p.group], map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []map[string]any{{"op": "Add", "path": "members", "value": members}},
			}, http.StatusNoContent, nil)
		})
	})
	groupFill.finish(wall)
	fmt.Fprintf(out, "groups: %d created and filled with %d members in %s\n", cfg.groups, cfg.members, wall.Round(time.Millisecond))
	return ids
}

// incrementalCycle is a later cycle over the users the initial one created: attribute
// updates, then deactivations.
func incrementalCycle(ctx context.Context, cfg config, sc *scimClient, userIDs []string, res *results, out io.Writer) {
	update := res.add(&op{Name: "user PATCH (update)"})
	wall := parallelReporting(out, "users updated", cfg.users, cfg.concurrency, func(i int) {
		timed(update, func() error {
			return sc.do(ctx, http.MethodPatch, "/Users/"+userIDs[i], map[string]any{
				"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []map[string]any{
					{"op": "Replace", "path": "displayName", "value": fmt.Sprintf("Load Test %d (renamed)", i)},
					{"op": "Replace", "path": `emails[type eq "work"].value`, "value": fmt.Sprintf("renamed-%07d@example.com", i)},
				},
			}, http.StatusNoContent, nil)
		})
	})
	update.finish(wall)
	deactivate := res.add(&op{Name: "user PATCH (deactivate)"})
	n := cfg.users / max(1, cfg.deactivateEveryNth)
	wall = parallel(n, cfg.concurrency, func(k int) {
		i := k * cfg.deactivateEveryNth
		timed(deactivate, func() error {
			return sc.do(ctx, http.MethodPatch, "/Users/"+userIDs[i], map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []map[string]any{{"op": "Replace", "path": "active", "value": false}},
			}, http.StatusNoContent, nil)
		})
	})
	deactivate.finish(wall)
	fmt.Fprintf(out, "incremental cycle: %d updates, %d deactivations\n", cfg.users, n)
}

// createUsers looks up, then creates, the users numbered from to from+n-1, as Entra ID
// provisions each user it has not matched, and returns their SCIM ids.
func createUsers(ctx context.Context, cfg config, sc *scimClient, lookup, create *op, from, n int, label string, out io.Writer) ([]string, time.Duration) {
	ids := make([]string, n)
	wall := parallelReporting(out, label, n, cfg.concurrency, func(k int) {
		i := from + k
		var list listResponse
		timed(lookup, func() error { return sc.do(ctx, http.MethodGet, lookupPath(userName(i)), nil, http.StatusOK, &list) })
		var created struct {
			ID string `json:"id"`
		}
		timed(create, func() error {
			return sc.do(ctx, http.MethodPost, "/Users", map[string]any{
				"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
				"userName": userName(i), "externalId": fmt.Sprintf("ext-%07d", i), "active": true,
				"displayName": fmt.Sprintf("Load Test %d", i),
				"name":        map[string]string{"givenName": "Load", "familyName": fmt.Sprintf("Test %d", i)},
				"emails":      []map[string]any{{"value": userName(i), "type": "work", "primary": true}},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]string{"department": "Load"},
			}, http.StatusCreated, &created)
		})
		ids[k] = created.ID
	})
	lookup.finish(wall)
	create.finish(wall)
	return ids, wall
}
