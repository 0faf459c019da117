package scimserver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runscopeTest is the part of a Runscope (BlazeMeter API monitoring) export that
// Okta's SCIM 2.0 SPEC test uses.
type runscopeTest struct {
	Steps []struct {
		StepType   string              `json:"step_type"`
		Note       string              `json:"note"`
		Method     string              `json:"method"`
		URL        string              `json:"url"`
		Headers    map[string][]string `json:"headers"`
		Body       string              `json:"body"`
		Assertions []struct {
			Source     string `json:"source"`
			Comparison string `json:"comparison"`
			Property   string `json:"property"`
			Value      any    `json:"value"`
		} `json:"assertions"`
		Variables []struct {
			Name     string `json:"name"`
			Source   string `json:"source"`
			Property string `json:"property"`
		} `json:"variables"`
		Scripts []string `json:"scripts"`
	} `json:"steps"`
}

var runscopeVar = regexp.MustCompile(`\{\{(\w+)\}\}`)

// TestOktaSpec runs Okta's "SCIM 2.0 SPEC Test" (../shared/peers/okta-runscope) with
// a runner of our own: its requests in order, variables as its initial script sets
// them, every assertion evaluated. Pauses are not waited out (reads see writes at
// once), response_time limits are reported rather than enforced (timing is for
// benchmarks), and its one script (Groups: Resources is an array) is checked here.
func TestOktaSpec(t *testing.T) {
	raw, err := os.ReadFile(shared(t, "peers/okta-runscope/Okta-SCIM-20-SPEC-Test.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec runscopeTest
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	f := newTenant(t)
	// The suite reads Resources[0] of the first page: Okta says to seed a user.
	f.client(t).must(201, "POST", "/Users", map[string]any{"userName": "seed@atko.com", "active": true,
		"name": map[string]any{"givenName": "Seed", "familyName": "User"}, "emails": []any{map[string]any{"value": "seed@atko.com", "type": "work", "primary": true}}})
	email := fmt.Sprintf("Runscope%03d%s@atko.com", time.Now().Nanosecond()%1000, "Abcdefgh123")
	vars := map[string]string{
		"SCIMBaseURL":            f.URL(),
		"auth":                   "Bearer " + f.Token,
		"randomGivenName":        "Runscope123",
		"randomFamilyName":       "Abcdefgh123",
		"randomEmail":            email,
		"randomUsername":         email,
		"randomUsernameCaps":     strings.ToUpper(email),
		"InvalidUserEmail":       "abcdefgh@atko.com",
		"UserIdThatDoesNotExist": "010101001010101011001010101011",
	}
	sub := func(s string) string {
		return runscopeVar.ReplaceAllStringFunc(s, func(m string) string { return vars[m[2:len(m)-2]] })
	}
	requests := 0
	for _, step := range spec.Steps {
		if step.StepType != "request" {
			continue
		}
		requests++
		t.Run(step.Note, func(t *testing.T) {
			target := sub(step.URL)
			if base, query, ok := strings.Cut(target, "?"); ok {
				target = base + "?" + encodeQuery(query)
			}
			var body io.Reader
			if step.Body != "" {
				body = strings.NewReader(sub(step.Body))
			}
			req, err := http.NewRequest(step.Method, target, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range step.Headers {
				for _, v := range vs {
					req.Header.Add(k, sub(v))
				}
			}
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			respBody, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			var doc any
			_ = json.Unmarshal(respBody, &doc)
			for _, a := range step.Assertions {
				var actual any
				switch a.Source {
				case "response_status":
					actual = float64(resp.StatusCode)
				case "response_time":
					actual = float64(elapsed.Milliseconds())
				case "response_json":
					actual = runscopeProperty(doc, a.Property)
				}
				want := sub(fmt.Sprint(a.Value))
				if a.Source == "response_time" {
					t.Logf("response time %v (the suite asks %s %s ms)", elapsed, a.Comparison, want)
					continue
				}
				if err := runscopeAssert(a.Comparison, actual, want); err != nil {
					t.Errorf("%s %s: %v (body %s)", a.Source, a.Property, err, respBody)
				}
			}
			for _, v := range step.Variables {
				vars[v.Name] = fmt.Sprint(runscopeProperty(doc, v.Property))
			}
			if len(step.Scripts) > 0 && strings.Contains(step.Scripts[0], "Array.isArray(res)") {
				m, _ := doc.(map[string]any)
				if n, _ := m["totalResults"].(float64); n >= 1 {
					if _, ok := m["Resources"].([]any); !ok {
						t.Errorf("Resources is not an array: %s", respBody)
					}
				}
			}
		})
	}
	if requests != 12 {
		t.Errorf("ran %d requests, the suite has 12", requests)
	}
}

// runscopeProperty follows a property such as "Resources[0].name.familyName".
func runscopeProperty(doc any, property string) any {
	path := strings.NewReplacer("[", ".", "]", "").Replace(property)
	return lookup(doc, path)
}

func runscopeAssert(comparison string, actual any, want string) error {
	switch comparison {
	case "equal":
		if s := jsonText(actual); s != want {
			return fmt.Errorf("%s, want %s", s, want)
		}
	case "equal_number":
		w, _ := strconv.ParseFloat(want, 64)
		if n, ok := actual.(float64); !ok || n != w {
			return fmt.Errorf("%v, want the number %s", actual, want)
		}
	case "not_empty":
		if actual == nil || actual == "" || fmt.Sprint(actual) == "[]" || fmt.Sprint(actual) == "map[]" {
			return fmt.Errorf("empty")
		}
	case "is_a_number":
		if _, ok := actual.(float64); !ok {
			return fmt.Errorf("%v is not a number", actual)
		}
	case "has_value", "contains":
		if list, ok := actual.([]any); ok {
			for _, el := range list {
				if jsonText(el) == want {
					return nil
				}
			}
			return fmt.Errorf("%v has no %s", actual, want)
		}
		if !strings.Contains(jsonText(actual), want) {
			return fmt.Errorf("%v does not contain %s", actual, want)
		}
	default:
		return fmt.Errorf("unknown comparison %q", comparison)
	}
	return nil
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
