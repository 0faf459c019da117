package manager

import (
	"net/http/httptest"
	"testing"
)

type informer struct{ synced bool }

func (i *informer) HasSynced() bool { return i.synced }

func TestCachesSyncedStaysReady(t *testing.T) {
	tenants, secrets, indexes := &informer{}, &informer{}, false
	check := cachesSynced([]hasSynced{tenants, secrets}, func() bool { return indexes })
	req := httptest.NewRequest("GET", "/readyz", nil)

	tenants.synced = true
	if check(req) == nil {
		t.Fatal("ready before every informer synced")
	}
	secrets.synced = true
	if check(req) == nil {
		t.Fatal("ready before the indexes beside the cache synced")
	}
	indexes = true
	if err := check(req); err != nil {
		t.Fatalf("not ready once everything synced: %v", err)
	}
	// Nothing unsyncs an informer; but whatever the check would see later (informers the
	// controllers start when elected are not its business), a ready replica stays ready.
	tenants.synced, indexes = false, false
	if err := check(req); err != nil {
		t.Fatalf("unready again after the first sync: %v", err)
	}
}
