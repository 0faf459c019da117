package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// floorBlocks is how many blocks the lookups at concurrency and the HTTP floor's
// requests alternate in. The machine's spare CPU drifts within a run (its floor has
// been measured from 9,900 to 24,000 requests a second): measured in one block each,
// minutes apart, the two could see different machines.
const floorBlocks = 5

// lookupsAtScale looks existing users up by userName once all exist: Entra ID's
// incremental cycles and "Provision on demand" do. Beside them, in alternate blocks,
// the HTTP floor: a bare net/http handler answering with one of these lookups'
// responses, which its client decodes and checks as it does the lookups'. The floor
// runs in a process of its own, as the manager does: served in the load tool's own
// process, each request and its answer stay within one Go runtime, which a server
// never has (it answered 20 to 45% more requests a second here). That in-process floor
// is measured too, for comparison with the rounds that measured against it.
// The lookups' latency is then measured at a pace the server can carry (pacedLookups)
// and one at a time: at concurrency 25 as fast as the answers come, on two cores, it
// is mostly time spent waiting for a core, as the floor's own p99 shows. Last, groups
// are looked up as Entra ID looks them up, without their members. Each measurement of
// the manager records what the manager's metrics said of it meanwhile: its
// collections, and a bound of its handlers' own p99.
func lookupsAtScale(ctx context.Context, cfg config, sc *scimClient, manager managerWatch, res *results, out io.Writer) {
	lookUpUser := func() error {
		i := rand.IntN(cfg.users) //nolint:gosec // a sample, not a secret
		return lookUpOne(ctx, sc, lookupPath(userName(i)))
	}
	lookUpAny := func(o *op) func(int) { return func(int) { timed(o, lookUpUser) } }
	lookup := res.add(&op{Name: fmt.Sprintf("user lookup (of %d)", cfg.users)})
	alone := res.add(&op{Name: "  the same, one at a time"})
	var floors []*floor
	var body []byte
	if err := sc.do(ctx, http.MethodGet, lookupPath(userName(0)), nil, http.StatusOK, &body); err != nil {
		fmt.Fprintf(out, "lookup of %s: %v; no HTTP floor\n", userName(0), err)
	} else if own, err := startFloorProcess(body); err != nil {
		fmt.Fprintf(out, "HTTP floor: %v; no HTTP floor\n", err)
	} else {
		defer own.stop()
		inProcess := inProcessFloor(body)
		defer inProcess.stop()
		own.op = res.add(&op{Name: "bare HTTP handler (the floor)"})
		inProcess.op = res.add(&op{Name: "  the same, in the tool's own process"})
		floors = []*floor{own, inProcess}
	}
	var lookupWall time.Duration
	for b := range floorBlocks {
		n := share(cfg.lookupSample, b, floorBlocks)
		for _, f := range floors {
			lookUp := f.lookUp(ctx, sc)
			f.wall += parallel(n, cfg.concurrency, func(int) { timed(f.op, lookUp) })
		}
		lookupWall += manager.during(lookup, "Users", func() time.Duration { return parallel(n, cfg.concurrency, lookUpAny(lookup)) })
	}
	lookup.finish(lookupWall)
	fmt.Fprintf(out, "lookups: %d at concurrency %d in %s\n", cfg.lookupSample, cfg.concurrency, lookupWall.Round(time.Millisecond))
	for i, f := range floors {
		f.op.finish(f.wall)
		if i == 0 && f.op.PerSecond > 0 {
			res.LookupFloorRatio = lookup.PerSecond / f.op.PerSecond
		}
		fmt.Fprintf(out, "%s: %d requests answered with %d bytes in %s\n", strings.TrimSpace(f.op.Name), cfg.lookupSample, len(body), f.wall.Round(time.Millisecond))
	}

	if cfg.lookupRate > 0 {
		var lookUpFloor func() error
		if len(floors) > 0 {
			lookUpFloor = floors[0].lookUp(ctx, sc)
		}
		pacedLookups(cfg, lookUpUser, lookUpFloor, manager, res, out)
	}

	n := max(1, cfg.lookupSample/5)
	wall := manager.during(alone, "Users", func() time.Duration { return parallel(n, 1, lookUpAny(alone)) })
	alone.finish(wall)
	fmt.Fprintf(out, "lookups: %d at concurrency 1 in %s\n", n, wall.Round(time.Millisecond))

	if cfg.groups > 0 {
		groups := res.add(&op{Name: fmt.Sprintf("group lookup (of %d, %d members each)", cfg.groups, cfg.members)})
		wall := manager.during(groups, "Groups", func() time.Duration {
			return parallel(n, cfg.concurrency, func(int) {
				g := rand.IntN(cfg.groups) //nolint:gosec // a sample, not a secret
				timed(groups, func() error { return lookUpOne(ctx, sc, groupLookupPath(groupName(g))) })
			})
		})
		groups.finish(wall)
		fmt.Fprintf(out, "group lookups: %d at concurrency %d in %s\n", n, cfg.concurrency, wall.Round(time.Millisecond))
	}
}

// pacedLookups measures the lookups' latency under a load the server can carry: sent
// at --lookup-rate a second for --paced-for, at most --concurrency at a time, in blocks
// alternating with the floor's lookup (nil: none) at the same pace. The time is long
// enough for the manager to collect its heap several times: a window that happens to
// hold no collection leaves out the tail they make. At concurrency 25 and as fast as
// the answers come, the two cores are saturated and every latency there is mostly a
// wait for a core (the floor's own p99 is several milliseconds); a latency is a figure
// at a given load.
//
// With --yielding-nice, each block is then sent again with the manager's threads at
// that nice value, so that the load tool, the API server and etcd get the cores first
// whenever they want one. It tells whether the tail is the manager's collections taking
// the cores the client needs (it would shrink) or the manager waiting for them (it
// grows): at 100,000 users under 600Mi, the p99 went from 18 ms to 271 ms.
func pacedLookups(cfg config, lookUpUser, lookUpFloor func() error, manager managerWatch, res *results, out io.Writer) {
	lookup := res.add(&op{Name: fmt.Sprintf("  the same, paced at %.0f/s", cfg.lookupRate)})
	var yielding, floorOp *op
	if cfg.yieldingNice > 0 && manager.nice != nil {
		yielding = res.add(&op{Name: fmt.Sprintf("  the same, the manager at nice %d", cfg.yieldingNice)})
	}
	if lookUpFloor != nil {
		floorOp = res.add(&op{Name: fmt.Sprintf("  bare HTTP handler, paced at %.0f/s", cfg.lookupRate)})
	}
	pace := func(o *op, n int, lookUp func() error) time.Duration {
		return paced(n, cfg.lookupRate, cfg.concurrency, func(_ int, from time.Time) { timedFrom(o, from, lookUp) })
	}
	var lookupWall, yieldingWall, floorWall time.Duration
	total := int(cfg.lookupRate * cfg.pacedFor.Seconds())
	for b := range floorBlocks {
		n := share(total, b, floorBlocks)
		if floorOp != nil {
			floorWall += pace(floorOp, n, lookUpFloor)
		}
		lookupWall += manager.during(lookup, "Users", func() time.Duration { return pace(lookup, n, lookUpUser) })
		if yielding != nil {
			wall, err := manager.yielding(cfg.yieldingNice, func() time.Duration {
				return manager.during(yielding, "Users", func() time.Duration { return pace(yielding, n, lookUpUser) })
			})
			yieldingWall += wall
			if err != nil {
				fmt.Fprintf(out, "the manager's nice value: %v\n", err)
				yielding.Errors++
			}
		}
	}
	lookup.finish(lookupWall)
	fmt.Fprintf(out, "lookups: %d paced at %.0f/s in %s\n", total, cfg.lookupRate, lookupWall.Round(time.Millisecond))
	if yielding != nil {
		yielding.finish(yieldingWall)
	}
	if floorOp != nil {
		floorOp.finish(floorWall)
	}
}

// lookUpOne reads a lookup's ListResponse, which must hold one user.
func lookUpOne(ctx context.Context, sc *scimClient, path string) error {
	var list listResponse
	if err := sc.do(ctx, http.MethodGet, path, nil, http.StatusOK, &list); err != nil {
		return err
	}
	if list.TotalResults != 1 {
		return fmt.Errorf("GET %s found %d", path, list.TotalResults)
	}
	return nil
}
