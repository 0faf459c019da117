// Command loadtest replays an Entra ID-like provisioning cycle against a SCIM tenant and
// measures it against two baselines taken in the same run: the API server's own write
// ceiling (the same ScimUsers written straight with a controller-runtime client) and
// the HTTP floor (a bare net/http handler in a process of its own answering with a
// lookup's response, measured in blocks alternating with the lookups). With --embedded it also
// compares SCIM creates with direct writes while the controllers reconcile both, and creates
// users on a replica that runs no controllers, to tell the SCIM server's cost from theirs.
//
// With --embedded it starts everything itself: a local control plane (the envtest
// binaries `make k8s-binaries` provides), the manager binary as a process of its own
// (so that its memory is its own), a tenant and a token. See `make loadtest`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

type config struct {
	url, token          string
	users, groups       int
	members, batch      int
	concurrency         int
	embedded            bool
	jsonOut             string
	baselineKubeconfig  string
	baselineNamespace   string
	managerArgs         []string
	managerMemoryLimit  string
	deactivateEveryNth  int
	skipIncremental     bool
	measureRestart      bool
	lookupSample        int
	lookupRate          float64
	pacedFor            time.Duration
	yieldingNice        int
	followerUsers       int
	directUsers         int
	requestTimeout      time.Duration
	managerReadyTimeout time.Duration
	settleTimeout       time.Duration
	compareRestarts     []string
	compareRounds       int
	apiServerProfileDir string
	apiServerProfileFor time.Duration
	// apiServerConsistencyChecks leaves the API server's periodic checks of its watch
	// cache on, as Kubernetes 1.34 and later has them.
	apiServerConsistencyChecks bool
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == floorServeArg {
		if err := serveFloor(); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest: the HTTP floor:", err)
			os.Exit(1)
		}
		return
	}
	cfg := config{}
	flag.StringVar(&cfg.url, "url", "", "Tenant URL (…/scim/NAMESPACE/TENANT/v2); not with --embedded.")
	flag.StringVar(&cfg.token, "token", "", "Bearer token of the tenant; not with --embedded.")
	flag.IntVar(&cfg.users, "users", 10000, "Users to provision.")
	flag.IntVar(&cfg.groups, "groups", 100, "Groups to create and fill.")
	flag.IntVar(&cfg.members, "members", 1000, "Members per group.")
	flag.IntVar(&cfg.batch, "batch", 1000, "Members per group PATCH (Entra ID sends batches of members).")
	flag.IntVar(&cfg.concurrency, "concurrency", 25, "Concurrent requests (Entra ID's is about 25 per tenant).")
	flag.BoolVar(&cfg.embedded, "embedded", false, "Start a local control plane, the manager and a tenant.")
	flag.StringVar(&cfg.jsonOut, "json", "", "Also write the results as JSON to this file.")
	flag.StringVar(&cfg.baselineKubeconfig, "baseline-kubeconfig", "", "Kubeconfig for the direct-write ceiling (default: $KUBECONFIG; with --embedded: the local control plane).")
	flag.StringVar(&cfg.baselineNamespace, "baseline-namespace", "loadtest-baseline", "Namespace the ceiling's ScimUsers are written to.")
	flag.IntVar(&cfg.deactivateEveryNth, "deactivate-every", 10, "The incremental cycle deactivates every Nth user.")
	flag.BoolVar(&cfg.skipIncremental, "skip-incremental", false, "Only the initial cycle.")
	flag.StringVar(&cfg.managerMemoryLimit, "manager-memory-limit", "", "With --embedded: run the manager as under a container memory limit (e.g. 1Gi, the chart's default): the runtime aims at 90% of it, as the chart's pod does.")
	flag.BoolVar(&cfg.measureRestart, "restart", true, "With --embedded: restart the manager over what the cycle provisioned and time it until ready.")
	flag.IntVar(&cfg.lookupSample, "lookups", 5000, "userName lookups of existing users measured once all exist.")
	flag.Float64Var(&cfg.lookupRate, "lookup-rate", 5000, "The lookups of existing users are measured again sent at this pace (a second, at most --concurrency at a time), beside the floor at the same pace; 0 skips.")
	flag.DurationVar(&cfg.pacedFor, "paced-for", time.Minute, "How long the paced lookups, and the floor at the same pace, each run.")
	flag.IntVar(&cfg.yieldingNice, "yielding-nice", 0, "With --embedded: also measure the paced lookups with the manager's threads at this nice value (e.g. 10), so that the load tool and the control plane get the shared cores first (putting it back takes CAP_SYS_NICE, as root has); 0 skips. At 100,000 users it made the tail 15 times longer: the manager's collections need the cores more than the load tool's requests take them.")
	flag.IntVar(&cfg.directUsers, "direct-users", 10000, "With --embedded: users then created through SCIM, and as many written straight to the API server, in alternating blocks with the controllers reconciling both; at most --users, fewer than 4 skips.")
	flag.IntVar(&cfg.followerUsers, "follower-users", 10000, "With --embedded: users then created on a replica that is not the leader (no controllers), compared with the ceiling too; at most --users, 0 skips.")
	flag.DurationVar(&cfg.requestTimeout, "request-timeout", 60*time.Second, "Timeout of one request.")
	flag.DurationVar(&cfg.settleTimeout, "settle-timeout", 30*time.Minute, "With --embedded: how long the controllers may take to catch up after the cycles.")
	flag.DurationVar(&cfg.managerReadyTimeout, "ready-timeout", 10*time.Minute, "With --embedded: how long the manager may take to be ready.")
	flag.Func("compare-restarts", "With --embedded: after the run, restart each of these manager binaries (comma-separated paths) in turn over the same state and time each until ready, e.g. a build of main against one of a branch.", func(v string) error {
		cfg.compareRestarts = strings.Split(v, ",")
		return nil
	})
	flag.IntVar(&cfg.compareRounds, "compare-rounds", 3, "With --compare-restarts: rounds of one restart per binary.")
	flag.StringVar(&cfg.apiServerProfileDir, "apiserver-profile-dir", "", "With --embedded: write a CPU profile of the API server over each restart of the manager into this folder.")
	flag.BoolVar(&cfg.apiServerConsistencyChecks, "apiserver-consistency-checks", true, "With --embedded: leave on the API server's periodic consistency checks of its watch cache (Kubernetes' default since 1.34). Each lists every object of a resource from etcd, about 23 CPU-seconds at 100,000 ScimUsers, on the cores the manager and the tool share here; off, the figures are the operator's own, as on a cluster whose control plane has cores of its own.")
	flag.DurationVar(&cfg.apiServerProfileFor, "apiserver-profile-for", 60*time.Second, "With --apiserver-profile-dir: how long each profile runs from the manager's start.")
	flag.Parse()
	// The client libraries log through controller-runtime; the tool prints its own figures.
	ctrllog.SetLogger(logr.Discard())
	cfg.managerArgs = flag.Args()
	if err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	var env *environment
	if cfg.embedded {
		var err error
		if env, err = startEnvironment(ctx, cfg); err != nil {
			return err
		}
		defer env.stop()
		// An interrupted run must not leave kube-apiserver, etcd and the manager behind.
		go func() {
			signals := make(chan os.Signal, 1)
			signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
			<-signals
			env.stop()
			os.Exit(130)
		}()
		cfg.url, cfg.token, cfg.baselineKubeconfig = env.tenantURL, env.token, env.kubeconfig
		fmt.Fprintf(out, "manager on the empty cluster: %s\n", env.firstStart)
	}
	if cfg.url == "" || cfg.token == "" {
		return fmt.Errorf("--url and --token are required without --embedded")
	}
	res := &results{Config: resultConfig{Users: cfg.users, Groups: cfg.groups, Members: cfg.members, Concurrency: cfg.concurrency, Batch: cfg.batch,
		ManagerMemoryLimit: cfg.managerMemoryLimit}}
	sc := newSCIMClient(cfg)
	userIDs := initialCycle(ctx, cfg, sc, res, out)
	if !cfg.skipIncremental {
		incrementalCycle(ctx, cfg, sc, userIDs, res, out)
	}
	if env != nil {
		// Lookups and the ceiling are measured once the reconcilers have caught up, so
		// that neither competes with them for the API server and the cores.
		if err := env.settle(ctx, cfg.settleTimeout); err != nil {
			return err
		}
		fmt.Fprintf(out, "controllers caught up %s after the last request\n", env.settled.Round(100*time.Millisecond))
	}
	var manager managerWatch
	if env != nil {
		manager = env.watchManager(ctx)
	}
	lookupsAtScale(ctx, cfg, sc, manager, res, out)
	if env != nil {
		// The restart is timed over what the identity provider provisioned, before the
		// ceiling adds as many users again; and the ceiling is the API server's alone: a
		// running manager would reconcile the ceiling's users and take its share of it.
		env.pause()
		res.Manager = env.measure(ctx, cfg, out)
		if len(cfg.compareRestarts) > 0 {
			res.Manager.RestartComparison = env.compareRestarts(ctx, cfg.compareRestarts, cfg.compareRounds, cfg.managerReadyTimeout, out)
		}
		// After the restarts, which it would add users to reconcile to.
		from := cfg.users
		if n := min(cfg.directUsers, cfg.users); n >= besideBlocks {
			if err := env.createBesideDirectWrites(ctx, cfg, sc, from, n, res, out); err != nil {
				return err
			}
			from += 2 * n
		}
		if n := min(cfg.followerUsers, cfg.users); n > 0 {
			if err := env.createOnFollower(ctx, cfg, sc, from, n, res, out); err != nil {
				return err
			}
		}
	}
	if err := writeCeiling(ctx, cfg, res, out); err != nil {
		return err
	}
	res.print(out)
	if cfg.jsonOut != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(cfg.jsonOut, b, 0o644)
	}
	return nil
}
