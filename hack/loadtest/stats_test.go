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
