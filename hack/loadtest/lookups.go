package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
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
// responses, which its client decodes and checks as it does the lookups'.
// The latency of a lookup alone is then measured one at a time: at concurrency 25 on
// two cores it is mostly time spent waiting for a core, as the floor's own p99 shows.
func lookupsAtScale(ctx context.Context, cfg config, sc *scimClient, res *results, out io.Writer) {
	lookUpAny := func(o *op) func(int) {
		return func(int) {
			i := rand.IntN(cfg.users) //nolint:gosec // a sample, not a secret
			timed(o, func() error { return lookUpOne(ctx, sc, lookupPath(userName(i))) })
		}
	}
	lookup := res.add(&op{Name: fmt.Sprintf("user lookup (of %d)", cfg.users)})
	alone := res.add(&op{Name: "  the same, one at a time"})
	var floor *op
	var bare *scimClient
	var body []byte
	if err := sc.do(ctx, http.MethodGet, lookupPath(userName(0)), nil, http.StatusOK, &body); err != nil {
		fmt.Fprintf(out, "lookup of %s: %v; no HTTP floor\n", userName(0), err)
	} else {
		floor = res.add(&op{Name: "bare HTTP handler (the floor)"})
		var srv *httptest.Server
		srv, bare = floorServer(sc, body)
		defer srv.Close()
	}
	var lookupWall, floorWall time.Duration
	for b := range floorBlocks {
		n := cfg.lookupSample*(b+1)/floorBlocks - cfg.lookupSample*b/floorBlocks
		if floor != nil {
			floorWall += parallel(n, cfg.concurrency, func(int) { timed(floor, func() error { return lookUpOne(ctx, bare, "/") }) })
		}
		lookupWall += parallel(n, cfg.concurrency, lookUpAny(lookup))
	}
	lookup.finish(lookupWall)
	fmt.Fprintf(out, "lookups: %d at concurrency %d in %s\n", cfg.lookupSample, cfg.concurrency, lookupWall.Round(time.Millisecond))
	if floor != nil {
		floor.finish(floorWall)
		if floor.PerSecond > 0 {
			res.LookupFloorRatio = lookup.PerSecond / floor.PerSecond
		}
		fmt.Fprintf(out, "HTTP floor: %d requests answered with %d bytes in %s\n", cfg.lookupSample, len(body), floorWall.Round(time.Millisecond))
	}

	n := max(1, cfg.lookupSample/5)
	wall := parallel(n, 1, lookUpAny(alone))
	alone.finish(wall)
	fmt.Fprintf(out, "lookups: %d at concurrency 1 in %s\n", n, wall.Round(time.Millisecond))
}

// floorServer is a bare handler answering every request with body, and a client of
// it through the lookups' own HTTP client.
func floorServer(sc *scimClient, body []byte) (*httptest.Server, *scimClient) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write(body)
	}))
	return srv, &scimClient{base: srv.URL, token: "x", http: sc.http}
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
