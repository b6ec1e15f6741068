package indexer

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the indexer's Prometheus metrics.
type Metrics struct {
	// EventsIndexed counts events by outcome: applied (changed the index),
	// skipped (stale or duplicate), ignored (kinds the index does not
	// track), invalid (dead-lettered).
	EventsIndexed *prometheus.CounterVec
	// BatchSize observes the events per store transaction.
	BatchSize prometheus.Histogram
	// BatchDuration observes the time to apply one batch.
	BatchDuration prometheus.Histogram
	// Lag observes the time from an event to its commit in the index.
	Lag prometheus.Histogram
	// QueryDuration observes search latency by API (search, aggregate,
	// bucket_search).
	QueryDuration *prometheus.HistogramVec
	// TombstonesPurged counts the tombstones (and update-only versions)
	// the periodic cleanup removed.
	TombstonesPurged prometheus.Counter
	// CleanupRuns counts the runs of the periodic cleanup, by outcome (ok,
	// error).
	CleanupRuns *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them on reg (nil: not
// registered). It returns the registry's error, for example when another
// indexer registered on reg already.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		EventsIndexed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Subsystem: "indexer", Name: "events_indexed_total",
			Help: "Events handled by the indexer, by outcome (applied, skipped, ignored, invalid).",
		}, []string{"outcome"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "sluice", Subsystem: "indexer", Name: "batch_size",
			Help:    "Events applied per index transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13),
		}),
		BatchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "sluice", Subsystem: "indexer", Name: "batch_duration_seconds",
			Help:    "Time to apply one batch to the index.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		Lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "sluice", Subsystem: "indexer", Name: "lag_seconds",
			Help:    "Time from an event to its commit in the index.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 16),
		}),
		QueryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sluice", Subsystem: "indexer", Name: "query_duration_seconds",
			Help:    "Search and aggregation latency, by API.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"api"}),
		TombstonesPurged: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Subsystem: "indexer", Name: "tombstones_purged_total",
			Help: "Tombstones of removed versions (and versions known only from updates) purged after the retention.",
		}),
		CleanupRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Subsystem: "indexer", Name: "cleanup_runs_total",
			Help: "Runs of the tombstone cleanup, by outcome (ok, error).",
		}, []string{"outcome"}),
	}
	if reg != nil {
		var errs []error
		for _, c := range []prometheus.Collector{m.EventsIndexed, m.BatchSize, m.BatchDuration, m.Lag, m.QueryDuration, m.TombstonesPurged, m.CleanupRuns} {
			errs = append(errs, reg.Register(c))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	return m, nil
}
