package index

import (
	"context"
	"strconv"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// progress records the newest resourceVersion an index beside the cache has taken
// in, so that a reader can wait for its own writes as the cache's read-your-writes
// client does (that client also compares resourceVersions as integers).
type progress struct {
	mu       sync.Mutex
	changed  chan struct{}
	observed int64
}

func (p *progress) observe(obj client.Object) {
	rv, err := strconv.ParseInt(obj.GetResourceVersion(), 10, 64)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if rv <= p.observed {
		return
	}
	p.observed = rv
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
}

// HasTakenIn reports whether the index has taken in resourceVersion rv: a reader
// checks before it builds a deadline for WaitFor, which costs more than the read.
func (p *progress) HasTakenIn(rv int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.observed >= rv
}

// WaitFor returns once the index has taken in resourceVersion rv (a write's), or
// when ctx ends.
func (p *progress) WaitFor(ctx context.Context, rv int64) error {
	for {
		p.mu.Lock()
		if p.observed >= rv {
			p.mu.Unlock()
			return nil
		}
		if p.changed == nil {
			p.changed = make(chan struct{})
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
