package main

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// restartTimes are, per manager binary, its times to ready over the same provisioned
// state, in the order the rounds ran.
type restartTimes map[string][]float64

// compareRestarts restarts each binary in turn, rounds times, over what the run
// provisioned, and times each until ready. The binaries alternate within a round so that
// whatever drifts in the control plane (its caches, compactions, the Events the managers
// write) weighs on each alike: a restart that got slower between two commits is told
// apart from a slower control plane.
func (e *environment) compareRestarts(bins []string, rounds int, readyTimeout time.Duration, out io.Writer) restartTimes {
	times := restartTimes{}
	for round := 1; round <= rounds; round++ {
		for _, bin := range bins {
			ready, err := e.timeRestart(bin, readyTimeout)
			if err != nil {
				fmt.Fprintf(out, "restart of %s: %v\n", bin, err)
				continue
			}
			times[bin] = append(times[bin], ready.Seconds())
			fmt.Fprintf(out, "round %d: %s ready in %.1fs\n", round, bin, ready.Seconds())
		}
	}
	for _, bin := range bins {
		fmt.Fprintf(out, "%s: median %.1fs over %v\n", bin, median(times[bin]), times[bin])
	}
	return times
}

// timeRestart starts bin until it is ready, then stops it gracefully.
func (e *environment) timeRestart(bin string, readyTimeout time.Duration) (time.Duration, error) {
	p, ready, err := e.startManager(bin, readyTimeout)
	if p != nil {
		defer p.Stop(managerGrace)
	}
	return ready, err
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sorted := append([]float64(nil), xs...)
	sort.Float64s(sorted)
	return sorted[len(sorted)/2]
}
