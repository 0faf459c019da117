package manager_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/testenv"
	"github.com/scim-operator/scim-operator/scimserver"
)

// TestProbesAndLeaderElection starts the manager as the Deployment runs it, with leader
// election on, and checks that it reports healthy and, once its caches are synced and
// its SCIM port listens, ready.
func TestProbesAndLeaderElection(t *testing.T) {
	env, cfg, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()

	probeAddr, scimAddr := testenv.FreeAddr(), testenv.FreeAddr()
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := manager.New(ctx, cfg, manager.Options{
		MetricsAddr:             "0",
		ProbeAddr:               probeAddr,
		LeaderElection:          true,
		LeaderElectionNamespace: "default",
		ExternalURL:             "https://scim.example.com",
		MaxConcurrentReconciles: 1,
		SCIM:                    scimserver.Options{BindAddress: scimAddr},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with %v", err)
		}
	}()

	for _, path := range []string{"/healthz", "/readyz"} {
		if err := waitFor200(fmt.Sprintf("http://%s%s", probeAddr, path), 30*time.Second); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	resp, err := http.Get("http://" + probeAddr + "/readyz?verbose")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, check := range []string{"[+]caches ok", "[+]draining ok", "[+]scim ok"} {
		if !strings.Contains(string(body), check) {
			t.Errorf("/readyz?verbose has no %q:\n%s", check, body)
		}
	}
	select {
	case <-mgr.Elected():
	case <-time.After(30 * time.Second):
		t.Fatal("the only replica was not elected leader")
	}
}

func waitFor200(url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no 200 within %s; last: %s", within, last)
}
