package events

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
)

// key says which Events are the same thing happening again: client-go's, with the
// note added (two different messages are two things) and the objects' versions left
// out (a failure that repeats as its object changes is still one failure).
type key struct {
	eventType, reason, action, note string
	regarding, related              corev1.ObjectReference
}

func keyOf(ev *eventsv1.Event) key {
	k := key{eventType: ev.Type, reason: ev.Reason, action: ev.Action, note: ev.Note, regarding: ev.Regarding}
	k.regarding.ResourceVersion = ""
	if ev.Related != nil {
		k.related = *ev.Related
		k.related.ResourceVersion = ""
	}
	return k
}

// series is an Event written lately, by name, and how often it happened since.
type series struct {
	namespace, name string
	count           int32
	last            time.Time
}

// recentEvents remembers the last Events written, at most limit of them: when full, a
// new one takes the place of the one remembered longest.
type recentEvents struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	byKey  map[key]*series
	order  []key // a ring, oldest at next
	next   int
}

func newRecentEvents(limit int, window time.Duration) *recentEvents {
	return &recentEvents{limit: limit, window: window, byKey: make(map[key]*series, limit), order: make([]key, 0, limit)}
}

// repeat counts ev as a repeat of a recent Event and returns that Event's series as
// it now is; ok is false when ev is new (or its last occurrence is older than the
// window) and must be created.
func (r *recentEvents) repeat(ev *eventsv1.Event, now time.Time) (s series, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	found := r.byKey[keyOf(ev)]
	if found == nil || now.Sub(found.last) > r.window {
		return series{}, false
	}
	found.count++
	found.last = now
	return *found, true
}

// created remembers ev, just written, as the first of its series.
func (r *recentEvents) created(ev *eventsv1.Event, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := keyOf(ev)
	s := &series{namespace: ev.Namespace, name: ev.Name, count: 1, last: now}
	if _, known := r.byKey[k]; known {
		r.byKey[k] = s // it expired, or its Event was gone: this one replaces it
		return
	}
	if len(r.order) < r.limit {
		r.order = append(r.order, k)
	} else {
		delete(r.byKey, r.order[r.next])
		r.order[r.next] = k
		r.next = (r.next + 1) % r.limit
	}
	r.byKey[k] = s
}

// forget expires ev's series: its Event could not be written, so the next occurrence
// must create one. It keeps its place, so that the table never holds a key twice.
func (r *recentEvents) forget(ev *eventsv1.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.byKey[keyOf(ev)]; s != nil {
		s.last = time.Time{}
	}
}
