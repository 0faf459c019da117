package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// settleQuiet is how long the controllers must have had nothing queued or in
	// progress to count as caught up (a tenant's count is refreshed 5 s after a change,
	// so a shorter quiet would end inside a lull).
	settleQuiet = 10 * time.Second
	settlePoll  = time.Second
)

// settle waits until the manager's controllers have caught up (quiet) and records how
// long they took after the identity provider's last request, and the manager's heap in
// use then.
func (e *environment) settle(ctx context.Context, timeout time.Duration) error {
	settled, err := e.quiet(ctx, timeout)
	if err != nil {
		return err
	}
	e.settled = settled
	if heap, err := e.metrics(ctx, "go_memstats_heap_inuse_bytes"); err == nil {
		e.heapInUse = heap["go_memstats_heap_inuse_bytes"]
	}
	return nil
}

// quiet waits until the manager's controllers have had nothing queued or in progress
// for settleQuiet, and returns the time from the call to the start of that quiet.
func (e *environment) quiet(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	var quietSince time.Time
	for time.Now().Before(deadline) {
		busy, err := e.controllerWork(ctx)
		switch {
		case err != nil:
			return 0, err
		case busy > 0:
			quietSince = time.Time{}
		case quietSince.IsZero():
			quietSince = time.Now()
		case time.Since(quietSince) >= settleQuiet:
			return quietSince.Sub(start), nil
		}
		time.Sleep(settlePoll)
	}
	return 0, fmt.Errorf("the controllers were still busy after %s", timeout)
}

// controllerWork is the manager's queued and in-progress reconciles, from its metrics.
func (e *environment) controllerWork(ctx context.Context) (float64, error) {
	values, err := e.metrics(ctx, "workqueue_depth", "controller_runtime_active_workers")
	if err != nil {
		return 0, err
	}
	return values["workqueue_depth"] + values["controller_runtime_active_workers"], nil
}

// metrics sums, per metric name, the samples of the named metrics the manager exposes.
func (e *environment) metrics(ctx context.Context, names ...string) (map[string]float64, error) {
	sums := map[string]float64{}
	err := e.eachMetricLine(ctx, func(line string) { addSample(sums, line, names) })
	return sums, err
}

// addSample adds to sums the value of a metrics line of one of the named metrics.
func addSample(sums map[string]float64, line string, names []string) {
	for _, name := range names {
		if v, ok := sampleOf(line, name); ok {
			sums[name] += v
		}
	}
}

// sampleOf is the value of a metrics line of the named metric.
func sampleOf(line, name string) (float64, bool) {
	rest, ok := strings.CutPrefix(line, name)
	if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
		return 0, false
	}
	fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
	if len(fields) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	return v, err == nil
}

// eachMetricLine calls f with each line of the manager's metrics.
func (e *environment) eachMetricLine(ctx context.Context, f func(line string)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.metricsAddr+"/metrics", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reading the manager's metrics: %w", err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	return eachLine(resp.Body, f)
}

// eachLine calls f with each line of a metrics page.
func eachLine(r io.Reader, f func(line string)) error {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for scanner.Scan() {
		f(scanner.Text())
	}
	return scanner.Err()
}
