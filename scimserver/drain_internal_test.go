package scimserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"testing"
)

// Once draining, each answer closes its connection, so that the client's next
// request opens a new one (to a ready replica) instead of reusing this one.
func TestAnswersCloseTheirConnectionWhileDraining(t *testing.T) {
	draining := make(chan struct{})
	srv := httptest.NewServer(closeWhileDraining(draining, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "{}")
	})))
	defer srv.Close()
	client := srv.Client()
	// get answers whether the request reused a connection and whether the answer
	// closed it.
	get := func() (reused, closed bool) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return reused, resp.Close
	}

	if _, closed := get(); closed {
		t.Fatal("an answer closed its connection before draining")
	}
	if reused, _ := get(); !reused {
		t.Fatal("the connection was not kept alive before draining")
	}
	close(draining)
	if reused, closed := get(); !reused || !closed {
		t.Fatalf("while draining: reused %v (want true, the kept connection), closed %v (want true)", reused, closed)
	}
	if reused, _ := get(); reused {
		t.Error("the next request reused the connection that was to be closed")
	}
}
