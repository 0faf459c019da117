package scimserver_test

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/internal/testenv"
)

// postmanDeviations are assertions of Microsoft's Postman collection this server
// fails on purpose, keyed "request / assertion", each with the reason the README's
// compatibility table gives.
var postmanDeviations = map[string]string{}

// TestMicrosoftPostman runs Microsoft's "SCIM Tests" Postman collection
// (../shared/peers/microsoft-scimreferencecode) with newman, installed by `make
// newman` into bin/newman. Every assertion must pass but the documented deviations.
func TestMicrosoftPostman(t *testing.T) {
	collectionFile := shared(t, "peers/microsoft-scimreferencecode/PostmanCollection.json")
	newman := filepath.Join(testenv.RepoRoot(), "bin", "newman", "node_modules", ".bin", "newman")
	if _, err := os.Stat(newman); err != nil {
		if os.Getenv("SCIM_REQUIRE_PEERS") != "" {
			t.Fatal("newman is not installed: run make newman")
		}
		t.Skip("newman is not installed (make newman): Microsoft's Postman collection skipped")
	}
	// The collection's "Get Token" folder calls the reference server's token endpoint
	// and overwrites the bearer token with its (absent) answer: leave it out.
	raw, err := os.ReadFile(collectionFile)
	if err != nil {
		t.Fatal(err)
	}
	var collection map[string]any
	if err := json.Unmarshal(raw, &collection); err != nil {
		t.Fatal(err)
	}
	var items []any
	for _, it := range collection["item"].([]any) {
		if it.(map[string]any)["name"] != "Get Token" {
			items = append(items, it)
		}
	}
	collection["item"] = items
	dir := t.TempDir()
	trimmed := filepath.Join(dir, "collection.json")
	b, _ := json.Marshal(collection)
	if err := os.WriteFile(trimmed, b, 0o600); err != nil {
		t.Fatal(err)
	}

	f := newTenant(t) // the collection counts users: it needs an empty tenant
	u, _ := url.Parse(server.URL)
	report := filepath.Join(dir, "report.json")
	cmd := exec.Command(newman, "run", trimmed,
		"--env-var", "Protocol=http", "--env-var", "Server="+u.Hostname(), "--env-var", "Port=:"+u.Port(),
		"--env-var", "Api=scim/"+f.Namespace+"/"+f.Name+"/v2", "--env-var", "token="+f.Token,
		"--reporters", "json", "--reporter-json-export", report)
	out, err := cmd.CombinedOutput()
	if _, statErr := os.Stat(report); statErr != nil {
		t.Fatalf("newman did not run: %v\n%s", err, out)
	}
	var result struct {
		Run struct {
			Stats struct {
				Requests   struct{ Total int }         `json:"requests"`
				Assertions struct{ Total, Failed int } `json:"assertions"`
			} `json:"stats"`
			Failures []struct {
				Error struct {
					Test    string `json:"test"`
					Message string `json:"message"`
				} `json:"error"`
				Source struct {
					Name string `json:"name"`
				} `json:"source"`
			} `json:"failures"`
		} `json:"run"`
	}
	raw, _ = os.ReadFile(report)
	if err := json.Unmarshal(raw, &result); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, fl := range result.Run.Failures {
		key := fl.Source.Name + " / " + fl.Error.Test
		seen[key] = true
		if _, ok := postmanDeviations[key]; !ok {
			t.Errorf("%s: %s", key, fl.Error.Message)
		}
	}
	var stale []string
	for key := range postmanDeviations {
		if !seen[key] {
			stale = append(stale, key)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("documented deviations that now pass (update the list and the README): %s", strings.Join(stale, "; "))
	}
	t.Logf("newman: %d requests, %d assertions, %d failed (%d documented deviations)",
		result.Run.Stats.Requests.Total, result.Run.Stats.Assertions.Total, result.Run.Stats.Assertions.Failed, len(postmanDeviations))
}
