package controllers

import (
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// The last change of a burst reaches the app's status: a change within notifyInterval
// of the previous notification is told once the interval is over, not dropped.
func TestTheLastChangeOfABurstIsNotified(t *testing.T) {
	s := newDeliveryState()
	var mu sync.Mutex
	var told []time.Time
	s.notify = func(types.NamespacedName) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, time.Now())
	}
	notified := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(told)
	}
	key := func(name string) deliveryKey {
		return deliveryKey{Namespace: "ns", App: "crm", Kind: kindUser, Name: name}
	}

	s.record(key("good"), identityv1alpha1.AppDeliverySynced)
	if notified() != 1 {
		t.Fatalf("the first change was notified %d times", notified())
	}
	began := time.Now()
	s.record(key("bad"), identityv1alpha1.AppDeliveryPending)
	s.record(key("bad"), identityv1alpha1.AppDeliveryFailed)
	for deadline := time.Now().Add(2 * notifyInterval); notified() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the changes within the interval were never notified: the app would report them an hour late")
		}
	}
	time.Sleep(notifyInterval / 2)
	if n := notified(); n != 2 {
		t.Errorf("a burst of two changes was notified %d times after the first, want once", n-1)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := told[1].Sub(began); gap < notifyInterval/2 {
		t.Errorf("the held-back notification came %v after the burst, inside the interval", gap)
	}
}
