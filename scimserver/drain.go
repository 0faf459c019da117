package scimserver

import "net/http"

// closeWhileDraining asks each client to close its connection after the answer once
// the process is stopping. Services and proxies route whole connections: a client
// keeping its connection alive goes on sending here while another replica is ready,
// and a request sent just as Shutdown closes the idle connection is reset, which
// clients do not retry for a POST (the chaos suite saw one such create dropped). With
// the connection closed after an answer, the next request opens one to a ready
// replica.
func closeWhileDraining(draining <-chan struct{}, next http.Handler) http.Handler {
	if draining == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-draining:
			w.Header().Set("Connection", "close")
		default:
		}
		next.ServeHTTP(w, r)
	})
}
