package main

import (
	"io"
	"net"
	"sync/atomic"
	"time"
)

// proxy spreads TCP connections over the replicas round-robin, as a Service does,
// skipping a replica that refuses the connection (killed, not yet restarted).
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
	start := p.next.Add(1)
	for k := range backends {
		upstream, err := net.DialTimeout("tcp", backends[(start+uint64(k))%uint64(len(backends))], time.Second)
		if err != nil {
			continue
		}
		defer upstream.Close() //nolint:errcheck // closing both ends
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(upstream, conn); done <- struct{}{} }()
		go func() { _, _ = io.Copy(conn, upstream); done <- struct{}{} }()
		<-done
		return
	}
}

func (p *proxy) close() { _ = p.listener.Close() }
