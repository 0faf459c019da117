package main

import (
	"math"
	"testing"
	"time"
)

func TestTheHandlersP99IsBoundedByItsBucket(t *testing.T) {
	lines := []string{
		`scim_request_duration_seconds_bucket{method="GET",resource="Users",tenant="ns/a",le="0.001"} 90`,
		`scim_request_duration_seconds_bucket{method="GET",resource="Users",tenant="ns/a",le="0.005"} 98`,
		`scim_request_duration_seconds_bucket{method="GET",resource="Users",tenant="ns/a",le="0.01"} 99`,
		`scim_request_duration_seconds_bucket{method="GET",resource="Users",tenant="ns/a",le="+Inf"} 100`,
		`scim_request_duration_seconds_bucket{method="POST",resource="Users",tenant="ns/a",le="+Inf"} 7`,
		`scim_request_duration_seconds_count{method="GET",resource="Users",tenant="ns/a"} 100`,
	}
	handled := map[float64]float64{}
	for _, line := range lines {
		if resource, le, count, ok := parseGETBucket(line); ok && resource == "Users" {
			handled[le] += count
		}
	}
	if len(handled) != 4 || handled[math.Inf(1)] != 100 {
		t.Fatalf("read %v, want the four GET buckets", handled)
	}
	if got := p99Bound(handled); got != 0.01 {
		t.Errorf("p99 bound %v, want 0.01: 99 of 100 took at most 10 ms", got)
	}
	handled[0.01] = 98
	if got := p99Bound(handled); !math.IsInf(got, 1) {
		t.Errorf("p99 bound %v, want +Inf when the 99th lies beyond the last finite bound", got)
	}
	if got := p99Bound(map[float64]float64{}); got != 0 {
		t.Errorf("p99 bound of no requests %v, want 0", got)
	}
}

func TestFinishBoundsTheHandlersP99InMilliseconds(t *testing.T) {
	o := &op{handled: map[float64]float64{0.001: 50, 0.005: 100, math.Inf(1): 100}}
	o.finish(time.Second)
	if o.HandlerP99AtMostMillis != 5 {
		t.Errorf("handler p99 at most %v ms, want 5", o.HandlerP99AtMostMillis)
	}
	o = &op{handled: map[float64]float64{0.001: 50, math.Inf(1): 100}}
	o.finish(time.Second)
	if o.HandlerP99AtMostMillis != -1 {
		t.Errorf("handler p99 beyond every bucket recorded as %v, want -1", o.HandlerP99AtMostMillis)
	}
	o = &op{}
	if o.finish(time.Second); o.HandlerP99AtMostMillis != 0 {
		t.Errorf("an op without a histogram has a handler p99 of %v", o.HandlerP99AtMostMillis)
	}
}

func TestFinishSharesTheManagersAllocationsAmongTheRequests(t *testing.T) {
	o := &op{allocated: 4000}
	for range 4 {
		o.record(time.Millisecond, nil)
	}
	if o.finish(time.Second); o.ManagerBytesPerRequest != 1000 {
		t.Errorf("%v bytes per request, want 1000", o.ManagerBytesPerRequest)
	}
	o = &op{allocated: 4000}
	if o.finish(time.Second); o.ManagerBytesPerRequest != 0 {
		t.Errorf("no requests, yet %v bytes per request", o.ManagerBytesPerRequest)
	}
}
