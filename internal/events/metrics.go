package events

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var eventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "scim_events_total",
	Help: "Events by outcome: created, repeated (counted in a recent Event's series), dropped (the queue was full), failed (the API server refused or did not answer) and invalid.",
}, []string{"outcome"})

func init() {
	metrics.Registry.MustRegister(eventsTotal)
}
