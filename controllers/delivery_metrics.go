package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Delivery outcomes, the values of the outcome label.
const (
	outcomeDelivered = "delivered"
	outcomeRefused   = "refused"
	outcomeRetry     = "retry"
)

var (
	deliveriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scim_downstream_deliveries_total",
		Help: "Deliveries to DownstreamApps by app (namespace/name), kind (User, Group) and outcome (delivered, refused, retry).",
	}, []string{"app", "kind", "outcome"})
	deliveryDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "scim_downstream_delivery_duration_seconds",
		Help:    "Time an app took to answer a delivery, by app.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"app"})
	deliveryIdentities = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scim_downstream_identities",
		Help: "Identities in each DownstreamApp's scope by state: synced, pending (due or retrying: the backlog) and failed (refused by the app).",
	}, []string{"app", "state"})
)

func init() {
	metrics.Registry.MustRegister(deliveriesTotal, deliveryDuration, deliveryIdentities)
}
