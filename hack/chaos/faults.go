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
}

func newInjector(c *cluster, r *receiver, seed uint64, out io.Writer) *injector {
	return &injector{cluster: c, receiver: r, rand: rand.New(rand.NewPCG(seed, seed^0xfa17)), //nolint:gosec // reproducible
		out: out, applied: map[fault]int{}}
}

func (in *injector) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(in.rand.Int64N(int64(hi-lo)))
}

// run applies every kind of fault rounds times, in a seeded order, with a pause of
// 2-6 s before each, then closes done.
func (in *injector) run(ctx context.Context, rounds int, done chan<- struct{}) error {
	defer close(done)
	kinds := []fault{killLeader, killFollower, apiServerOutage, appFails, appHangs}
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
