package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// fault is one kind of failure the suite injects.
type fault string

const (
	killLeader       fault = "leader killed (SIGKILL) and restarted"
	killFollower     fault = "other replica killed and restarted"
	apiServerOutage  fault = "kube-apiserver stopped 5-20 s"
	appFails         fault = "webhook app answering 503"
	appHangs         fault = "webhook app hanging past its timeout"
	duplicateCreates fault = "create sent through both replicas at once"
	gracefulStop     fault = "leader stopped (SIGTERM) and restarted"
)

// injector applies faults at seeded random moments until every kind has been
// applied rounds times.
type injector struct {
	cluster  *cluster
	receiver *receiver
	rand     *rand.Rand
	out      io.Writer
	applied  map[fault]int
	// lastEnded is when the last fault was over (the replica back, the API server up).
	lastEnded time.Time
	// driver counts the requests that failed without an answer.
	driver *tally
	// drain is what graceful stops showed.
	drain drainOutcome
}

// drainOutcome is what stopping replicas gracefully showed.
type drainOutcome struct {
	// dropped counts requests that got no answer (a reset or closed connection)
	// from the SIGTERM until the replica was back: must stay 0.
	dropped int64
	// problems describes each stop that was not clean or that dropped requests.
	problems []string
	// notClean counts stops that did not end with status 0 within the grace period.
	notClean int
	// handover is the longest time from the SIGTERM to another process leading.
	handover time.Duration
}

func newInjector(c *cluster, r *receiver, d *tally, seed uint64, out io.Writer) *injector {
	return &injector{cluster: c, receiver: r, rand: rand.New(rand.NewPCG(seed, seed^0xfa17)), //nolint:gosec // reproducible
		out: out, applied: map[fault]int{}, driver: d}
}

func (in *injector) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(in.rand.Int64N(int64(hi-lo)))
}

// run applies every kind of fault rounds times, in a seeded order, with a pause of
// 2-6 s before each, then closes done.
func (in *injector) run(ctx context.Context, rounds int, done chan<- struct{}) error {
	defer close(done)
	kinds := []fault{killLeader, killFollower, apiServerOutage, appFails, appHangs, gracefulStop}
	for range rounds {
		in.rand.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
		for _, f := range kinds {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(in.between(2*time.Second, 6*time.Second)):
			}
			start := time.Now()
			if err := in.apply(ctx, f); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			in.applied[f]++
			in.lastEnded = time.Now()
			fmt.Fprintf(in.out, "  %-42s %s\n", f, time.Since(start).Round(100*time.Millisecond))
		}
	}
	return nil
}

func (in *injector) apply(ctx context.Context, f fault) error {
	c := in.cluster
	switch f {
	case killLeader, killFollower:
		leader := c.leader()
		if leader < 0 {
			// Between leaders (the lease of a killed one not yet expired): the next
			// fault comes first.
			leader = 0
		}
		victim := leader
		if f == killFollower {
			victim = (leader + 1) % replicas
		}
		return c.killAndRestart(victim, in.between(time.Second, 3*time.Second))
	case gracefulStop:
		return in.stopLeader()
	case apiServerOutage:
		if err := c.restartAPIServer(in.between(5*time.Second, 20*time.Second)); err != nil {
			return err
		}
		return c.waitAPIServer(ctx, time.Minute)
	case appFails, appHangs:
		mode := appFailing
		if f == appHangs {
			mode = appHanging
		}
		in.receiver.setMode(mode)
		time.Sleep(in.between(5*time.Second, 15*time.Second))
		in.receiver.setMode(appHealthy)
	}
	return nil
}

// stopLeader stops the leading replica gracefully while the driver goes on, and
// records what clients saw, how the process ended and how soon the other replica led.
func (in *injector) stopLeader() error {
	c := in.cluster
	// A rolling update stops an old pod only once its replacement is available, so
	// the other replica is ready first (it may still be starting after an outage).
	if err := c.waitAllReady(managerReadyMax); err != nil {
		return err
	}
	leader := max(c.leader(), 0)
	stopped := c.manager(leader)
	droppedBefore := in.driver.transportErrors.Load()
	start := time.Now()
	// The lease is released on the way out, so whichever replica tries next (the
	// other one, or the stopped one started again) leads without waiting for it to
	// expire.
	handover := make(chan time.Duration, 1)
	go func() {
		deadline := start.Add(managerReadyMax)
		for time.Now().Before(deadline) {
			if l := c.leader(); l >= 0 && c.manager(l) != stopped {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		handover <- time.Since(start)
	}()
	ended, err := c.stopGracefully(leader)
	if err != nil {
		return err
	}
	if ended != nil {
		in.drain.notClean++
		in.drain.problems = append(in.drain.problems, fmt.Sprintf("replica %d: %v", leader, ended))
	}
	in.drain.handover = max(in.drain.handover, <-handover)
	if dropped := in.driver.transportErrors.Load() - droppedBefore; dropped > 0 {
		in.drain.dropped += dropped
		last, _ := in.driver.lastTransportError.Load().(string)
		in.drain.problems = append(in.drain.problems, fmt.Sprintf("%d requests dropped while replica %d stopped (SIGTERM at %s), the last: %s",
			dropped, leader, start.Format("15:04:05.000"), last))
	}
	return nil
}
