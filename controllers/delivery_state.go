package controllers

import (
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// deliveryKey is one identity in one app: the delivery controller's unit of work.
type deliveryKey struct {
	Namespace string
	App       string
	Kind      string // "User" or "Group"
	Name      string
}

func (k deliveryKey) app() types.NamespacedName {
	return types.NamespacedName{Namespace: k.Namespace, Name: k.App}
}

// Retry timing: exponential from retryBase to retryMax with ±20% jitter, so that the
// users of an app that comes back are not all retried in the same instant.
const (
	retryBase = 2 * time.Second
	retryMax  = 5 * time.Minute
	// refusedRetry is how long a refused delivery waits before it is tried again
	// although the identity did not change (the app's own fix may have landed).
	refusedRetry = time.Hour
	// outageThreshold failed deliveries in a row mark an app down: its deliveries then
	// wait for the app's own backoff instead of each trying and timing out.
	outageThreshold = 3
	// probeMax caps how long an app stays marked down before deliveries try it again,
	// which bounds how late its users arrive once it is back.
	probeMax = 10 * time.Second
	// perAppConcurrency bounds the deliveries in flight to one app, so that a slow app
	// holds at most this many workers.
	perAppConcurrency = 8
)

func backoff(failures int) time.Duration {
	d := retryBase
	for i := 1; i < failures && d < retryMax; i++ {
		d *= 2
	}
	d = min(d, retryMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64())) //nolint:gosec // jitter, not a secret
}

// upTo is a random wait below d, so that identities waiting on one app do not all
// come back in the same instant.
func upTo(d time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(d))) //nolint:gosec // jitter, not a secret
}

// appHealth is what the delivery controller knows of one app between reconciles. It is
// memory only: after a restart every identity is compared with its status again.
type appHealth struct {
	slots     chan struct{}
	failures  int // consecutive failed deliveries
	downUntil time.Time
	lastError string
	states    map[deliveryKey]identityv1alpha1.AppDeliveryState
	// answered is the app's last answer per identity: the cache may not show the
	// status write that recorded it yet, and a stale read must not deliver twice.
	answered map[deliveryKey]answer
	retries  map[deliveryKey]int
	notified time.Time
	// trailing is set while a notification held back by notifyInterval is due.
	trailing bool
}

// deliveryState is the delivery controller's memory of every app.
type deliveryState struct {
	mu   sync.Mutex
	apps map[types.NamespacedName]*appHealth
	// notify asks for a refresh of an app's status; called at most once per
	// notifyInterval per app, so that a bulk of deliveries is not a bulk of status writes.
	notify func(types.NamespacedName)
}

const notifyInterval = 2 * time.Second

func newDeliveryState() *deliveryState {
	return &deliveryState{apps: map[types.NamespacedName]*appHealth{}}
}

func (s *deliveryState) app(name types.NamespacedName) *appHealth {
	a := s.apps[name]
	if a == nil {
		a = &appHealth{slots: make(chan struct{}, perAppConcurrency), states: map[deliveryKey]identityv1alpha1.AppDeliveryState{},
			answered: map[deliveryKey]answer{}, retries: map[deliveryKey]int{}}
		s.apps[name] = a
	}
	return a
}

// acquire takes one of the app's delivery slots, or says how long the app is down.
func (s *deliveryState) acquire(key deliveryKey) (release func(), wait time.Duration) {
	s.mu.Lock()
	a := s.app(key.app())
	if until := time.Until(a.downUntil); until > 0 {
		s.mu.Unlock()
		return nil, until + upTo(time.Second)
	}
	s.mu.Unlock()
	select {
	case a.slots <- struct{}{}:
		return func() { <-a.slots }, 0
	default:
		return nil, 200*time.Millisecond + upTo(300*time.Millisecond)
	}
}

// answer is an app's acknowledgement or refusal of one document.
type answer struct {
	hash     string
	refused  bool
	at       time.Time
	remoteID string
	message  string
}

// lastAnswer is the app's last answer about the identity, if this process got one.
func (s *deliveryState) lastAnswer(key deliveryKey) (answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.app(key.app()).answered[key]
	return a, ok
}

func (s *deliveryState) record(key deliveryKey, state identityv1alpha1.AppDeliveryState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(key.app())
	if a.states[key] != state {
		a.states[key] = state
		s.changed(key.app(), a)
	}
}

// changed notes that an app's counts moved; the caller holds s.mu. A change within
// notifyInterval of the last notification is not dropped but told once the interval
// is over: the change may be the last of a burst, after which the app's status would
// otherwise keep what it said before it for an hour.
func (s *deliveryState) changed(app types.NamespacedName, a *appHealth) {
	if s.notify == nil || a.trailing {
		return
	}
	since := time.Since(a.notified)
	if since > notifyInterval {
		a.notified = time.Now()
		s.notify(app)
		return
	}
	a.trailing = true
	time.AfterFunc(notifyInterval-since, func() {
		s.mu.Lock()
		a.trailing = false
		a.notified = time.Now()
		s.mu.Unlock()
		s.notify(app)
	})
}

func (s *deliveryState) forget(key deliveryKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(key.app())
	delete(a.states, key)
	delete(a.answered, key)
	delete(a.retries, key)
}

// succeeded notes an acknowledged delivery; the app is up.
func (s *deliveryState) succeeded(key deliveryKey, hash, remoteID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(key.app())
	a.failures, a.downUntil = 0, time.Time{}
	a.answered[key] = answer{hash: hash, at: time.Now(), remoteID: remoteID}
	a.states[key] = identityv1alpha1.AppDeliverySynced
	delete(a.retries, key)
	s.changed(key.app(), a)
}

// refused notes a refusal: the app is up, this identity is failed.
func (s *deliveryState) refused(key deliveryKey, hash, remoteID, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(key.app())
	a.answered[key] = answer{hash: hash, refused: true, at: time.Now(), remoteID: remoteID, message: msg}
	a.failures, a.downUntil, a.lastError = 0, time.Time{}, msg
	a.states[key] = identityv1alpha1.AppDeliveryFailed
	delete(a.retries, key)
	s.changed(key.app(), a)
}

// unavailable notes an outage and returns when to try this identity again.
func (s *deliveryState) unavailable(key deliveryKey, msg string, hint time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(key.app())
	a.failures++
	a.lastError = msg
	a.states[key] = identityv1alpha1.AppDeliveryPending
	a.retries[key]++
	s.changed(key.app(), a)
	if a.failures >= outageThreshold {
		a.downUntil = time.Now().Add(max(min(backoff(a.failures-outageThreshold+1), probeMax), hint))
		// The whole app is down: its identities wait for it, not for their own backoff,
		// so that all of them follow soon after it is back.
		return time.Until(a.downUntil) + upTo(time.Second)
	}
	return max(backoff(a.retries[key]), hint)
}

// appCounts is an app's delivery summary.
type appCounts struct {
	synced, pending, failed int32
	lastError               string
	down                    bool
}

func (s *deliveryState) counts(app types.NamespacedName) appCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[app]
	if a == nil {
		return appCounts{}
	}
	c := appCounts{lastError: a.lastError, down: time.Now().Before(a.downUntil)}
	for _, st := range a.states {
		switch st {
		case identityv1alpha1.AppDeliverySynced:
			c.synced++
		case identityv1alpha1.AppDeliveryFailed:
			c.failed++
		default:
			c.pending++
		}
	}
	return c
}

// drop forgets an app that was deleted.
func (s *deliveryState) drop(app types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.apps, app)
}
