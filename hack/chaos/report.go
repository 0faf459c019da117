package main

import (
	"fmt"
	"io"
	"time"
)

// report is one seed's outcome.
type report struct {
	seed   uint64
	faults map[fault]int
	driver *tally
	// driveErr is a request the driver gave up on or an answer it did not expect.
	driveErr error
	verdict  *verdict
	forged   int
	// groups is how many groups the driver provisioned.
	groups int
	// selfExits counts replicas that exited on their own and were started again.
	selfExits int
	// convergence is from the end of the last fault until the verdict was clean (and
	// stayed so for stableFor).
	convergence time.Duration
	drain       drainOutcome
}

func (r *report) passed() bool {
	return r.driveErr == nil && r.verdict.clean() && r.driver.bare5xx.Load() == 0 && r.driver.unanswered.Load() == 0 && r.forged == 0 &&
		r.drain.dropped == 0 && r.drain.notClean == 0
}

func printReports(out io.Writer, reports []*report) {
	if len(reports) == 0 {
		return
	}
	fmt.Fprintf(out, "\n%-46s", "")
	for _, r := range reports {
		fmt.Fprintf(out, " %10s", fmt.Sprintf("seed %d", r.seed))
	}
	fmt.Fprintln(out)
	row := func(name string, value func(*report) string) {
		fmt.Fprintf(out, "%-46s", name)
		for _, r := range reports {
			fmt.Fprintf(out, " %10s", value(r))
		}
		fmt.Fprintln(out)
	}
	for _, f := range []fault{killLeader, killFollower, gracefulStop, apiServerOutage, appFails, appHangs, duplicateCreates} {
		row("fault: "+string(f), func(r *report) string { return fmt.Sprint(r.faults[f]) })
	}
	row("groups (filled with members, some deleted)", func(r *report) string { return fmt.Sprint(r.groups) })
	row("replicas that exited by themselves, restarted", func(r *report) string { return fmt.Sprint(r.selfExits) })
	row("SCIM requests", func(r *report) string { return fmt.Sprint(r.driver.requests.Load()) })
	row("answered 2xx (after retries)", func(r *report) string { return fmt.Sprint(r.driver.ok.Load()) })
	row("retried (transport error, 5xx, 429)", func(r *report) string { return fmt.Sprint(r.driver.retried.Load()) })
	row("of them: no answer within 10 s", func(r *report) string { return fmt.Sprint(r.driver.timeouts.Load()) })
	row("5xx without Retry-After (must be 0)", func(r *report) string { return fmt.Sprint(r.driver.bare5xx.Load()) })
	row("unanswered after 3 min (must be 0)", func(r *report) string { return fmt.Sprint(r.driver.unanswered.Load()) })
	row("dropped by a graceful stop (must be 0)", func(r *report) string { return fmt.Sprint(r.drain.dropped) })
	row("graceful stops not clean (must be 0)", func(r *report) string { return fmt.Sprint(r.drain.notClean) })
	row("leader handover after a graceful stop", func(r *report) string { return r.drain.handover.Round(100 * time.Millisecond).String() })
	row("lost (must be 0)", func(r *report) string { return fmt.Sprint(r.verdict.lost) })
	row("duplicates (must be 0)", func(r *report) string { return fmt.Sprint(r.verdict.duplicates) })
	row("wrong access (must be 0)", func(r *report) string { return fmt.Sprint(r.verdict.wrongAccess) })
	row("app without the final state (must be 0)", func(r *report) string { return fmt.Sprint(r.verdict.undelivered) })
	row("failing reconciles (must be 0)", func(r *report) string { return fmt.Sprint(r.verdict.failing) })
	row("forged deliveries (must be 0)", func(r *report) string { return fmt.Sprint(r.forged) })
	row("converged after the last fault", func(r *report) string { return r.convergence.Round(100 * time.Millisecond).String() })
	for _, r := range reports {
		if r.driveErr != nil {
			fmt.Fprintf(out, "seed %d: %v\n", r.seed, r.driveErr)
		}
		if s, ok := r.driver.firstUnanswered.Load().(string); ok {
			fmt.Fprintf(out, "seed %d, first unanswered: %s\n", r.seed, s)
		}
		for _, u := range r.drain.problems {
			fmt.Fprintf(out, "seed %d, graceful stop: %s\n", r.seed, u)
		}
		for _, e := range r.verdict.examples {
			fmt.Fprintf(out, "seed %d: %s\n", r.seed, e)
		}
	}
}
