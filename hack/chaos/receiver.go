package main

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scim-operator/scim-operator/connectors"
	"github.com/scim-operator/scim-operator/connectors/webhook"
)

// appMode is how the webhook app answers: as it should, failing, or hanging.
type appMode int32

const (
	appHealthy appMode = iota
	appFailing         // 503
	appHanging         // answers after the app's 2 s timeout
)

// receiver is the webhook DownstreamApp: it verifies each delivery's signature and
// keeps the last document of every identity.
type receiver struct {
	server *http.Server
	url    string
	mode   atomic.Int32

	mu   sync.Mutex
	last map[string]connectors.UserDocument
	// forged counts deliveries whose signature did not verify: must stay 0.
	forged int
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/scim-events", last: map[string]connectors.UserDocument{}}
	r.server = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.server.Serve(ln) }()
	return r, nil
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	switch appMode(r.mode.Load()) {
	case appFailing:
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	case appHanging:
		select {
		case <-time.After(5 * time.Second):
		case <-req.Context().Done():
		}
		http.Error(w, "too late", http.StatusGatewayTimeout)
		return
	}
	doc, err := webhook.ReadUserDocument(req, []byte(webhookSecret), time.Now(), 5*time.Minute)
	switch {
	case errors.Is(err, webhook.ErrUnverified):
		r.mu.Lock()
		r.forged++
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.last[doc.ID] = doc
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) setMode(m appMode) { r.mode.Store(int32(m)) }

func (r *receiver) lastOf(id string) (connectors.UserDocument, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	doc, ok := r.last[id]
	return doc, ok
}

func (r *receiver) forgedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forged
}

func (r *receiver) close() { _ = r.server.Close() }
