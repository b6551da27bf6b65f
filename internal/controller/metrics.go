package controller

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the controller's Prometheus metrics. In a binary they go to
// controller-runtime's registry (served on the metrics endpoint); tests
// give each controller its own registry.
type Metrics struct {
	feedAge       prometheus.GaugeFunc
	feedChecked   prometheus.Gauge
	feedToken     prometheus.Gauge
	lastSync      prometheus.Gauge
	prefixes      *prometheus.GaugeVec
	writes        *prometheus.CounterVec
	errors        *prometheus.CounterVec
	shrinkRefused *prometheus.CounterVec
	growthHeld    *prometheus.CounterVec
	refused       *prometheus.CounterVec
}

// newMetrics registers the metrics with reg; feedAge reports the age of
// the publication in hand.
func newMetrics(reg prometheus.Registerer, feedAge func() float64) (*Metrics, error) {
	m := &Metrics{
		feedAge: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ringfence_feed_age_seconds",
			Help: "Age of the AWS ip-ranges publication in use (now minus its createDate); 0 before the first one.",
		}, feedAge),
		feedChecked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ringfence_feed_last_success_timestamp_seconds",
			Help: "When the feed was last read and verified (Unix time).",
		}),
		feedToken: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ringfence_feed_sync_token",
			Help: "syncToken of the AWS ip-ranges publication in use.",
		}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ringfence_last_sync_timestamp_seconds",
			Help: "When a reconcile last completed without error (Unix time).",
		}),
		prefixes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ringfence_prefixes",
			Help: "Aggregated CIDRs applied per AWS service@region (published plus in their grace period).",
		}, []string{"key"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringfence_api_writes_total",
			Help: "Writes to the Kubernetes API by kind and verb (create, update, delete, status).",
		}, []string{"kind", "verb"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringfence_errors_total",
			Help: "Errors by where they happened (feed, reconcile, ledger).",
		}, []string{"source"}),
		shrinkRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringfence_shrink_refused_total",
			Help: "Publications whose removals were refused by the shrink guard, per service@region.",
		}, []string{"key"}),
		growthHeld: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringfence_growth_held_total",
			Help: "Publications whose additions the growth guard held back, per service@region.",
		}, []string{"key"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringfence_publications_refused_total",
			Help: "Publications refused as a whole as implausible (reason outside-amazon or too-wide); nothing of them entered the ledger.",
		}, []string{"reason"}),
	}
	// Zero series exist from the start, so that rates and alerts work
	// before the first error.
	for _, src := range []string{"feed", "reconcile", "ledger"} {
		m.errors.WithLabelValues(src)
	}
	for _, reason := range []string{"outside-amazon", "too-wide"} {
		m.refused.WithLabelValues(reason)
	}
	for _, c := range []prometheus.Collector{m.feedAge, m.feedChecked, m.feedToken, m.lastSync, m.prefixes, m.writes, m.errors, m.shrinkRefused, m.growthHeld, m.refused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
