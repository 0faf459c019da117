package manager

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

func TestDrainOnSignal(t *testing.T) {
	signals := make(chan os.Signal, 3)
	exited := make(chan int, 1)
	ctx, draining := drainOn(signals, 300*time.Millisecond, logr.Discard(), func(code int) { exited <- code })

	signals <- syscall.SIGTERM
	select {
	case <-draining:
	case <-time.After(time.Second):
		t.Fatal("not draining after SIGTERM")
	}
	if ctx.Err() != nil {
		t.Fatal("stopped at once: connections on their way would be refused")
	}
	start := time.Now()
	<-ctx.Done()
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("stopped after %s, before the delay", waited)
	}
	select {
	case <-exited:
		t.Fatal("exited without a second signal")
	default:
	}
	signals <- syscall.SIGTERM
	if code := <-exited; code != 1 {
		t.Errorf("exit code %d after a second signal", code)
	}
}

func TestSecondSignalSkipsTheDelay(t *testing.T) {
	signals := make(chan os.Signal, 3)
	ctx, _ := drainOn(signals, time.Hour, logr.Discard(), func(int) {})
	signals <- os.Interrupt
	signals <- os.Interrupt
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("a second signal did not end the delay")
	}
}
