package testenv

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// BuildManager builds the manager binary into dir, for tools that run it as a
// process of its own (as the chart's pod runs it) rather than in their own.
func BuildManager(dir string) (string, error) {
	bin := filepath.Join(dir, "scim-operator")
	build := exec.Command("go", "build", "-o", bin, "./cmd/scim-operator")
	build.Dir = RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the manager: %v\n%s", err, out)
	}
	return bin, nil
}

// AdminKubeconfig writes a kubeconfig of a cluster administrator of env into dir.
func AdminKubeconfig(env *envtest.Environment, name, dir string) (string, error) {
	admin, err := env.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".kubeconfig")
	return path, os.WriteFile(path, kc, 0o600)
}

// Process is a running manager binary.
type Process struct {
	Cmd       *exec.Cmd
	ProbeAddr string
	// LogPath holds the process's output.
	LogPath string
	done    chan struct{}
	err     error
}

// StartProcess runs bin with args against kubeconfig, its output in a new file in
// logDir, and its probes on a free local port.
func StartProcess(bin string, args []string, kubeconfig, logDir string) (*Process, error) {
	return StartProcessWithEnv(bin, args, nil, kubeconfig, logDir)
}

// StartProcessWithEnv is StartProcess with variables (NAME=value) added to the
// process's environment alone, such as the GOMEMLIMIT a container limit gives it.
func StartProcessWithEnv(bin string, args, env []string, kubeconfig, logDir string) (*Process, error) {
	p := &Process{ProbeAddr: FreeAddr(), done: make(chan struct{}),
		LogPath: filepath.Join(logDir, fmt.Sprintf("manager-%d.log", time.Now().UnixNano()))}
	p.Cmd = exec.Command(bin, append(args, "--health-probe-bind-address="+p.ProbeAddr)...)
	p.Cmd.Env = append(append(os.Environ(), env...), "KUBECONFIG="+kubeconfig)
	logFile, err := os.Create(p.LogPath)
	if err != nil {
		return nil, err
	}
	p.Cmd.Stdout, p.Cmd.Stderr = logFile, logFile
	if err := p.Cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	go func() { p.err = p.Cmd.Wait(); _ = logFile.Close(); close(p.done) }()
	return p, nil
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// WaitReady waits until the process's /readyz answers 200 (its caches are synced).
func (p *Process) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if resp, err := http.Get("http://" + p.ProbeAddr + "/readyz"); err == nil {
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

// Stop sends SIGTERM, as the kubelet does, and waits up to grace for the exit, then
// kills the process. It returns how the process exited, or that it had to be killed.
func (p *Process) Stop(grace time.Duration) error {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		p.Kill()
		return fmt.Errorf("the process did not stop within %s and was killed", grace)
	}
}

// LogTail is the end of the process's output, for a failure message.
func (p *Process) LogTail() string {
	out, _ := os.ReadFile(p.LogPath)
	lines := strings.Split(string(out), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// Kill ends the process at once (SIGKILL), as a node failure or the OOM killer would.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// PeakRSSMiB is the process's peak resident memory (VmHWM); 0 once it has exited.
func (p *Process) PeakRSSMiB() float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
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
