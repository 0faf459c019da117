package manager

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
)

// DrainOnSignal returns a context that ends delay after the first SIGTERM or SIGINT,
// and a channel closed at that signal. Until the context ends the process goes on
// serving while it reports itself not ready: Services, kube-proxy and Ingress
// controllers stop sending it connections a moment after the pod starts terminating,
// and a server that closed its listener at once would refuse the ones still on their
// way. A second signal ends the delay; a third exits at once.
func DrainOnSignal(delay time.Duration, log logr.Logger) (context.Context, <-chan struct{}) {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)
	return drainOn(signals, delay, log, os.Exit)
}

func drainOn(signals <-chan os.Signal, delay time.Duration, log logr.Logger, exit func(int)) (context.Context, <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	draining := make(chan struct{})
	go func() {
		sig := <-signals
		close(draining)
		log.Info("Stopping: no longer ready, serving on while connections drain away", "signal", sig.String(), "delay", delay.String())
		select {
		case <-time.After(delay):
		case <-signals:
		}
		cancel()
		<-signals
		exit(1)
	}()
	return ctx, draining
}
