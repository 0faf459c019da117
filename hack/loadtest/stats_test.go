package main

import (
	"errors"
	"testing"
	"time"
)

func TestOpFigures(t *testing.T) {
	o := &op{Name: "x"}
	for i := 1; i <= 100; i++ {
		var err error
		if i%50 == 0 {
			err = errors.New("boom")
		}
		o.record(time.Duration(i)*time.Millisecond, err)
	}
	o.finish(2 * time.Second)
	if o.Count != 100 || o.Errors != 2 || o.FirstError != "boom" {
		t.Errorf("count %d errors %d first %q", o.Count, o.Errors, o.FirstError)
	}
	if o.PerSecond != 50 {
		t.Errorf("per second %v, want 50", o.PerSecond)
	}
	if o.P50Millis != 51 || o.P95Millis != 96 || o.P99Millis != 100 {
		t.Errorf("p50 %v p95 %v p99 %v", o.P50Millis, o.P95Millis, o.P99Millis)
	}
	if m := o.meanMillis(); m != 50.5 {
		t.Errorf("mean %v, want 50.5", m)
	}
}

func TestParallelVisitsEachIndexOnce(t *testing.T) {
	seen := make([]int, 1000)
	parallel(len(seen), 7, func(i int) { seen[i]++ })
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("index %d visited %d times", i, n)
		}
	}
}

func TestPacedKeepsItsPace(t *testing.T) {
	seen := make([]int, 20)
	wall := paced(len(seen), 200, 4, func(i int, _ time.Time) { seen[i]++ })
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("index %d visited %d times", i, n)
		}
	}
	// The last call is due 95 ms after the start: sent at once, all would be done in
	// well under that.
	if wall < 95*time.Millisecond {
		t.Errorf("20 calls at 200/s took %s", wall)
	}
}

// A server that falls behind the pace makes the calls wait for a worker, and that
// wait counts: each call here is due 1 ms after the last but takes 20 ms, so the
// fifth waits for the four before it.
func TestPacedCountsTheBacklog(t *testing.T) {
	o := &op{}
	paced(5, 1000, 1, func(_ int, from time.Time) {
		timedFrom(o, from, func() error { time.Sleep(20 * time.Millisecond); return nil })
	})
	o.finish(time.Second)
	if o.lat[4] < 95*time.Millisecond {
		t.Errorf("the fifth call's latency %s leaves out its wait behind four calls of 20 ms", o.lat[4])
	}
	if o.lat[0] > 60*time.Millisecond {
		t.Errorf("the first call's latency %s counts more than its own 20 ms", o.lat[0])
	}
}
