package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// op is the measurements of one kind of operation.
type op struct {
	Name       string  `json:"name"`
	Count      int     `json:"count"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"perSecond"`
	P50Millis  float64 `json:"p50Millis"`
	P95Millis  float64 `json:"p95Millis"`
	P99Millis  float64 `json:"p99Millis"`
	FirstError string  `json:"firstError,omitempty"`
	// ManagerGCs is how many collections the manager ran during the measurement, when
	// counted.
	ManagerGCs float64 `json:"managerGCs,omitempty"`
	// HandlerP99AtMostMillis bounds the p99 of the manager's own handling of these
	// requests, from the SCIM server's duration histogram (the upper bound of the
	// bucket it falls in; -1 beyond the last): what is above it was spent outside
	// the handler.
	HandlerP99AtMostMillis float64 `json:"handlerP99AtMostMillis,omitempty"`
	// ManagerBytesPerRequest is what the manager allocated during the measurement,
	// whatever allocated it, per request: what makes its collections come sooner.
	ManagerBytesPerRequest float64 `json:"managerBytesPerRequest,omitempty"`
	// APIServerCPUSeconds is the CPU the API server spent during the measurement, and
	// APIServerConsistencyChecks the checks of its watch cache that ended in it: what
	// the control plane took of the cores the manager and the tool share here.
	APIServerCPUSeconds        float64 `json:"apiServerCPUSeconds,omitempty"`
	APIServerConsistencyChecks float64 `json:"apiServerConsistencyChecks,omitempty"`
	// handled is that histogram over the measurement, and allocated the bytes (see
	// managerWatch).
	handled   map[float64]float64
	allocated float64

	mu  sync.Mutex
	lat []time.Duration
}

func (o *op) record(d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lat = append(o.lat, d)
	if err != nil {
		o.Errors++
		if o.FirstError == "" {
			o.FirstError = err.Error()
		}
	}
}

// finish computes the figures over the phase's wall time.
func (o *op) finish(wall time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	slices.Sort(o.lat)
	o.Count = len(o.lat)
	o.Seconds = wall.Seconds()
	if wall > 0 {
		o.PerSecond = float64(o.Count) / wall.Seconds()
	}
	q := func(p float64) float64 {
		if len(o.lat) == 0 {
			return 0
		}
		return float64(o.lat[min(len(o.lat)-1, int(p*float64(len(o.lat))))].Microseconds()) / 1000
	}
	o.P50Millis, o.P95Millis, o.P99Millis = q(0.50), q(0.95), q(0.99)
	if o.Count > 0 {
		o.ManagerBytesPerRequest = o.allocated / float64(o.Count)
	}
	if bound := p99Bound(o.handled); math.IsInf(bound, 1) {
		o.HandlerP99AtMostMillis = -1 // beyond every bucket; JSON has no infinity
	} else {
		o.HandlerP99AtMostMillis = bound * 1000
	}
}

func (o *op) meanMillis() float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.lat) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range o.lat {
		sum += d
	}
	return float64(sum.Microseconds()) / 1000 / float64(len(o.lat))
}

// parallel runs f for 0..n-1 on concurrency workers and returns the wall time.
func parallel(n, concurrency int, f func(i int)) time.Duration {
	return parallelReporting(nil, "", n, concurrency, f)
}

// paced runs f for 0..n-1 at rate a second on at most concurrency workers, and
// returns the wall time. Each call is due at start + i/rate, as an identity provider
// sends at its own pace whatever the server does; f is given when to count its latency
// from: its due time when every worker was busy then (the wait for a free one is the
// server's backlog, which a latency counted from the send would hide), or the moment
// its worker woke for it when the worker was early (a late wake-up is the tool's).
func paced(n int, rate float64, concurrency int, f func(i int, from time.Time)) time.Duration {
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	return parallel(n, concurrency, func(i int) {
		due := start.Add(time.Duration(i) * interval)
		from := due
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
			from = time.Now()
		}
		f(i, from)
	})
}

// share is block b's share of n split into blocks blocks.
func share(n, b, blocks int) int { return n*(b+1)/blocks - n*b/blocks }

// progressEvery is how often a long phase reports how far it is and its recent rate,
// which shows a rate that falls as the tenant grows while the run goes on.
const progressEvery = 30 * time.Second

// parallelReporting is parallel that also writes label's progress to out.
func parallelReporting(out io.Writer, label string, n, concurrency int, f func(i int)) time.Duration {
	start := time.Now()
	var next, done atomic.Int64
	stop := make(chan struct{})
	if out != nil {
		go reportProgress(out, label, n, &done, stop)
	}
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
				done.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	return time.Since(start)
}

func reportProgress(out io.Writer, label string, n int, done *atomic.Int64, stop <-chan struct{}) {
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	start, last := time.Now(), int64(0)
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			now := done.Load()
			fmt.Fprintf(out, "  %s: %d/%d after %s, %.1f/s in the last %s\n", label, now, n,
				time.Since(start).Round(time.Second), float64(now-last)/progressEvery.Seconds(), progressEvery)
			last = now
		}
	}
}

// timed runs f and records its latency and error on o.
func timed(o *op, f func() error) { timedFrom(o, time.Now(), f) }

// timedFrom runs f and records on o its error and the time since from.
func timedFrom(o *op, from time.Time, f func() error) {
	err := f()
	o.record(time.Since(from), err)
}

type resultConfig struct {
	Users       int `json:"users"`
	Groups      int `json:"groups"`
	Members     int `json:"members"`
	Batch       int `json:"batch"`
	Concurrency int `json:"concurrency"`
	// ManagerMemoryLimit is the container limit the manager ran as if under.
	ManagerMemoryLimit string `json:"managerMemoryLimit,omitempty"`
}

type managerFigures struct {
	ReadyEmptySeconds float64 `json:"readyEmptySeconds"`
	// SettleSeconds is how long the controllers took after the identity provider's
	// last request to have nothing left to do.
	SettleSeconds float64 `json:"settleSeconds,omitempty"`
	// HeapInUseMiB is the Go heap in use once settled (live objects and garbage not yet
	// collected), beside the process's peak resident memory.
	HeapInUseMiB float64 `json:"heapInUseMiB,omitempty"`
	PeakRSSMiB   float64 `json:"peakRSSMiB"`
	// Restart is the manager's restart over everything the run provisioned.
	Restart          *restartFigures `json:"restart,omitempty"`
	ObjectsAtRestart int             `json:"objectsAtRestart,omitempty"`
	// RestartComparison holds the restarts of --compare-restarts, per binary.
	RestartComparison restartComparison `json:"restartComparison,omitempty"`
}

type results struct {
	Config resultConfig `json:"config"`
	Ops    []*op        `json:"operations"`
	// CreateCeilingRatio is SCIM create throughput over direct API-server writes.
	CreateCeilingRatio float64 `json:"createCeilingRatio"`
	// FollowerCreateCeilingRatio is the same on a replica without the controllers.
	FollowerCreateCeilingRatio float64 `json:"followerCreateCeilingRatio,omitempty"`
	// CreateDirectRatioReconciled is SCIM create throughput over direct writes of the
	// same tenant's users, alternating, with the controllers reconciling both.
	CreateDirectRatioReconciled float64 `json:"createDirectRatioReconciled,omitempty"`
	// LookupFloorRatio is lookup throughput over a bare HTTP handler's.
	LookupFloorRatio float64         `json:"lookupFloorRatio"`
	Manager          *managerFigures `json:"manager,omitempty"`
}

func (r *results) add(o *op) *op {
	r.Ops = append(r.Ops, o)
	return o
}

func (r *results) get(name string) *op {
	for _, o := range r.Ops {
		if o.Name == name {
			return o
		}
	}
	return &op{}
}

func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "\n%d users, %d groups of %d members, concurrency %d", r.Config.Users, r.Config.Groups, r.Config.Members, r.Config.Concurrency)
	if r.Config.ManagerMemoryLimit != "" {
		fmt.Fprintf(w, ", manager memory limit %s", r.Config.ManagerMemoryLimit)
	}
	fmt.Fprint(w, "\n\n")
	fmt.Fprintf(w, "%-44s %8s %7s %9s %9s %9s %9s %8s %12s %10s %14s\n", "operation", "count", "errors", "per sec", "p50 ms", "p95 ms", "p99 ms", "mgr GCs", "handler p99", "mgr B/req", "API server CPU")
	for _, o := range r.Ops {
		gcs, handled, allocated, apiServer := "", "", "", ""
		if o.APIServerCPUSeconds > 0 {
			apiServer = strconv.FormatFloat(o.APIServerCPUSeconds, 'f', 1, 64) + "s"
			if o.APIServerConsistencyChecks > 0 {
				apiServer += fmt.Sprintf(" (%.0f chk)", o.APIServerConsistencyChecks)
			}
		}
		if o.ManagerGCs > 0 {
			gcs = strconv.FormatFloat(o.ManagerGCs, 'f', 0, 64)
		}
		if o.ManagerBytesPerRequest > 0 {
			allocated = strconv.FormatFloat(o.ManagerBytesPerRequest, 'f', 0, 64)
		}
		switch {
		case o.HandlerP99AtMostMillis > 0:
			handled = "<= " + strconv.FormatFloat(o.HandlerP99AtMostMillis, 'g', 4, 64)
		case o.HandlerP99AtMostMillis < 0:
			handled = "> last bucket"
		}
		fmt.Fprintf(w, "%-44s %8d %7d %9.1f %9.2f %9.2f %9.2f %8s %12s %10s %14s\n", o.Name, o.Count, o.Errors, o.PerSecond, o.P50Millis, o.P95Millis, o.P99Millis, gcs, handled, allocated, apiServer)
	}
	fmt.Fprintf(w, "\nSCIM create / direct API-server write ceiling: %.2f\n", r.CreateCeilingRatio)
	if r.FollowerCreateCeilingRatio > 0 {
		fmt.Fprintf(w, "  the same, on a replica without controllers:  %.2f\n", r.FollowerCreateCeilingRatio)
	}
	if r.CreateDirectRatioReconciled > 0 {
		fmt.Fprintf(w, "SCIM create / direct write, both reconciled:   %.2f\n", r.CreateDirectRatioReconciled)
	}
	fmt.Fprintf(w, "userName lookup / bare HTTP floor:             %.2f\n", r.LookupFloorRatio)
	if m := r.Manager; m != nil {
		fmt.Fprintf(w, "manager: ready %.1fs after start (empty), caught up %.1fs after the last request, heap in use %.0f MiB, peak RSS %.0f MiB",
			m.ReadyEmptySeconds, m.SettleSeconds, m.HeapInUseMiB, m.PeakRSSMiB)
		if r := m.Restart; r != nil {
			fmt.Fprintf(w, "; restarted with %d identities: %s, peak RSS %.0f MiB", m.ObjectsAtRestart, r, r.PeakRSSThroughMiB)
		}
		fmt.Fprintln(w)
	}
	for _, o := range r.Ops {
		if o.FirstError != "" {
			fmt.Fprintf(w, "first error of %s: %s\n", o.Name, o.FirstError)
		}
	}
}
