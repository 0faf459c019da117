package testenv

import (
	"os"
	"path/filepath"
	"testing"
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

func TestFindProcess(t *testing.T) {
	// A /proc of its own: scanning the real one also reads processes that a loaded
	// machine runs, whose command lines can take seconds to read.
	proc := t.TempDir()
	for pid, cmdline := range map[string]string{
		"12":   "kube-apiserver\x00--secure-port=6443\x00--etcd-servers=http://127.0.0.1:2379\x00",
		"345":  "kube-apiserver\x00--secure-port=7443\x00",
		"678":  "sleep\x0030\x00",
		"self": "not a pid\x00",
	} {
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte(cmdline), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--secure-port=7443"}, 345},
		{[]string{"kube-apiserver", "--secure-port=6443"}, 12},
		{[]string{"sleep"}, 678},
		{[]string{"--secure-port=644"}, 0}, // whole arguments only
		{[]string{"sleep", "--secure-port=6443"}, 0},
	} {
		if got, ok := findProcess(proc, tc.args); got != tc.want || ok != (tc.want != 0) {
			t.Errorf("%q: found %d (%v), want %d", tc.args, got, ok, tc.want)
		}
	}
}

func TestCPUSecondsOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	if cpu, err := CPUSeconds(os.Getpid()); err != nil || cpu < 0 {
		t.Fatalf("this test's own CPU: %v, %v", cpu, err)
	}
}
