package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// apiServer reads what the control plane's API server says of itself: the requests it
// served, which tell what a restart asked of it; the consistency checks of its watch
// cache it ran (Kubernetes 1.34 and later, every 5 to 7.5 minutes per resource), each of
// which lists and decodes every object of its resource from etcd: at 100,000 ScimUsers
// about 23 CPU-seconds, which on this machine's two cores competes with whatever is
// measured; and, when asked for, CPU profiles of it, which tell where its CPU went.
type apiServer struct {
	host string
	http *http.Client
	// profileDir, when set, receives a CPU profile of the API server over each restart.
	profileDir string
	profileFor time.Duration
	profiles   sync.WaitGroup
}

func newAPIServer(cfg *rest.Config, profileDir string, profileFor time.Duration) (*apiServer, error) {
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	return &apiServer{host: strings.TrimSuffix(cfg.Host, "/"), http: c, profileDir: profileDir, profileFor: profileFor}, nil
}

// apiServerCounts is what the API server counted: its requests by verb and resource
// ("LIST scimusers", "PUT scimusers/status"), whatever their code, and its watch
// cache's consistency checks by resource, whatever their outcome.
type apiServerCounts struct {
	Requests          tally `json:"requests,omitempty"`
	ConsistencyChecks tally `json:"consistencyChecks,omitempty"`
}

// tally counts by name: requests by verb and resource, checks by resource.
type tally map[string]float64

// counts reads the API server's counters.
func (a *apiServer) counts(ctx context.Context) (apiServerCounts, error) {
	body, err := a.get(ctx, "/metrics")
	if err != nil {
		return apiServerCounts{}, err
	}
	defer body.Close() //nolint:errcheck // read-only
	c := apiServerCounts{Requests: tally{}, ConsistencyChecks: tally{}}
	err = eachLine(body, func(line string) { c.add(line) })
	return c, err
}

func (c apiServerCounts) add(line string) {
	if v, ok := sampleOf(line, "apiserver_request_total"); ok {
		c.Requests[requestKey(line)] += v
	}
	if v, ok := sampleOf(line, "apiserver_storage_consistency_checks_total"); ok {
		c.ConsistencyChecks[label(line, "resource")] += v
	}
}

// since is what was counted between before and c.
func (c apiServerCounts) since(before apiServerCounts) apiServerCounts {
	return apiServerCounts{Requests: c.Requests.since(before.Requests), ConsistencyChecks: c.ConsistencyChecks.since(before.ConsistencyChecks)}
}

func (c apiServerCounts) String() string {
	s := "requests: " + c.Requests.String()
	if len(c.ConsistencyChecks) > 0 {
		s += "; consistency checks of its cache: " + c.ConsistencyChecks.String()
	}
	return s
}

// requestKey names an apiserver_request_total line by its verb and resource.
func requestKey(line string) string {
	key := label(line, "verb") + " " + label(line, "resource")
	if sub := label(line, "subresource"); sub != "" {
		key += "/" + sub
	}
	return key
}

// label is the value of a metrics line's label, empty when it has none. A label is
// found after the brace or a comma, so that "resource" is not found in "subresource".
func label(line, name string) string {
	labels, _, ok := strings.Cut(line, "} ")
	if !ok {
		return ""
	}
	for _, start := range []string{"{" + name + `="`, "," + name + `="`} {
		if _, rest, found := strings.Cut(labels, start); found {
			value, _, _ := strings.Cut(rest, `"`)
			return value
		}
	}
	return ""
}

// since is what was counted between before and c.
func (c tally) since(before tally) tally {
	d := tally{}
	for k, v := range c {
		if n := v - before[k]; n > 0 {
			d[k] = n
		}
	}
	return d
}

// String prints the most frequent first, up to eight.
func (c tally) String() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(c[b], c[a]), strings.Compare(a, b)) })
	var b strings.Builder
	for i, k := range keys {
		if i == 8 {
			fmt.Fprintf(&b, ", and %d more", len(keys)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.0f", k, c[k])
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// profile starts, when profiles were asked for, a CPU profile of the API server
// written as name in the profile directory; waitProfiles waits for it.
func (a *apiServer) profile(ctx context.Context, name string, out io.Writer) {
	if a.profileDir == "" {
		return
	}
	a.profiles.Add(1)
	go func() {
		defer a.profiles.Done()
		if err := a.saveProfile(ctx, filepath.Join(a.profileDir, name)); err != nil {
			fmt.Fprintf(out, "API server profile %s: %v\n", name, err)
		}
	}()
}

func (a *apiServer) waitProfiles() { a.profiles.Wait() }

func (a *apiServer) saveProfile(ctx context.Context, path string) error {
	body, err := a.get(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(a.profileFor.Seconds())))
	if err != nil {
		return err
	}
	defer body.Close() //nolint:errcheck // read-only
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func (a *apiServer) get(ctx context.Context, path string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.host+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the API server's %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("the API server's %s: %s", path, resp.Status)
	}
	return resp.Body, nil
}
