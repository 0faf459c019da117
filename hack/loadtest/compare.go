package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"time"
)

// restartFigures is one start of the manager: its time to ready, the CPU the manager
// and the API server spent until then, and the manager's peak RSS by then, the memory
// a faster start may cost, and once its controllers have gone through every identity. Here the two share two cores, so the time is about their
// CPU together over two; on a cluster, whose API server has cores of its own, the
// manager's CPU is what bounds it.
type restartFigures struct {
	ReadySeconds float64 `json:"readySeconds"`
	PeakRSSMiB   float64 `json:"peakRSSMiB"`
	// PeakRSSThroughMiB is the peak RSS restartWalk after ready.
	PeakRSSThroughMiB float64 `json:"peakRSSThroughMiB,omitempty"`
	// The CPU figures are zero where /proc cannot tell.
	ManagerCPUSeconds   float64 `json:"managerCPUSeconds,omitempty"`
	APIServerCPUSeconds float64 `json:"apiServerCPUSeconds,omitempty"`
	EtcdCPUSeconds      float64 `json:"etcdCPUSeconds,omitempty"`
	// APIServer is what the API server counted until ready, and APIServerWalking in
	// the restartWalk after.
	APIServer        apiServerCounts `json:"apiServer"`
	APIServerWalking apiServerCounts `json:"apiServerWalking"`
}

func (r restartFigures) String() string {
	return fmt.Sprintf("ready in %.1fs (CPU until then: manager %.1fs, API server %.1fs, etcd %.1fs)", r.ReadySeconds, r.ManagerCPUSeconds, r.APIServerCPUSeconds, r.EtcdCPUSeconds)
}

// apiServerCounts prints what the API server counted over the restart, until ready and after.
func (r restartFigures) apiServerCounts() string {
	return fmt.Sprintf("API server until ready: %s\n  in the %s after: %s", r.APIServer, restartWalk, r.APIServerWalking)
}

// restartComparison holds, per manager binary, its restarts over the same provisioned
// state, in the order the rounds ran.
type restartComparison map[string][]restartFigures

// compareRestarts restarts each binary in turn, rounds times, over what the run
// provisioned, and times each until ready. The binaries alternate within a round so that
// whatever drifts in the control plane (its caches, compactions, the Events the managers
// write) weighs on each alike: a restart that got slower between two commits is told
// apart from a slower control plane.
func (e *environment) compareRestarts(ctx context.Context, bins []string, rounds int, readyTimeout time.Duration, out io.Writer) restartComparison {
	restarts := restartComparison{}
	for round := 1; round <= rounds; round++ {
		for _, bin := range bins {
			r, err := e.timeRestart(ctx, fmt.Sprintf("round%d-%s", round, filepath.Base(bin)), bin, readyTimeout, out)
			if err != nil {
				fmt.Fprintf(out, "restart of %s: %v\n", bin, err)
				continue
			}
			restarts[bin] = append(restarts[bin], r)
			fmt.Fprintf(out, "round %d: %s %s, peak RSS %.0f MiB, %.0f MiB %s later\n  %s\n", round, bin, r, r.PeakRSSMiB, r.PeakRSSThroughMiB, restartWalk, r.apiServerCounts())
		}
	}
	for _, bin := range bins {
		var ready, rss, through, cpu []float64
		for _, r := range restarts[bin] {
			ready = append(ready, r.ReadySeconds)
			rss = append(rss, r.PeakRSSMiB)
			through = append(through, r.PeakRSSThroughMiB)
			cpu = append(cpu, r.ManagerCPUSeconds)
		}
		fmt.Fprintf(out, "%s: median %.1fs over %v; manager CPU median %.1fs over %v; peak RSS median %.0f MiB over %v, %s later %.0f MiB over %v\n",
			bin, median(ready), ready, median(cpu), cpu, median(rss), rss, restartWalk, median(through), through)
	}
	return restarts
}

// timeRestart starts bin until it is ready, reads its peak RSS then and once its
// controllers have gone through every identity, then stops it gracefully.
func (e *environment) timeRestart(ctx context.Context, profile, bin string, readyTimeout time.Duration, out io.Writer) (restartFigures, error) {
	p, r, err := e.startManager(ctx, profile, bin, readyTimeout, out)
	if p != nil {
		defer p.Stop(managerGrace)
	}
	if err != nil {
		return restartFigures{}, err
	}
	r.PeakRSSMiB = p.PeakRSSMiB()
	e.walk(ctx, &r)
	r.PeakRSSThroughMiB = p.PeakRSSMiB()
	return r, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sorted := append([]float64(nil), xs...)
	sort.Float64s(sorted)
	return sorted[len(sorted)/2]
}
