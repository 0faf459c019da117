package main

import (
	"io"
	"net"
	"sync/atomic"
	"time"
)

// proxy spreads TCP connections over the ready replicas round-robin, as a Service
// does. Like kube-proxy it does not try another replica when the one it picked
// refuses (killed, or stopped before its readiness probe said so): the client sees
// the refusal, so that a replica that stops accepting too early shows.
type proxy struct {
	listener net.Listener
	backends func() []string
	next     atomic.Uint64
}

func startProxy(addr string, backends func() []string) (*proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &proxy{listener: ln, backends: backends}
	go p.serve()
	return p, nil
}

func (p *proxy) addr() string { return p.listener.Addr().String() }

func (p *proxy) serve() {
	for {
		conn, err := p.listener.Accept()
		if err != nil {
			return
		}
		go p.forward(conn)
	}
}

func (p *proxy) forward(conn net.Conn) {
	defer conn.Close() //nolint:errcheck // the client sees the close
	backends := p.backends()
	upstream, err := net.DialTimeout("tcp", backends[p.next.Add(1)%uint64(len(backends))], time.Second)
	if err != nil {
		return
	}
	defer upstream.Close() //nolint:errcheck // closing both ends
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, upstream); done <- struct{}{} }()
	<-done
}

func (p *proxy) close() { _ = p.listener.Close() }
