package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/memlimit"
	"github.com/scim-operator/scim-operator/internal/testenv"
	"github.com/scim-operator/scim-operator/internal/token"
)

const (
	tenantNamespace = "loadtest"
	tenantName      = "loadtest"
	// managerGrace is the time a stopping manager gets, as the chart's pod does.
	managerGrace = 30 * time.Second
	// restartWalk is how long a restarted manager's controllers are given to go through
	// every identity once before its memory is read again.
	restartWalk = 30 * time.Second
)

// environment is a local control plane with the manager binary running against it.
type environment struct {
	env        *envtest.Environment
	client     client.Client
	dir        string
	kubeconfig string
	tenantURL  string
	token      string
	// firstStart is the manager's start on the empty cluster.
	firstStart restartFigures
	// metricsAddr serves the manager's metrics over plain HTTP on localhost: the
	// tool reads its work queues and memory from them.
	metricsAddr string
	mgr         *testenv.Process
	// managerBin and managerArgs are how the manager is started, and restarted.
	managerBin  string
	managerArgs []string
	// managerEnv is added to the manager's environment: its memory limit.
	managerEnv []string
	// settled and heapInUse are measured once the controllers caught up.
	settled   time.Duration
	heapInUse float64
	// apiServerPID and etcdPID are the control plane's processes, whose CPU a restart
	// costs too; zero when not found.
	apiServerPID, etcdPID int
	apiServer             *apiServer
	// peakRSS is the manager's, read when pause stopped it.
	peakRSS float64
}

// pause stops the manager, keeping its peak memory; measure then restarts it.
func (e *environment) pause() {
	e.peakRSS = e.mgr.PeakRSSMiB()
	e.mgr.Stop(managerGrace)
}

func startEnvironment(ctx context.Context, cfg config) (*environment, error) {
	var apiServerFlags map[string]string
	if !cfg.apiServerConsistencyChecks {
		apiServerFlags = map[string]string{"feature-gates": "DetectCacheInconsistency=false"}
	}
	env, restCfg, err := testenv.StartWith(testenv.Options{APIServerFlags: apiServerFlags})
	if err != nil {
		return nil, err
	}
	e := &environment{env: env}
	// The API server is envtest's process: found by the port it serves on.
	if u, err := url.Parse(restCfg.Host); err == nil {
		e.apiServerPID, _ = testenv.FindProcess("--secure-port=" + u.Port())
	}
	if etcd := env.ControlPlane.Etcd; etcd != nil && etcd.URL != nil {
		e.etcdPID, _ = testenv.FindProcess("--listen-client-urls=" + etcd.URL.String())
	}
	if e.apiServer, err = newAPIServer(restCfg, cfg.apiServerProfileDir, cfg.apiServerProfileFor); err != nil {
		return e, err
	}
	if e.dir, err = os.MkdirTemp("", "loadtest"); err != nil {
		return e, err
	}
	if e.kubeconfig, err = testenv.AdminKubeconfig(env, "loadtest-admin", e.dir); err != nil {
		return e, err
	}
	if e.managerBin, err = testenv.BuildManager(e.dir); err != nil {
		return e, err
	}
	if cfg.managerMemoryLimit != "" {
		limit, err := resource.ParseQuantity(cfg.managerMemoryLimit)
		if err != nil {
			return e, fmt.Errorf("--manager-memory-limit: %w", err)
		}
		// What internal/memlimit makes of a container limit, without a cgroup here.
		e.managerEnv = []string{"GOMEMLIMIT=" + strconv.FormatInt(int64(float64(limit.Value())*memlimit.Fraction), 10)}
	}
	scimAddr := testenv.FreeAddr()
	e.tenantURL = "http://" + scimAddr + "/scim/" + tenantNamespace + "/" + tenantName + "/v2"
	e.metricsAddr = testenv.FreeAddr()
	e.managerArgs = append([]string{"--scim-bind-address=" + scimAddr, "--metrics-bind-address=" + e.metricsAddr, "--metrics-secure=false",
		"--external-url=http://" + scimAddr,
		// Capacity is measured, not the per-tenant rate limit (200/s by default).
		"--scim-requests-per-second=1000000"}, cfg.managerArgs...)
	if e.mgr, e.firstStart, err = e.startManager(ctx, "", e.managerBin, cfg.managerReadyTimeout, io.Discard); err != nil {
		return e, err
	}

	if e.client, err = client.New(restCfg, client.Options{Scheme: manager.Scheme()}); err != nil {
		return e, err
	}
	e.token = "scimop_loadtest-token-0000000000000000000"
	tenant := testenv.Tenant(tenantNamespace, tenantName)
	for _, o := range []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenantNamespace}},
		token.NewSecret(tenantNamespace, tenantName+"-token", tenantName, e.token), tenant} {
		if err := e.client.Create(ctx, o); err != nil {
			return e, err
		}
	}
	// The tenant answers once the manager's cache has it and its token.
	sc := newSCIMClient(config{url: e.tenantURL, token: e.token, concurrency: 1, requestTimeout: 10 * time.Second})
	deadline := time.Now().Add(time.Minute)
	for sc.do(ctx, http.MethodGet, "/ServiceProviderConfig", nil, http.StatusOK, nil) != nil {
		if time.Now().After(deadline) {
			return e, fmt.Errorf("tenant %s/%s never answered", tenantNamespace, tenantName)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return e, nil
}

// measure reads the manager's peak memory after the run, then restarts it over
// everything the run created and times it until ready (caches synced).
func (e *environment) measure(ctx context.Context, cfg config, out io.Writer) *managerFigures {
	m := &managerFigures{ReadyEmptySeconds: e.firstStart.ReadySeconds, PeakRSSMiB: e.peakRSS,
		SettleSeconds: e.settled.Seconds(), HeapInUseMiB: e.heapInUse / (1 << 20)}
	if !cfg.measureRestart {
		return m
	}
	var restart restartFigures
	var err error
	e.mgr, restart, err = e.startManager(ctx, "restart", e.managerBin, cfg.managerReadyTimeout, out)
	if e.mgr != nil {
		defer e.mgr.Stop(managerGrace)
	}
	if err != nil {
		fmt.Fprintf(out, "restarted manager: %v\n", err)
		return m
	}
	restart.PeakRSSMiB = e.mgr.PeakRSSMiB()
	e.walk(ctx, &restart)
	restart.PeakRSSThroughMiB = e.mgr.PeakRSSMiB()
	m.Restart = &restart
	m.ObjectsAtRestart = cfg.users + cfg.groups
	fmt.Fprintf(out, "restarted over %d identities: %s\n", m.ObjectsAtRestart, restart)
	fmt.Fprintf(out, "  %s\n", restart.apiServerCounts())
	return m
}

// walk gives a restarted manager's controllers restartWalk to go through every
// identity, and adds to r what the API server counted meanwhile.
func (e *environment) walk(ctx context.Context, r *restartFigures) {
	before, err := e.apiServer.counts(ctx)
	time.Sleep(restartWalk)
	if after, errAfter := e.apiServer.counts(ctx); err == nil && errAfter == nil {
		r.APIServerWalking = after.since(before)
	}
	e.apiServer.waitProfiles()
}

// startManager starts bin with the manager's arguments, and extra ones, and waits until
// it is ready. It returns the process also when it did not get ready, for the caller
// to stop. A start with a profile name is profiled on the API server, when asked for.
func (e *environment) startManager(ctx context.Context, profile, bin string, readyTimeout time.Duration, out io.Writer, extra ...string) (*testenv.Process, restartFigures, error) {
	apiServerBefore, etcdBefore := cpuSeconds(e.apiServerPID), cpuSeconds(e.etcdPID)
	countsBefore, countsErr := e.apiServer.counts(ctx)
	if profile != "" {
		e.apiServer.profile(ctx, profile+".pprof", out)
	}
	start := time.Now()
	p, err := testenv.StartProcessWithEnv(bin, append(slices.Clip(e.managerArgs), extra...), e.managerEnv, e.kubeconfig, e.dir)
	if err != nil {
		return nil, restartFigures{}, err
	}
	if err := p.WaitReady(readyTimeout); err != nil {
		return p, restartFigures{}, err
	}
	r := restartFigures{ReadySeconds: time.Since(start).Seconds()}
	if cpu, err := testenv.CPUSeconds(p.Cmd.Process.Pid); err == nil {
		r.ManagerCPUSeconds = cpu
	}
	if apiServerBefore > 0 {
		r.APIServerCPUSeconds = cpuSeconds(e.apiServerPID) - apiServerBefore
	}
	if etcdBefore > 0 {
		r.EtcdCPUSeconds = cpuSeconds(e.etcdPID) - etcdBefore
	}
	if after, err := e.apiServer.counts(ctx); err == nil && countsErr == nil {
		r.APIServer = after.since(countsBefore)
	}
	return p, r, nil
}

// cpuSeconds is the CPU a process has used, zero when it is not known.
func cpuSeconds(pid int) float64 {
	if pid == 0 {
		return 0
	}
	cpu, err := testenv.CPUSeconds(pid)
	if err != nil {
		return 0
	}
	return cpu
}

func (e *environment) stop() {
	if e.mgr != nil {
		e.mgr.Stop(managerGrace)
	}
	if e.env != nil {
		_ = e.env.Stop()
	}
	if e.dir != "" && os.Getenv("LOADTEST_KEEP") == "" {
		_ = os.RemoveAll(e.dir)
	}
}
