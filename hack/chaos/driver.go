package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

const (
	// requestBudget is how long the driver retries one request, as Entra ID retries
	// a failed one over its cycles, before it counts it as unanswered.
	requestBudget  = 3 * time.Minute
	requestTimeout = 10 * time.Second
)

// want is what the identity provider was told, by 2xx answers, about one user.
type want struct {
	userName    string
	id          string
	displayName string
	active      bool
	deleted     bool
}

// tally counts the driver's requests.
type tally struct {
	requests, ok, retried, unanswered atomic.Int64
	// transportErrors counts requests through the proxy (the Service) that got no
	// HTTP answer at all: a refused, reset or closed connection. Creates raced to each replica's own address are not among
	// them: a replica that is down refuses those, as a pod's IP would.
	transportErrors atomic.Int64
	// lastTransportError describes the latest, for the report.
	lastTransportError atomic.Value
	// timeouts counts requests through the proxy not answered within requestTimeout.
	timeouts atomic.Int64
	// bare5xx counts 5xx answers without Retry-After: must stay 0.
	bare5xx atomic.Int64
	// duplicateCreates counts creates sent through both replicas at once.
	duplicateCreates atomic.Int64
	firstUnanswered  atomic.Value
}

// driver is an identity provider: Entra ID's requests, retried on failure.
type driver struct {
	base     string   // through the proxy
	replicas []string // each replica's own base URL, for creates raced through both
	http     *http.Client
	limit    *rate.Limiter
	rand     *rand.Rand
	randMu   sync.Mutex
	tally    tally

	mu     sync.Mutex
	users  []*want
	locks  []sync.Mutex
	groups []*wantGroup
}

func newDriver(proxyAddr string, replicaAddrs []string, users int, seed uint64, perSecond float64) *driver {
	base := func(addr string) string { return "http://" + addr + "/scim/" + namespace + "/" + tenantName + "/v2" }
	d := &driver{
		base: base(proxyAddr),
		// A connection per request, so that the proxy spreads requests, not connections.
		http:   &http.Client{Timeout: requestTimeout, Transport: &http.Transport{DisableKeepAlives: true}},
		limit:  rate.NewLimiter(rate.Limit(perSecond), 5),
		rand:   rand.New(rand.NewPCG(seed, seed^0x5c1a)), //nolint:gosec // reproducible, not secret
		users:  make([]*want, users),
		locks:  make([]sync.Mutex, users),
		groups: newGroups(users),
	}
	for _, a := range replicaAddrs {
		d.replicas = append(d.replicas, base(a))
	}
	for i := range d.users {
		d.users[i] = &want{userName: fmt.Sprintf("chaos-%05d@example.com", i), displayName: fmt.Sprintf("Chaos %d", i), active: true}
	}
	return d
}

func (d *driver) intn(n int) int {
	d.randMu.Lock()
	defer d.randMu.Unlock()
	return d.rand.IntN(n)
}

// record changes what the identity provider was told, under the driver's lock.
func (d *driver) record(change func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	change()
}

// snapshot copies what the identity provider was told, for judging.
func snapshot[T any](d *driver, items []*T) []T {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]T, len(items))
	for i, item := range items {
		out[i] = *item
	}
	return out
}

// answer is one HTTP exchange's outcome.
type answer struct {
	status int
	body   []byte
	header http.Header
}

// send makes one request; a transport error is status 0.
func (d *driver) send(ctx context.Context, base, method, path string, body any) answer {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
	if err != nil {
		return answer{}
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/scim+json")
	d.tally.requests.Add(1)
	resp, err := d.http.Do(req)
	if err != nil {
		var netErr net.Error
		switch {
		case ctx.Err() != nil || base != d.base:
		case errors.As(err, &netErr) && netErr.Timeout():
			// An answer slower than the client waits: retried, but not a refused or
			// broken connection.
			d.tally.timeouts.Add(1)
		default:
			d.tally.transportErrors.Add(1)
			d.tally.lastTransportError.Store(fmt.Sprintf("%s %s %s: %v", time.Now().Format("15:04:05.000"), method, path, err))
		}
		return answer{}
	}
	defer resp.Body.Close() //nolint:errcheck // read below
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 500 && resp.Header.Get("Retry-After") == "" {
		d.tally.bare5xx.Add(1)
	}
	return answer{status: resp.StatusCode, body: b, header: resp.Header}
}

// retry sends the request until done accepts an answer, waiting as Retry-After says
// (or backing off) after a transport error, a 5xx or a 429.
func (d *driver) retry(ctx context.Context, base, method, path string, body any, done func(answer, int) (bool, error)) error {
	deadline := time.Now().Add(requestBudget)
	for attempt := 0; ; attempt++ {
		if err := d.limit.Wait(ctx); err != nil {
			return err
		}
		a := d.send(ctx, base, method, path, body)
		if a.status != 0 && a.status < 500 && a.status != http.StatusTooManyRequests {
			ok, err := done(a, attempt)
			if ok || err != nil {
				if ok {
					d.tally.ok.Add(1)
				}
				return err
			}
		}
		if time.Now().After(deadline) {
			d.tally.unanswered.Add(1)
			err := fmt.Errorf("%s %s: no answer within %s (last status %d: %s)", method, path, requestBudget, a.status, strings.TrimSpace(string(a.body)))
			d.tally.firstUnanswered.CompareAndSwap(nil, err.Error())
			return err
		}
		d.tally.retried.Add(1)
		wait := min(time.Duration(1<<min(attempt, 4))*250*time.Millisecond, 5*time.Second)
		if s, err := strconv.Atoi(a.header.Get("Retry-After")); err == nil && a.header != nil {
			wait = min(time.Duration(s)*time.Second, 10*time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func unexpected(method, path string, a answer) error {
	return fmt.Errorf("%s %s: unexpected %d: %s", method, path, a.status, strings.TrimSpace(string(a.body)))
}

// create provisions user i, racing the same create through both replicas when race
// is set (an identity provider retrying a create that timed out).
func (d *driver) create(ctx context.Context, i int, race bool) error {
	u := d.users[i]
	doc := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": u.userName, "externalId": fmt.Sprintf("ext-%05d", i), "active": true, "displayName": u.displayName,
		"emails": []map[string]any{{"value": u.userName, "type": "work", "primary": true}},
	}
	id, err := d.createResource(ctx, "/Users", doc, "userName", u.userName, race)
	if err != nil {
		return err
	}
	d.record(func() { u.id = id })
	return nil
}

// createResource POSTs doc to resource (through both replicas at once when race is
// set) until it is created, and returns its id. A 409 is the resource existing, from
// an earlier attempt or the raced one: Entra ID then finds it by attr (userName or
// displayName), as does this.
func (d *driver) createResource(ctx context.Context, resource string, doc map[string]any, attr, value string, race bool) (string, error) {
	bases := []string{d.base}
	if race {
		bases = d.replicas
		d.tally.duplicateCreates.Add(1)
	}
	ids := make([]string, len(bases))
	errs := make([]error, len(bases))
	var wg sync.WaitGroup
	for k, base := range bases {
		wg.Go(func() {
			errs[k] = d.retry(ctx, base, http.MethodPost, resource, doc, func(a answer, _ int) (bool, error) {
				switch a.status {
				case http.StatusCreated:
					var created struct {
						ID string `json:"id"`
					}
					err := json.Unmarshal(a.body, &created)
					ids[k] = created.ID
					return err == nil, err
				case http.StatusConflict:
					id, err := d.lookup(ctx, resource, attr, value)
					ids[k] = id
					return id != "", err
				}
				return false, unexpected(http.MethodPost, resource, a)
			})
		})
	}
	wg.Wait()
	for k := range bases {
		if errs[k] != nil {
			return "", errs[k]
		}
		if ids[k] != ids[0] {
			return "", fmt.Errorf("the raced creates of %s answered two ids, %s and %s", value, ids[0], ids[k])
		}
	}
	return ids[0], nil
}

// lookup finds a resource's id by attr eq value, retrying like any request.
func (d *driver) lookup(ctx context.Context, resource, attr, value string) (string, error) {
	var id string
	path := resource + "?filter=" + url.QueryEscape(fmt.Sprintf("%s eq %q", attr, value))
	err := d.retry(ctx, d.base, http.MethodGet, path, nil, func(a answer, _ int) (bool, error) {
		if a.status != http.StatusOK {
			return false, unexpected(http.MethodGet, path, a)
		}
		var list struct {
			Resources []struct {
				ID string `json:"id"`
			} `json:"Resources"`
		}
		if err := json.Unmarshal(a.body, &list); err != nil {
			return false, err
		}
		if len(list.Resources) != 1 {
			return false, fmt.Errorf("lookup of %s found %d", value, len(list.Resources))
		}
		id = list.Resources[0].ID
		return true, nil
	})
	return id, err
}

// patch replaces attributes of user i and, once answered 2xx, records them.
func (d *driver) patch(ctx context.Context, i int, displayName *string, active *bool) error {
	u := d.users[i]
	var ops []map[string]any
	if displayName != nil {
		ops = append(ops, map[string]any{"op": "Replace", "path": "displayName", "value": *displayName})
	}
	if active != nil {
		ops = append(ops, map[string]any{"op": "Replace", "path": "active", "value": *active})
	}
	if err := d.patchResource(ctx, "/Users/"+u.id, ops); err != nil {
		return err
	}
	d.record(func() {
		if displayName != nil {
			u.displayName = *displayName
		}
		if active != nil {
			u.active = *active
		}
	})
	return nil
}

// patchResource sends a PatchOp of ops to path until it is applied.
func (d *driver) patchResource(ctx context.Context, path string, ops []map[string]any) error {
	return d.retry(ctx, d.base, http.MethodPatch, path, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops,
	}, func(a answer, _ int) (bool, error) {
		if a.status == http.StatusNoContent || a.status == http.StatusOK {
			return true, nil
		}
		return false, unexpected(http.MethodPatch, path, a)
	})
}

// remove deletes user i.
func (d *driver) remove(ctx context.Context, i int) error {
	u := d.users[i]
	if err := d.deleteResource(ctx, "/Users/"+u.id); err != nil {
		return err
	}
	d.record(func() { u.deleted = true })
	return nil
}

// deleteResource DELETEs path; a 404 after an attempt that got no answer is the
// delete done.
func (d *driver) deleteResource(ctx context.Context, path string) error {
	return d.retry(ctx, d.base, http.MethodDelete, path, nil, func(a answer, attempt int) (bool, error) {
		if a.status == http.StatusNoContent || (a.status == http.StatusNotFound && attempt > 0) {
			return true, nil
		}
		return false, unexpected(http.MethodDelete, path, a)
	})
}

// run is the cycle: every user created (every seventh raced through both replicas),
// then groups created (every third raced) and filled, then rounds of updates and
// deactivations until stop is closed, then a delete of every tenth user and every
// fifth group and a last round.
func (d *driver) run(ctx context.Context, workers int, stop <-chan struct{}) error {
	n := len(d.users)
	if err := d.each(ctx, workers, n, func(i int) error { return d.create(ctx, i, i%7 == 0) }); err != nil {
		return err
	}
	// Then the groups, every third raced, filled with members.
	if err := d.each(ctx, workers, len(d.groups), func(g int) error {
		if err := d.createGroup(ctx, g, g%3 == 0); err != nil {
			return err
		}
		return d.fillGroup(ctx, g)
	}); err != nil {
		return err
	}
	round := 0
	change := func(i int) error {
		d.locks[i].Lock()
		defer d.locks[i].Unlock()
		d.mu.Lock()
		u := *d.users[i]
		d.mu.Unlock()
		if u.deleted {
			return nil
		}
		name := fmt.Sprintf("Chaos %d r%d", i, round)
		switch d.intn(4) {
		case 0:
			active := !u.active
			return d.patch(ctx, i, &name, &active)
		default:
			return d.patch(ctx, i, &name, nil)
		}
	}
	for {
		select {
		case <-stop:
			if err := d.each(ctx, workers, n, func(i int) error {
				if i%10 == 3 {
					return d.remove(ctx, i)
				}
				return nil
			}); err != nil {
				return err
			}
			if err := d.each(ctx, workers, len(d.groups), func(g int) error {
				if g%5 == 2 {
					return d.removeGroup(ctx, g)
				}
				return nil
			}); err != nil {
				return err
			}
			round++
			return d.each(ctx, workers, n, change)
		default:
		}
		round++
		if err := d.each(ctx, workers, n/4, func(int) error { return change(d.intn(n)) }); err != nil {
			return err
		}
	}
}

// each runs f for 0..n-1 on workers goroutines, one user at a time per user (so that
// two writes to one user never race and their order is the order of their answers).
func (d *driver) each(ctx context.Context, workers, n int, f func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k := int(next.Add(1)) - 1; k < n && ctx.Err() == nil; k = int(next.Add(1)) - 1 {
				if err := f(k); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return cmp.Or(first, ctx.Err())
}
