package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/testenv"
	"github.com/scim-operator/scim-operator/internal/token"
)

const (
	tenantNamespace = "loadtest"
	tenantName      = "loadtest"
	// managerGrace is the time a stopping manager gets, as the chart's pod does.
	managerGrace = 30 * time.Second
)

// environment is a local control plane with the manager binary running against it.
type environment struct {
	env        *envtest.Environment
	dir        string
	kubeconfig string
	tenantURL  string
	token      string
	firstReady time.Duration
	// metricsAddr serves the manager's metrics over plain HTTP on localhost: the
	// tool reads its work queues and memory from them.
	metricsAddr string
	mgr         *process
	// settled and heapInUse are measured once the controllers caught up.
	settled   time.Duration
	heapInUse float64
	// peakRSS is the manager's, read when pause stopped it.
	peakRSS float64
}

// pause stops the manager, keeping its peak memory, until measure restarts it.
func (e *environment) pause() {
	e.peakRSS = e.mgr.peakRSSMiB()
	e.mgr.stop(managerGrace)
}

type process struct {
	cmd       *exec.Cmd
	probeAddr string
	// done is closed when the process has exited, with err its exit.
	done chan struct{}
	err  error
}

func startEnvironment(ctx context.Context, cfg config) (*environment, error) {
	env, restCfg, err := testenv.StartWith(testenv.Options{})
	if err != nil {
		return nil, err
	}
	e := &environment{env: env}
	if e.dir, err = os.MkdirTemp("", "loadtest"); err != nil {
		return e, err
	}
	admin, err := env.AddUser(envtest.User{Name: "loadtest-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return e, err
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return e, err
	}
	e.kubeconfig = filepath.Join(e.dir, "kubeconfig")
	if err := os.WriteFile(e.kubeconfig, kc, 0o600); err != nil {
		return e, err
	}
	bin := filepath.Join(e.dir, "scim-operator")
	build := exec.Command("go", "build", "-o", bin, "./cmd/scim-operator")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return e, fmt.Errorf("building the manager: %v\n%s", err, out)
	}
	scimAddr := testenv.FreeAddr()
	e.tenantURL = "http://" + scimAddr + "/scim/" + tenantNamespace + "/" + tenantName + "/v2"
	e.metricsAddr = testenv.FreeAddr()
	args := append([]string{"--scim-bind-address=" + scimAddr, "--metrics-bind-address=" + e.metricsAddr, "--metrics-secure=false",
		"--external-url=http://" + scimAddr,
		// Capacity is measured, not the per-tenant rate limit (200/s by default).
		"--scim-requests-per-second=1000000"}, cfg.managerArgs...)
	start := time.Now()
	if e.mgr, err = startManager(bin, args, e.kubeconfig, e.dir); err != nil {
		return e, err
	}
	if err := e.mgr.waitReady(cfg.managerReadyTimeout); err != nil {
		return e, err
	}
	e.firstReady = time.Since(start)

	c, err := client.New(restCfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return e, err
	}
	e.token = "scimop_loadtest-token-0000000000000000000"
	tenant := testenv.Tenant(tenantNamespace, tenantName)
	for _, o := range []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenantNamespace}},
		token.NewSecret(tenantNamespace, tenantName+"-token", tenantName, e.token), tenant} {
		if err := c.Create(ctx, o); err != nil {
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

func startManager(bin string, args []string, kubeconfig, dir string) (*process, error) {
	p := &process{probeAddr: testenv.FreeAddr(), done: make(chan struct{})}
	p.cmd = exec.Command(bin, append(args, "--health-probe-bind-address="+p.probeAddr)...)
	p.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("manager-%d.log", time.Now().UnixNano())))
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = p.cmd.Wait(); _ = logFile.Close(); close(p.done) }()
	return p, nil
}

func (p *process) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if resp, err := http.Get("http://" + p.probeAddr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("the manager exited: %v", p.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager was not ready within %s", timeout)
		}
	}
}

// peakRSSMiB is the process's high-water mark of resident memory (VmHWM).
func (p *process) peakRSSMiB() float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close() //nolint:errcheck // read-only
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func (p *process) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// measure reads the manager's peak memory after the run, then restarts it over
// everything the run created and times it until ready (caches synced).
func (e *environment) measure(cfg config, out io.Writer) *managerFigures {
	m := &managerFigures{ReadyEmptySeconds: e.firstReady.Seconds(), PeakRSSMiB: e.peakRSS,
		SettleSeconds: e.settled.Seconds(), HeapInUseMiB: e.heapInUse / (1 << 20)}
	if !cfg.measureRestart {
		return m
	}
	bin, args := e.mgr.cmd.Path, e.mgr.cmd.Args[1:len(e.mgr.cmd.Args)-1]
	start := time.Now()
	var err error
	if e.mgr, err = startManager(bin, args, e.kubeconfig, e.dir); err != nil {
		fmt.Fprintf(out, "restarting the manager: %v\n", err)
		return m
	}
	if err := e.mgr.waitReady(cfg.managerReadyTimeout); err != nil {
		fmt.Fprintf(out, "restarted manager: %v\n", err)
		return m
	}
	m.RestartReadySeconds = time.Since(start).Seconds()
	// Let the restarted controllers go through every identity once, then read memory.
	time.Sleep(30 * time.Second)
	m.RestartPeakRSSMiB = e.mgr.peakRSSMiB()
	m.ObjectsAtRestart = cfg.users*2 + cfg.groups // the cycle's users and groups, and the ceiling's users
	return m
}

func (e *environment) stop() {
	if e.mgr != nil {
		e.mgr.stop(managerGrace)
	}
	if e.env != nil {
		_ = e.env.Stop()
	}
	if e.dir != "" && os.Getenv("LOADTEST_KEEP") == "" {
		_ = os.RemoveAll(e.dir)
	}
}
