package replicator

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the replicator's Prometheus metrics, labelled by destination.
type metrics struct {
	pending   *prometheus.GaugeVec
	lag       *prometheus.HistogramVec
	completed *prometheus.CounterVec
	failed    *prometheus.CounterVec
	bytes     *prometheus.CounterVec
	attempts  *prometheus.CounterVec
	inflight  *prometheus.GaugeVec
	inflightB *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_replication_pending_operations",
			Help: "Events not yet replicated per destination (consumer pending + unacknowledged).",
		}, []string{"destination"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_replication_lag_seconds",
			Help:    "Time from the source event to the replica being written.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"destination"}),
		completed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_replication_completed_total",
			Help: "Operations replicated (copies and deletes) per destination.",
		}, []string{"destination"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_replication_failed_total",
			Help: "Operations that ended FAILED per destination.",
		}, []string{"destination"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_replication_bytes_total",
			Help: "Bytes written to each destination.",
		}, []string{"destination"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_replication_events_total",
			Help: "Events handled per destination by outcome (skipped, error).",
		}, []string{"destination", "outcome"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_replication_copies_in_flight",
			Help: "Object copies (source read, destination write) running now per destination.",
		}, []string{"destination"}),
		inflightB: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_replication_copy_bytes_in_flight",
			Help: "Total size of the objects being copied now per destination.",
		}, []string{"destination"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.pending, err = register(reg, m.pending); err != nil {
		return nil, err
	}
	if m.lag, err = register(reg, m.lag); err != nil {
		return nil, err
	}
	if m.completed, err = register(reg, m.completed); err != nil {
		return nil, err
	}
	if m.failed, err = register(reg, m.failed); err != nil {
		return nil, err
	}
	if m.bytes, err = register(reg, m.bytes); err != nil {
		return nil, err
	}
	if m.attempts, err = register(reg, m.attempts); err != nil {
		return nil, err
	}
	if m.inflight, err = register(reg, m.inflight); err != nil {
		return nil, err
	}
	if m.inflightB, err = register(reg, m.inflightB); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the identical collector already
// registered (a second Service in one process shares the metrics).
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("replicator: register metrics: %w", err)
	}
	return c, nil
}
