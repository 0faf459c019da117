package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// floorServeArg is the argument the load tool runs itself with to serve the HTTP floor.
const floorServeArg = "serve-http-floor"

// floor is a bare handler answering every request with one lookup's response, and
// its measurement.
type floor struct {
	base string
	stop func()
	op   *op
	wall time.Duration
}

// lookUp is a request to the floor, decoded and checked as sc's lookups are.
func (f *floor) lookUp(ctx context.Context, sc *scimClient) func() error {
	client := &scimClient{base: f.base, token: "x", http: sc.http}
	return func() error { return lookUpOne(ctx, client, "/") }
}

func floorHandler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write(body)
	})
}

// serveFloor is the floor's process: it answers with the body read from stdin, on the
// address it prints.
func serveFloor() error {
	body, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(l.Addr())
	return http.Serve(l, floorHandler(body)) //nolint:gosec // a local measurement, not a server
}

// startFloorProcess runs the floor in a process of its own, killed with the load tool.
func startFloorProcess(body []byte) (*floor, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, floorServeArg) //nolint:gosec // the load tool itself
	cmd.Stdin = bytes.NewReader(body)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the floor's process: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return nil, fmt.Errorf("reading the floor's address: %w", err)
	}
	return &floor{base: "http://" + strings.TrimSpace(addr), stop: stop}, nil
}

// inProcessFloor serves the floor from the load tool's own process.
func inProcessFloor(body []byte) *floor {
	srv := httptest.NewServer(floorHandler(body))
	return &floor{base: srv.URL, stop: srv.Close}
}
