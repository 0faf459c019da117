package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Outcomes of an Event, the values of scim_events_total's outcome label.
const (
	outcomeCreated  = "created"
	outcomeRepeated = "repeated"
	outcomeDropped  = "dropped"
	outcomeFailed   = "failed"
	outcomeInvalid  = "invalid"
)

// attempts and backoff bound how long one Event may hold its writer while the API
// server does not answer; meanwhile the writer's queue fills and drops.
const attempts = 3

var backoff = time.Second

// write creates ev, or counts it in the series of the same Event written lately.
func (r *Recorder) write(ctx context.Context, ev *eventsv1.Event) {
	now := r.now()
	if s, ok := r.recent.repeat(ev, now); ok {
		err := r.retry(ctx, func() error { return r.patchSeries(ctx, s) })
		if err == nil {
			eventsTotal.WithLabelValues(outcomeRepeated).Inc()
			return
		}
		if !apierrors.IsNotFound(err) {
			r.fail(ev, err)
			return
		}
		// The Event expired on the server (an hour by default): start it again.
	}
	if err := r.retry(ctx, func() error { return r.writer.Create(ctx, ev.DeepCopy()) }); err != nil {
		r.fail(ev, err)
		return
	}
	r.recent.created(ev, now)
	eventsTotal.WithLabelValues(outcomeCreated).Inc()
}

func (r *Recorder) patchSeries(ctx context.Context, s series) error {
	patch, err := json.Marshal(map[string]any{"series": eventsv1.EventSeries{Count: s.count, LastObservedTime: metav1.NewMicroTime(s.last)}})
	if err != nil {
		return err
	}
	target := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: s.name}}
	return r.writer.Patch(ctx, target, client.RawPatch(types.MergePatchType, patch))
}

// retry repeats write while the API server is unreachable or busy; an answer that
// refuses the Event is final.
func (r *Recorder) retry(ctx context.Context, write func() error) error {
	var err error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(wait.Jitter(backoff<<(i-1), 0.25)):
			}
		}
		if err = write(); err == nil || !retriable(err) {
			return err
		}
	}
	return err
}

func retriable(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true // the API server did not answer
	}
	return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}

// fail counts an Event not written. The log names the object and the Event's reason,
// never its note, which may carry a user's name, nor the API server's refusal, which
// may quote the note.
func (r *Recorder) fail(ev *eventsv1.Event, err error) {
	r.recent.forget(ev)
	eventsTotal.WithLabelValues(outcomeFailed).Inc()
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		err = fmt.Errorf("the API server refused it: %s (%d)", status.Status().Reason, status.Status().Code)
	}
	r.log.Error(err, "Event not recorded", "reason", ev.Reason,
		"regarding", ev.Regarding.Kind+" "+ev.Regarding.Namespace+"/"+ev.Regarding.Name)
}
