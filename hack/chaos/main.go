// Command chaos runs an Entra ID-like cycle against two manager replicas behind a
// round-robin proxy while it kills the leader and the other replica, stops
// kube-apiserver, makes a webhook app fail and hang, and races creates through both
// replicas; then it checks, against the API server and the app, that nothing the
// identity provider was told was lost or duplicated (`make chaos`).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scim-operator/scim-operator/internal/testenv"
)

type config struct {
	seeds       []uint64
	users       int
	workers     int
	perSecond   float64
	rounds      int
	convergeMax time.Duration
}

func main() {
	var cfg config
	var seeds string
	flag.StringVar(&seeds, "seeds", "1,2,3", "Comma-separated seeds: each is one run with its own control plane and fault schedule.")
	flag.IntVar(&cfg.users, "users", 300, "Users the identity provider provisions per run.")
	flag.IntVar(&cfg.workers, "workers", 10, "Concurrent requests.")
	flag.Float64Var(&cfg.perSecond, "rate", 25, "Requests per second at most, Entra ID's pace.")
	flag.IntVar(&cfg.rounds, "rounds", 1, "Times each kind of fault is injected per run.")
	flag.DurationVar(&cfg.convergeMax, "converge-timeout", 3*time.Minute, "How long the operator may take to converge after the last fault.")
	flag.Parse()
	for _, s := range strings.Split(seeds, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "chaos: seed %q: %v\n", s, err)
			os.Exit(2)
		}
		cfg.seeds = append(cfg.seeds, n)
	}
	ctrllog.SetLogger(logr.Discard())
	os.Exit(runAll(cfg, os.Stdout))
}

func runAll(cfg config, out io.Writer) int {
	dir, err := os.MkdirTemp("", "chaos")
	if err != nil {
		fmt.Fprintln(out, "chaos:", err)
		return 1
	}
	if os.Getenv("CHAOS_KEEP") == "" {
		defer os.RemoveAll(dir) //nolint:errcheck // a temporary directory
	}
	bin, err := testenv.BuildManager(dir)
	if err != nil {
		fmt.Fprintln(out, "chaos:", err)
		return 1
	}
	var reports []*report
	failed := false
	for _, seed := range cfg.seeds {
		fmt.Fprintf(out, "seed %d\n", seed)
		rep, err := runSeed(cfg, seed, bin, dir, out)
		if err != nil {
			fmt.Fprintf(out, "seed %d: %v\n", seed, err)
			failed = true
		}
		if rep != nil {
			reports = append(reports, rep)
			failed = failed || !rep.passed()
		}
	}
	printReports(out, reports)
	if failed {
		fmt.Fprintln(out, "\nFAIL")
		return 1
	}
	fmt.Fprintln(out, "\nPASS")
	return 0
}

func runSeed(cfg config, seed uint64, bin, parent string, out io.Writer) (*report, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp(parent, fmt.Sprintf("seed-%d-", seed))
	if err != nil {
		return nil, err
	}
	rcv, err := startReceiver()
	if err != nil {
		return nil, err
	}
	defer rcv.close()
	c, err := startCluster(ctx, bin, dir, rcv.url)
	if c != nil {
		defer c.stop()
		// An interrupted run must not leave the control plane and managers behind.
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
		defer func() { signal.Stop(signals); close(signals) }()
		go func() {
			if _, ok := <-signals; ok {
				c.stop()
				os.Exit(130)
			}
		}()
	}
	if err != nil {
		return nil, err
	}
	px, err := startProxy("127.0.0.1:0", c.endpoints)
	if err != nil {
		return nil, err
	}
	defer px.close()

	d := newDriver(px.addr(), c.scimAddrs[:], cfg.users, seed, cfg.perSecond)
	in := newInjector(c, rcv, &d.tally, seed, out)
	faultsDone := make(chan struct{})
	faultErr := make(chan error, 1)
	go func() { faultErr <- in.run(ctx, cfg.rounds, faultsDone) }()
	start := time.Now()
	driveErr := d.run(ctx, cfg.workers, faultsDone)
	if err := <-faultErr; err != nil {
		return nil, fmt.Errorf("injecting faults: %w", err)
	}
	fmt.Fprintf(out, "  cycle done in %s\n", time.Since(start).Round(time.Second))
	v, err := converge(ctx, c.client, d, rcv, cfg.convergeMax)
	if err != nil {
		return nil, err
	}
	rep := &report{seed: seed, faults: in.applied, driver: &d.tally, verdict: v, forged: rcv.forgedCount(),
		convergence: time.Since(in.lastEnded) - stableFor, driveErr: driveErr, drain: in.drain, groups: len(d.groups)}
	rep.faults[duplicateCreates] = int(d.tally.duplicateCreates.Load())
	c.mu.Lock()
	rep.selfExits = c.selfExits
	c.mu.Unlock()
	return rep, nil
}
