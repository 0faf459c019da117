package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestCPUSecondsOfStat(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       float64
		wantErr    bool
	}{
		{name: "a plain command", stat: "1234 (kube-apiserver) S 1 1234 1234 0 -1 4194560 1 0 0 0 2893 512 0 0 20 0 12 0 100 0 0",
			want: 34.05},
		{name: "a command with spaces and parentheses", stat: "77 (a (b) c) R 1 77 77 0 -1 0 0 0 0 0 100 50 0 0 20 0 1 0 9 0 0",
			want: 1.5},
		{name: "too short", stat: "77 (x) R 1 2 3", wantErr: true},
		{name: "no command", stat: "77 x R", wantErr: true},
		{name: "not a number", stat: "77 (x) R 1 77 77 0 -1 0 0 0 0 0 lots 50 0 0", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cpuSecondsOfStat([]byte(tc.stat))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %v, %v; want %v (error: %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestFindProcessAndItsCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	// An argument of this run's own, as an earlier run's process may still be exiting.
	mark := fmt.Sprintf("find-me-%d-%d", os.Getpid(), time.Now().UnixNano())
	sleep := exec.Command("sleep", "30", mark)
	if err := sleep.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()

	// The child's command line is the new one once exec has replaced the fork's.
	var pid int
	var ok bool
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if pid, ok = FindProcess("sleep", mark); ok {
			break
		}
	}
	if !ok || pid != sleep.Process.Pid {
		t.Fatalf("found %d (%v), want %d", pid, ok, sleep.Process.Pid)
	}
	if _, ok := FindProcess("sleep", "not-an-argument-anyone-has"); ok {
		t.Fatal("found a process without the argument")
	}
	if cpu, err := CPUSeconds(os.Getpid()); err != nil || cpu < 0 {
		t.Fatalf("this test's own CPU: %v, %v", cpu, err)
	}
}
