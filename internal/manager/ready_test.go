package manager

import (
	"net/http/httptest"
	"testing"
)

func TestCachesSyncedStaysReady(t *testing.T) {
	tenants, secrets, indexes := false, false, false
	check := cachesSynced(func() bool { return tenants }, func() bool { return secrets }, func() bool { return indexes })
	req := httptest.NewRequest("GET", "/readyz", nil)

	tenants = true
	if check(req) == nil {
		t.Fatal("ready before every informer synced")
	}
	secrets = true
	if check(req) == nil {
		t.Fatal("ready before the indexes beside the cache synced")
	}
	indexes = true
	if err := check(req); err != nil {
		t.Fatalf("not ready once everything synced: %v", err)
	}
	// Nothing unsyncs an informer; but whatever the check would see later (informers the
	// controllers start when elected are not its business), a ready replica stays ready.
	tenants, indexes = false, false
	if err := check(req); err != nil {
		t.Fatalf("unready again after the first sync: %v", err)
	}
}
