package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/testenv"
	"github.com/scim-operator/scim-operator/internal/token"
)

const (
	namespace       = "chaos"
	tenantName      = "chaos"
	appName         = "webhook-app"
	leaseNamespace  = "chaos-system"
	bearer          = "scimop_chaos-token-000000000000000000000000"
	webhookSecret   = "chaos-webhook-secret"
	managerGrace    = 40 * time.Second // the chart's terminationGracePeriodSeconds
	replicas        = 2
	managerReadyMax = 2 * time.Minute
)

// cluster is a local control plane with two manager processes against it, as the
// chart runs them: both serve SCIM, one leads the controllers.
type cluster struct {
	env        *envtest.Environment
	restCfg    *rest.Config
	client     client.Client
	dir        string
	kubeconfig string
	bin        string

	mu        sync.Mutex
	managers  [replicas]*testenv.Process
	scimAddrs [replicas]string
	// restartDelay is how long the supervisor waits before starting an exited
	// replica again; a fault sets it for the kill it causes.
	restartDelay [replicas]time.Duration
	// selfExits counts replicas that exited on their own (a lost leader election
	// ends the process, and the kubelet starts it again).
	selfExits int
	stopping  bool
	// apiServer is the kube-apiserver this tool restarted, once it has restarted one.
	apiServer *exec.Cmd
	// ready is what each replica's readiness probe says.
	ready [replicas]bool
	// terminating marks a replica being stopped, which a Service stops routing to
	// whatever its probe says.
	terminating [replicas]bool
}

const (
	// endpointLag is how often readiness is probed, and how long a Service takes to
	// stop routing to a terminating pod.
	endpointLag = 250 * time.Millisecond
	// probeTimeout and probeFailures are the kubelet's defaults: a slow answer is
	// not at once a pod taken out of the Service.
	probeTimeout  = time.Second
	probeFailures = 3
)

// watchReadiness probes replica i's /readyz, as the kubelet does for a Service's endpoints.
func (c *cluster) watchReadiness(i int) {
	probe := &http.Client{Timeout: probeTimeout}
	failures := 0
	for {
		c.mu.Lock()
		stopping, addr := c.stopping, c.managers[i].ProbeAddr
		c.mu.Unlock()
		if stopping {
			return
		}
		ok := false
		if resp, err := probe.Get("http://" + addr + "/readyz"); err == nil {
			ok = resp.StatusCode == http.StatusOK
			_ = resp.Body.Close()
		}
		if ok {
			failures = 0
		} else {
			failures++
		}
		c.mu.Lock()
		if ok || failures >= probeFailures {
			c.ready[i] = ok
		}
		c.mu.Unlock()
		time.Sleep(endpointLag)
	}
}

// waitAllReady waits until every replica's readiness probe passes.
func (c *cluster) waitAllReady(timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(endpointLag) {
		c.mu.Lock()
		all := !slices.Contains(c.ready[:], false)
		c.mu.Unlock()
		if all {
			return nil
		}
	}
	return fmt.Errorf("the replicas were not all ready within %s", timeout)
}

// endpoints are the SCIM addresses of the ready replicas, as a Service routes; all of
// them while none is ready, so that clients see the outage rather than hang.
func (c *cluster) endpoints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for i, ok := range c.ready {
		if ok && !c.terminating[i] {
			out = append(out, c.scimAddrs[i])
		}
	}
	if len(out) == 0 {
		return c.scimAddrs[:]
	}
	return out
}

func startCluster(ctx context.Context, bin, dir, receiverURL string) (*cluster, error) {
	env, restCfg, err := testenv.StartWith(testenv.Options{})
	if err != nil {
		return nil, err
	}
	c := &cluster{env: env, restCfg: restCfg, dir: dir, bin: bin}
	if c.kubeconfig, err = testenv.AdminKubeconfig(env, "chaos-admin", dir); err != nil {
		return c, err
	}
	if c.client, err = client.New(restCfg, client.Options{Scheme: manager.Scheme()}); err != nil {
		return c, err
	}
	app := &identityv1alpha1.DownstreamApp{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: appName},
		Spec: identityv1alpha1.DownstreamAppSpec{
			TenantRef: identityv1alpha1.TenantReference{Name: tenantName},
			Scope:     identityv1alpha1.AppScope{Type: identityv1alpha1.ScopeAllUsers},
			Webhook: &identityv1alpha1.WebhookConnector{URL: receiverURL, Timeout: "2s",
				SecretRef: identityv1alpha1.SecretReference{Name: appName + "-secret"}},
		}}
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: leaseNamespace}},
		token.NewSecret(namespace, tenantName+"-token", tenantName, bearer),
		testenv.Tenant(namespace, tenantName),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: appName + "-secret"},
			StringData: map[string]string{"secret": webhookSecret}},
		app,
	} {
		if err := c.client.Create(ctx, o); err != nil {
			return c, err
		}
	}
	for i := range replicas {
		c.scimAddrs[i] = testenv.FreeAddr()
		if err := c.startManager(i); err != nil {
			return c, err
		}
		go c.supervise(i)
		go c.watchReadiness(i)
	}
	for i := range replicas {
		if err := c.manager(i).WaitReady(managerReadyMax); err != nil {
			return c, fmt.Errorf("manager %d: %w", i, err)
		}
	}
	return c, nil
}

// startManager starts replica i with the chart's arguments.
func (c *cluster) startManager(i int) error {
	args := []string{"--scim-bind-address=" + c.scimAddrs[i], "--metrics-bind-address=0", "--leader-elect",
		"--leader-election-namespace=" + leaseNamespace, "--external-url=http://chaos.example"}
	p, err := testenv.StartProcess(c.bin, args, c.kubeconfig, c.dir)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.managers[i] = p
	c.terminating[i] = false
	c.ready[i] = false
	c.mu.Unlock()
	return nil
}

func (c *cluster) manager(i int) *testenv.Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.managers[i]
}

// leader is the replica whose process acquired the leader election Lease, or -1.
func (c *cluster) leader() int {
	for i := range replicas {
		p := c.manager(i)
		select {
		case <-p.Exited():
			continue
		default:
		}
		if log, err := os.ReadFile(p.LogPath); err == nil && bytes.Contains(bytes.ToLower(log), []byte("successfully acquired lease")) {
			return i
		}
	}
	return -1
}

// supervise starts replica i again whenever it exits, as the kubelet restarts a
// container: after a fault's kill, or on its own (a replica that loses the leader
// election, for instance while the API server is down, exits).
func (c *cluster) supervise(i int) {
	for {
		p := c.manager(i)
		<-p.Exited()
		c.mu.Lock()
		if c.stopping {
			c.mu.Unlock()
			return
		}
		delay := c.restartDelay[i]
		if delay == 0 {
			c.selfExits++
			delay = time.Second
		}
		c.restartDelay[i] = 0
		c.mu.Unlock()
		time.Sleep(delay)
		for c.startManager(i) != nil {
			time.Sleep(time.Second)
		}
	}
}

// killAndRestart SIGKILLs replica i, as a node failure would, and waits until the
// supervisor has started it again down later and it is ready.
func (c *cluster) killAndRestart(i int, down time.Duration) error {
	victim := c.manager(i)
	c.mu.Lock()
	c.restartDelay[i] = down
	c.mu.Unlock()
	victim.Kill()
	for c.manager(i) == victim {
		time.Sleep(50 * time.Millisecond)
	}
	return c.manager(i).WaitReady(managerReadyMax)
}

// stopGracefully stops replica i as a rolling update or a drained node does: SIGTERM,
// then up to the grace period to finish its requests and exit. The supervisor starts it
// again; stopGracefully waits until it is ready. It returns how the old process ended
// (nil: by itself, with status 0, within the grace period).
func (c *cluster) stopGracefully(i int) (ended error, err error) {
	victim := c.manager(i)
	c.mu.Lock()
	c.restartDelay[i] = time.Second
	c.mu.Unlock()
	time.AfterFunc(endpointLag, func() {
		c.mu.Lock()
		c.terminating[i] = c.managers[i] == victim
		c.mu.Unlock()
	})
	ended = victim.Stop(managerGrace)
	for c.manager(i) == victim {
		time.Sleep(50 * time.Millisecond)
	}
	return ended, c.manager(i).WaitReady(managerReadyMax)
}

// restartAPIServer kills kube-apiserver (a crash: a graceful stop would first drain
// its watches for up to a minute), keeps it down for down, and starts it again with the
// same arguments, port and certificates, so that every client reconnects to the same URL.
func (c *cluster) restartAPIServer(down time.Duration) error {
	pid, args, err := c.apiServerProcess()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	for processAlive(pid) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(down)
	logFile, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("kube-apiserver-%d.log", time.Now().UnixNano())))
	if err != nil {
		return err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait(); _ = logFile.Close() }()
	c.mu.Lock()
	c.apiServer = cmd
	c.mu.Unlock()
	return nil
}

// apiServerProcess finds the running kube-apiserver serving this cluster's port.
func (c *cluster) apiServerProcess() (int, []string, error) {
	u, err := url.Parse(c.restCfg.Host)
	if err != nil {
		return 0, nil, err
	}
	portArg := "--secure-port=" + u.Port()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if strings.HasSuffix(args[0], "kube-apiserver") && slices.Contains(args, portArg) {
			return pid, args, nil
		}
	}
	return 0, nil, fmt.Errorf("no kube-apiserver with %s", portArg)
}

func processAlive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	// A process that exited but was not yet reaped is a zombie ("Z"): gone for us.
	return err == nil && !strings.Contains(string(raw), ") Z ")
}

// waitAPIServer waits until the API server answers again.
func (c *cluster) waitAPIServer(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := c.client.Get(ctx, client.ObjectKey{Name: namespace}, &corev1.Namespace{}); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("the API server did not come back: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *cluster) stop() {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	for i := range replicas {
		if p := c.manager(i); p != nil {
			p.Stop(managerGrace)
		}
	}
	c.mu.Lock()
	restarted := c.apiServer
	c.mu.Unlock()
	if restarted != nil && restarted.Process != nil {
		_ = restarted.Process.Signal(syscall.SIGTERM)
		for deadline := time.Now().Add(30 * time.Second); processAlive(restarted.Process.Pid) && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		_ = restarted.Process.Kill()
	}
	if c.env != nil {
		_ = c.env.Stop()
	}
}
