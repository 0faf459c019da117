package events

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/scim-operator/scim-operator/internal/testenv"
)

var _ recorder.EventRecorder = (*Recorder)(nil)

var apiServer client.Client

func TestMain(m *testing.M) {
	backoff = 10 * time.Millisecond
	env, cfg, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	apiServer, err = client.New(cfg, client.Options{Scheme: clientgoscheme.Scheme})
	code := 1
	if err == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, err)
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

func configMap(namespace, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: "7c1b1cc4-2f4e-4f51-9a53-3d1c0b7e9f01"}}
}

func start(t *testing.T, r *Recorder) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// eventsAbout lists, from the API server, the Events about the named object.
func eventsAbout(t *testing.T, namespace, name string) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := apiServer.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// The API server accepts what the recorder writes, and a repeat is counted in the
// first Event's series rather than written again.
func TestRepeatsJoinTheirSeries(t *testing.T) {
	r := New(clientgoscheme.Scheme, apiServer, logr.Discard(), Options{})
	start(t, r)
	cm := configMap("default", "repeats")

	for range 3 {
		r.Eventf(cm, nil, corev1.EventTypeWarning, "ApplyFailed", "Apply", "workspace %q does not exist", "team-a")
	}
	r.Eventf(cm, nil, corev1.EventTypeNormal, "Provisioned", "Apply", "Provisioned: %s", strings.Repeat("é", 600))

	var got []eventsv1.Event
	eventually(t, "two Events, the first counted three times", func() bool {
		got = eventsAbout(t, "default", "repeats")
		return len(got) == 2 && slicesHaveSeries(got, "ApplyFailed", 3)
	})
	for _, e := range got {
		if e.ReportingController != "scim-operator" || !strings.HasPrefix(e.ReportingInstance, "scim-operator-") || e.Regarding.Kind != "ConfigMap" {
			t.Errorf("event %s: controller %q, instance %q, regarding %v", e.Name, e.ReportingController, e.ReportingInstance, e.Regarding)
		}
		if e.Reason == "Provisioned" && (len(e.Note) > 1024 || !strings.HasPrefix(e.Note, "Provisioned: é")) {
			t.Errorf("a long note is cut to 1,024 bytes of whole characters: %d bytes", len(e.Note))
		}
	}
}

func slicesHaveSeries(events []eventsv1.Event, reason string, count int32) bool {
	for _, e := range events {
		if e.Reason == reason {
			return e.Series != nil && e.Series.Count == count
		}
	}
	return false
}

// An Event gone from the server (expired) is written again rather than lost.
func TestARepeatOfAnExpiredEventIsWrittenAgain(t *testing.T) {
	r := New(clientgoscheme.Scheme, apiServer, logr.Discard(), Options{})
	start(t, r)
	cm := configMap("default", "expired")
	r.Eventf(cm, nil, corev1.EventTypeNormal, "AccessChanged", "Apply", "bound")
	eventually(t, "the first Event", func() bool { return len(eventsAbout(t, "default", "expired")) == 1 })
	first := eventsAbout(t, "default", "expired")[0]
	if err := apiServer.Delete(context.Background(), &first); err != nil {
		t.Fatal(err)
	}
	r.Eventf(cm, nil, corev1.EventTypeNormal, "AccessChanged", "Apply", "bound")
	eventually(t, "the Event written again", func() bool {
		got := eventsAbout(t, "default", "expired")
		return len(got) == 1 && got[0].Name != first.Name
	})
}

// A recorder never makes its caller wait, and what it holds is bounded: when the API
// server does not keep up, Events beyond the queue are dropped and counted.
func TestAFullQueueDropsAndNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	created := 0
	blocked := interceptor.NewClient(fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).Build(), interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			<-release
			mu.Lock()
			created++
			mu.Unlock()
			return c.Create(ctx, obj, opts...)
		},
	})
	r := New(clientgoscheme.Scheme, blocked, logr.Discard(), Options{QueueLength: 8, Writers: 2})
	start(t, r)
	droppedBefore := testutil.ToFloat64(eventsTotal.WithLabelValues(outcomeDropped))

	began := time.Now()
	for i := range 100 {
		r.Eventf(configMap("default", fmt.Sprintf("user-%d", i)), nil, corev1.EventTypeNormal, "Provisioned", "Apply", "Provisioned")
	}
	if waited := time.Since(began); waited > time.Second {
		t.Fatalf("recording 100 Events against a stuck API server took %v", waited)
	}
	close(release)
	dropped := testutil.ToFloat64(eventsTotal.WithLabelValues(outcomeDropped)) - droppedBefore
	eventually(t, "the queued Events written", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return float64(created)+dropped == 100
	})
	// Two writers each hold one Event while stuck, and four wait behind each.
	if dropped < 100-8-2 {
		t.Fatalf("dropped %v of 100 Events with room for 10", dropped)
	}
}

// An API server that refuses an Event is not asked again for it, and the next
// occurrence is a new Event rather than a repeat of one that was never written.
func TestARefusedEventIsCountedAndNotRepeated(t *testing.T) {
	var mu sync.Mutex
	creates, patches := 0, 0
	refuse := true
	c := interceptor.NewClient(fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).Build(), interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			mu.Lock()
			defer mu.Unlock()
			creates++
			if refuse {
				return apierrors.NewForbidden(schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, obj.GetName(), errors.New("no"))
			}
			return c.Create(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			mu.Lock()
			patches++
			mu.Unlock()
			return c.Patch(ctx, obj, patch, opts...)
		},
	})
	r := New(clientgoscheme.Scheme, c, logr.Discard(), Options{})
	start(t, r)
	failedBefore := testutil.ToFloat64(eventsTotal.WithLabelValues(outcomeFailed))
	cm := configMap("default", "refused")

	r.Eventf(cm, nil, corev1.EventTypeNormal, "AccessChanged", "Apply", "bound")
	eventually(t, "the refusal counted", func() bool {
		return testutil.ToFloat64(eventsTotal.WithLabelValues(outcomeFailed)) == failedBefore+1
	})
	mu.Lock()
	if creates != 1 {
		t.Errorf("a refused Event was sent %d times", creates)
	}
	refuse = false
	mu.Unlock()
	r.Eventf(cm, nil, corev1.EventTypeNormal, "AccessChanged", "Apply", "bound")
	eventually(t, "the next occurrence created", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return creates == 2
	})
	mu.Lock()
	defer mu.Unlock()
	if patches != 0 {
		t.Errorf("the occurrence after a refused Event was sent as a repeat (%d patches)", patches)
	}
}

func (r *recentEvents) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byKey)
}

// The table of recent Events never outgrows its limit, and forgets the oldest first.
func TestRecentEventsAreBounded(t *testing.T) {
	recent := newRecentEvents(4, time.Minute)
	now := time.Now()
	ev := func(i int) *eventsv1.Event {
		return &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("e%d", i)},
			Type: corev1.EventTypeNormal, Reason: "R", Note: fmt.Sprint(i), Regarding: corev1.ObjectReference{Name: "x"}}
	}
	for i := range 10 {
		recent.created(ev(i), now)
	}
	if n := recent.len(); n != 4 {
		t.Fatalf("remembers %d Events, limit 4", n)
	}
	if _, ok := recent.repeat(ev(5), now); ok {
		t.Errorf("an Event pushed out by newer ones is still counted as a repeat")
	}
	if s, ok := recent.repeat(ev(9), now.Add(time.Second)); !ok || s.count != 2 || s.name != "e9" {
		t.Errorf("the newest Event's repeat: %+v, %v", s, ok)
	}
	if _, ok := recent.repeat(ev(9), now.Add(2*time.Minute)); ok {
		t.Errorf("a repeat after the window joined the old series")
	}
	// A re-created key keeps its one place.
	recent.forget(ev(8))
	recent.created(ev(8), now)
	for i := 10; i < 13; i++ {
		recent.created(ev(i), now)
	}
	if n := recent.len(); n != 4 {
		t.Fatalf("remembers %d Events after a forget and re-create, limit 4", n)
	}
}
