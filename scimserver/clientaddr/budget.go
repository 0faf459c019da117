package clientaddr

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxTrackedAddresses bounds the memory of a Budget (about 100 bytes an address):
// beyond it, new addresses share one budget, which only slows whoever spreads
// failures over that many addresses.
const maxTrackedAddresses = 1 << 16

// Budget limits the failures (such as failed authentications) of each client address.
// The server refuses an address that exhausted it before comparing its token, so that
// guessing is slowed to the budget's rate; requests that succeed never spend it.
type Budget struct {
	perSecond rate.Limit
	burst     int

	mu        sync.Mutex
	limiters  map[netip.Prefix]*rate.Limiter
	overflow  *rate.Limiter
	lastSweep time.Time
}

// NewBudget allows each address perSecond failures, burst at once.
func NewBudget(perSecond float64, burst int) *Budget {
	return &Budget{
		perSecond: rate.Limit(perSecond),
		burst:     burst,
		limiters:  map[netip.Prefix]*rate.Limiter{},
		overflow:  rate.NewLimiter(rate.Limit(perSecond), burst),
	}
}

// Blocked reports whether the address has no failures left to spend.
func (f *Budget) Blocked(addr netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.limiters[key(addr)]
	if l == nil {
		if len(f.limiters) < maxTrackedAddresses {
			return false
		}
		l = f.overflow
	}
	return l.Tokens() < 1
}

// Failed spends one failure of the address's budget.
func (f *Budget) Failed(addr netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := key(addr)
	l := f.limiters[k]
	if l == nil {
		l = f.track(k)
	}
	l.Allow()
}

func (f *Budget) track(k netip.Prefix) *rate.Limiter {
	if len(f.limiters) >= maxTrackedAddresses {
		f.sweep(time.Now())
	}
	if len(f.limiters) >= maxTrackedAddresses {
		return f.overflow
	}
	l := rate.NewLimiter(f.perSecond, f.burst)
	f.limiters[k] = l
	return l
}

// sweep forgets the addresses whose budget has refilled, as a new one would start
// with the same; at most once a second, so that a full table does not make every
// failure scan it.
func (f *Budget) sweep(now time.Time) {
	if now.Sub(f.lastSweep) < time.Second {
		return
	}
	f.lastSweep = now
	for key, l := range f.limiters {
		if l.TokensAt(now) >= float64(f.burst) {
			delete(f.limiters, key)
		}
	}
}
