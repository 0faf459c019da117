package connectors_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/connectors"
)

func TestCheckResponseTellsRefusalsFromOutages(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		refused    bool
		wait       time.Duration
	}{
		{200, "", false, 0},
		{204, "", false, 0},
		{400, "", true, 0},
		{401, "", true, 0},
		{404, "", true, 0},
		{409, "", true, 0},
		{422, "", true, 0},
		{408, "", false, 0},
		{429, "7", false, 7 * time.Second},
		{500, "", false, 0},
		{503, "120", false, 2 * time.Minute},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("the app's words"))}
		if tc.retryAfter != "" {
			resp.Header.Set("Retry-After", tc.retryAfter)
		}
		err := connectors.CheckResponse(resp)
		if tc.status < 300 {
			if err != nil {
				t.Errorf("%d: %v", tc.status, err)
			}
			continue
		}
		if err == nil || connectors.IsRefused(err) != tc.refused {
			t.Errorf("%d: err %v, want refused=%v", tc.status, err, tc.refused)
			continue
		}
		if !strings.Contains(err.Error(), "the app's words") {
			t.Errorf("%d: %q does not carry the app's message", tc.status, err)
		}
		if got := connectors.RetryAfter(err); got != tc.wait {
			t.Errorf("%d: retry after %s, want %s", tc.status, got, tc.wait)
		}
	}
}

// Retries of one document hash alike whatever their delivery id; any change of
// content hashes differently.
func TestHashIgnoresOnlyTheDeliveryID(t *testing.T) {
	doc := connectors.UserDocument{Event: connectors.EventUpsert, ID: "u", DeliveryID: "a", User: connectors.User{ID: "u", UserName: "ada", Active: true}}
	retry := doc
	retry.DeliveryID = "b"
	changed := doc
	changed.User.DisplayName = "Ada"
	if connectors.Hash(doc) != connectors.Hash(retry) {
		t.Error("the delivery id changed the hash")
	}
	if connectors.Hash(doc) == connectors.Hash(changed) {
		t.Error("a changed document hashed alike")
	}
}
