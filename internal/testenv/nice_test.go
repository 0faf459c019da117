package testenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

const threadsHelperEnv = "TESTENV_THREADS_HELPER"

// TestThreadsHelper is not a test: run as a child by TestSetNice, it holds several
// threads, as a Go server does, until killed.
func TestThreadsHelper(t *testing.T) {
	if os.Getenv(threadsHelperEnv) == "" {
		t.Skip("a helper process of TestSetNice")
	}
	for range 4 {
		go func() {
			runtime.LockOSThread()
			select {}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	fmt.Println("ready")
	time.Sleep(time.Minute)
}

func TestSetNice(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestThreadsHelper$")
	cmd.Env = append(os.Environ(), threadsHelperEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	pid := cmd.Process.Pid

	expectEveryThread := func(want int) {
		t.Helper()
		tids, err := threadsOf(pid)
		if err != nil || len(tids) < 5 {
			t.Fatalf("the helper has threads %v (%v), want at least 5", tids, err)
		}
		for _, tid := range tids {
			got, err := niceOf(pid, tid)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("thread %d: nice %d, want %d", tid, got, want)
			}
		}
	}
	if err := SetNice(pid, 7); err != nil {
		t.Fatal(err)
	}
	expectEveryThread(7)
	if os.Geteuid() == 0 {
		if err := SetNice(pid, 0); err != nil {
			t.Fatal(err)
		}
		expectEveryThread(0)
	}
	if err := SetNice(1<<22+1, 7); err == nil {
		t.Error("SetNice of a process that does not exist succeeded")
	}
}
