package main

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scim-operator/scim-operator/internal/testenv"
)

// managerWatch reads, around a measurement of the manager, what its metrics say of
// it: the collections it ran meanwhile, which tell a latency tail that is the
// collector's, and how long its handlers took over the requests (their histogram),
// which tells a tail that lies outside them: a request waiting for a core, for its
// connection's goroutine to be scheduled, or the load tool itself; and what the
// manager allocated, which brings its collections nearer. Beside them it reads the
// API server's CPU and cache checks, which on this machine take the cores the
// measurement shares. Its zero value reads nothing (no manager of the tool's own).
type managerWatch struct {
	read func() (managerSnapshot, error)
	// nice gives the manager's threads a nice value; nil when the manager is not the
	// tool's to set.
	nice func(n int) error
}

// managerSnapshot is the manager's counters, and the API server's, at one moment.
type managerSnapshot struct {
	gcs float64
	// allocated is the bytes the manager's heap has allocated since it started.
	allocated float64
	// apiServerCPU and apiServerChecks are the API server's CPU and the consistency
	// checks of its watch cache so far, which tell whether the control plane took its
	// share of the cores during a measurement of the manager alone.
	apiServerCPU, apiServerChecks float64
	// handled counts, per SCIM resource, its GET requests by the upper bound (seconds)
	// of their duration's bucket, cumulative as Prometheus keeps them.
	handled map[string]map[float64]float64
}

// watchManager reads the manager's own metrics (Go's collections and allocations, the
// SCIM server's request durations) and the API server's CPU and cache checks.
func (e *environment) watchManager(ctx context.Context) managerWatch {
	return managerWatch{
		read: func() (managerSnapshot, error) { return e.snapshot(ctx) },
		nice: func(n int) error { return testenv.SetNice(e.mgr.Cmd.Process.Pid, n) },
	}
}

// yielding runs measure with the manager's threads at nice value n, below the load
// tool's and the control plane's, and puts them back to 0 after.
func (w managerWatch) yielding(n int, measure func() time.Duration) (time.Duration, error) {
	if err := w.nice(n); err != nil {
		return 0, err
	}
	wall := measure()
	return wall, w.nice(0)
}

// during runs measure, of GET requests of resource, and adds to o the manager's
// collections and allocations meanwhile and its handlers' histogram over them
// (op.finish bounds their p99 and divides the allocations among them).
func (w managerWatch) during(o *op, resource string, measure func() time.Duration) time.Duration {
	if w.read == nil {
		return measure()
	}
	before, errBefore := w.read()
	wall := measure()
	after, err := w.read()
	if err != nil || errBefore != nil {
		return wall
	}
	o.ManagerGCs += after.gcs - before.gcs
	o.allocated += after.allocated - before.allocated
	o.APIServerCPUSeconds += after.apiServerCPU - before.apiServerCPU
	o.APIServerConsistencyChecks += after.apiServerChecks - before.apiServerChecks
	if o.handled == nil {
		o.handled = map[float64]float64{}
	}
	for le, count := range after.handled[resource] {
		o.handled[le] += count - before.handled[resource][le]
	}
	return wall
}

// p99Bound is the least bucket bound (seconds) that at least 99% of the requests a
// cumulative histogram counts fell within; 0 without requests, +Inf beyond the last
// finite bound.
func p99Bound(handled map[float64]float64) float64 {
	total := handled[math.Inf(1)]
	if total <= 0 {
		return 0
	}
	bounds := make([]float64, 0, len(handled))
	for le := range handled {
		bounds = append(bounds, le)
	}
	slices.Sort(bounds)
	for _, le := range bounds {
		if handled[le] >= 0.99*total {
			return le
		}
	}
	return math.Inf(1)
}

const requestDurationBucket = "scim_request_duration_seconds_bucket{"

func (e *environment) snapshot(ctx context.Context) (managerSnapshot, error) {
	s := managerSnapshot{handled: map[string]map[float64]float64{}, apiServerCPU: cpuSeconds(e.apiServerPID)}
	if c, err := e.apiServer.counts(ctx); err == nil {
		for _, n := range c.ConsistencyChecks {
			s.apiServerChecks += n
		}
	}
	err := e.eachMetricLine(ctx, func(line string) {
		if v, ok := sampleOf(line, "go_gc_duration_seconds_count"); ok {
			s.gcs += v
		}
		if v, ok := sampleOf(line, "go_memstats_alloc_bytes_total"); ok {
			s.allocated += v
		}
		resource, le, count, ok := parseGETBucket(line)
		if !ok {
			return
		}
		if s.handled[resource] == nil {
			s.handled[resource] = map[float64]float64{}
		}
		s.handled[resource][le] += count // summed over tenants
	})
	return s, err
}

// parseGETBucket reads one bucket line of the SCIM server's request durations, if it
// counts GET requests.
func parseGETBucket(line string) (resource string, le, count float64, ok bool) {
	rest, found := strings.CutPrefix(line, requestDurationBucket)
	if !found {
		return "", 0, 0, false
	}
	_, value, found := strings.Cut(rest, "} ")
	if !found {
		return "", 0, 0, false
	}
	resource = label(line, "resource")
	le, errLE := strconv.ParseFloat(label(line, "le"), 64) // "+Inf" parses as +Inf
	count, errCount := strconv.ParseFloat(strings.TrimSpace(value), 64)
	return resource, le, count, label(line, "method") == http.MethodGet && errLE == nil && errCount == nil
}
