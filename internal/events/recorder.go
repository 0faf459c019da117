// Package events records Kubernetes Events (events.k8s.io/v1) in bounded memory.
//
// client-go's broadcaster keeps every Event it sent for 6 to 12 minutes, to count
// repeats, and holds a goroutine per Event while the API server is slow. Provisioning
// records about one Event per identity, so at 100 identities a second it held tens of
// thousands of Events: 94 MB of the manager's heap at 86,000 users. Here an Event waits
// in a bounded queue, and is dropped and counted when the queue is full: an Event is
// best-effort, never worth the manager's memory or a slower reconcile. Repeats are
// counted in a bounded table of what was recorded lately, as client-go counts them.
package events

import (
	"context"
	"fmt"
	"hash/maphash"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/reference"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Options bound the recorder. Zero values take the defaults.
type Options struct {
	// Controller is the Events' reportingController.
	Controller string
	// QueueLength is how many Events may wait to be written, all writers together.
	QueueLength int
	// Writers write Events concurrently; repeats of one Event go through one writer, in order.
	Writers int
	// Remembered is how many recent Events are kept to count their repeats.
	Remembered int
	// Window is how long after its last occurrence a repeat still joins an Event's
	// series rather than making a new Event: client-go's 6 minutes.
	Window time.Duration
}

func (o Options) withDefaults() Options {
	if o.Controller == "" {
		o.Controller = "scim-operator"
	}
	if o.QueueLength <= 0 {
		o.QueueLength = 1024
	}
	if o.Writers <= 0 {
		o.Writers = 4
	}
	if o.Remembered <= 0 {
		o.Remembered = 4096
	}
	if o.Window <= 0 {
		o.Window = 6 * time.Minute
	}
	return o
}

// Recorder is a recorder.EventRecorder (controller-runtime's) whose memory is bounded
// by its Options. It writes once started (it is a manager Runnable, on every replica:
// the SCIM server records Events too).
type Recorder struct {
	scheme   *runtime.Scheme
	writer   client.Writer
	log      logr.Logger
	opts     Options
	instance string
	seed     maphash.Seed
	queues   []chan *eventsv1.Event
	recent   *recentEvents
	now      func() time.Time
}

// New returns a recorder writing with w; scheme resolves the kinds of the objects
// Events are about.
func New(scheme *runtime.Scheme, w client.Writer, log logr.Logger, opts Options) *Recorder {
	opts = opts.withDefaults()
	host, _ := os.Hostname()
	r := &Recorder{
		scheme:   scheme,
		writer:   w,
		log:      log,
		opts:     opts,
		instance: truncate(opts.Controller+"-"+host, 128),
		seed:     maphash.MakeSeed(),
		queues:   make([]chan *eventsv1.Event, opts.Writers),
		recent:   newRecentEvents(opts.Remembered, opts.Window),
		now:      time.Now,
	}
	for i := range r.queues {
		r.queues[i] = make(chan *eventsv1.Event, max(1, opts.QueueLength/opts.Writers))
	}
	return r
}

// Eventf records an Event about regarding; it never blocks.
func (r *Recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.AnnotatedEventf(regarding, related, nil, eventtype, reason, action, note, args...)
}

// AnnotatedEventf records an Event with annotations; it never blocks.
func (r *Recorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string, args ...any) {
	ev, err := r.makeEvent(regarding, related, annotations, eventtype, reason, action, fmt.Sprintf(note, args...))
	if err != nil {
		eventsTotal.WithLabelValues(outcomeInvalid).Inc()
		r.log.Error(err, "Event not recorded", "reason", reason)
		return
	}
	select {
	case r.queues[r.shard(ev)] <- ev:
	default:
		eventsTotal.WithLabelValues(outcomeDropped).Inc()
	}
}

func (r *Recorder) makeEvent(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string) (*eventsv1.Event, error) {
	if eventtype != corev1.EventTypeNormal && eventtype != corev1.EventTypeWarning {
		return nil, fmt.Errorf("event type %q is neither Normal nor Warning", eventtype)
	}
	ref, err := reference.GetReference(r.scheme, regarding)
	if err != nil {
		return nil, err
	}
	var relatedRef *corev1.ObjectReference
	if related != nil {
		if relatedRef, err = reference.GetReference(r.scheme, related); err != nil {
			return nil, err
		}
	}
	now := r.now()
	namespace := ref.Namespace
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	return &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("%s.%x", ref.Name, now.UnixNano()),
			Namespace:   namespace,
			Annotations: annotations,
		},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: r.opts.Controller,
		ReportingInstance:   r.instance,
		Action:              truncate(action, 128),
		Reason:              truncate(reason, 128),
		Regarding:           *ref,
		Related:             relatedRef,
		Note:                truncate(note, 1024),
		Type:                eventtype,
	}, nil
}

// shard sends the repeats of one Event to one writer, so that the Event is created
// before its series is counted.
func (r *Recorder) shard(ev *eventsv1.Event) int {
	k := keyOf(ev)
	h := maphash.Comparable(r.seed, k)
	return int(h % uint64(len(r.queues)))
}

// Start writes Events until ctx ends; those still queued then are dropped.
func (r *Recorder) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, q := range r.queues {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-q:
					r.write(ctx, ev)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// NeedLeaderElection is false: every replica's SCIM server records Events.
func (r *Recorder) NeedLeaderElection() bool { return false }

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
