package deliver

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names (all labelled by target).
const (
	MetricDelivered = "sluice_deliver_delivered_total"
	MetricRetried   = "sluice_deliver_retried_total"
	MetricFailed    = "sluice_deliver_failed_total"
	MetricFiltered  = "sluice_deliver_filtered_total"
	MetricBacklog   = "sluice_deliver_backlog"
	MetricPaused    = "sluice_deliver_paused"
	MetricCircuit   = "sluice_deliver_circuit_open"
	MetricLatency   = "sluice_deliver_latency_seconds"
)

// metrics are the delivery metrics, labelled by target.
type metrics struct {
	delivered *prometheus.CounterVec
	retried   *prometheus.CounterVec
	failed    *prometheus.CounterVec
	filtered  *prometheus.CounterVec
	backlog   *prometheus.GaugeVec
	paused    *prometheus.GaugeVec
	circuit   *prometheus.GaugeVec
	latency   *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	l := []string{"target"}
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricDelivered,
			Help: "Events the target accepted (2xx, or stored/flushed for NATS targets)."}, l),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRetried,
			Help: "Delivery attempts that failed transiently and will be retried."}, l),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricFailed,
			Help: "Events given up on and moved to the dead-letter stream."}, l),
		filtered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricFiltered,
			Help: "Events skipped because no subscription of the target selects them any more."}, l),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricBacklog,
			Help: "Events waiting for the target: consumer pending plus unacknowledged."}, l),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricPaused,
			Help: "1 while the target's consumer is paused."}, l),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricCircuit,
			Help: "1 while the target's circuit is open in this replica (deliveries wait for a probe)."}, l),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricLatency,
			Help:    "Time from the event (eventTime) to the target's acceptance.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}}, l),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	reg1 := func(c any) {
		if err != nil {
			return
		}
		switch v := c.(type) {
		case **prometheus.CounterVec:
			*v, err = register(reg, *v)
		case **prometheus.GaugeVec:
			*v, err = register(reg, *v)
		case **prometheus.HistogramVec:
			*v, err = register(reg, *v)
		}
	}
	for _, c := range []any{&m.delivered, &m.retried, &m.failed, &m.filtered, &m.backlog, &m.paused, &m.circuit, &m.latency} {
		reg1(c)
	}
	if err != nil {
		return nil, fmt.Errorf("deliver: register metrics: %w", err)
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (a second Deliverer on the same registry shares the series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
