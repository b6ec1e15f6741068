package outbox

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/s3front/meta"
)

// Metrics are the relay's Prometheus metrics. One Metrics may be shared by several
// relays of a process. A nil *Metrics records nothing.
type Metrics struct {
	Pending       prometheus.Gauge     // rows waiting in the outbox
	OldestAge     prometheus.Gauge     // age of the oldest waiting row, seconds
	Published     prometheus.Counter   // rows acknowledged by JetStream
	Duplicates    prometheus.Counter   // of those, acknowledged as duplicates (republished after a crash)
	PublishErrors prometheus.Counter   // failed publishes (each retried)
	Lag           prometheus.Histogram // commit → PubAck delay, seconds
}

// NewMetrics creates the metrics and registers them with reg (when non-nil).
// It fails if they are already registered there.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_outbox_pending_events", Help: "Events committed to the outbox and not yet acknowledged by JetStream.",
		}),
		OldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_outbox_oldest_event_age_seconds", Help: "Age of the oldest event waiting in the outbox.",
		}),
		Published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_outbox_published_total", Help: "Outbox events acknowledged by JetStream.",
		}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_outbox_duplicates_total", Help: "Outbox events JetStream acknowledged as duplicates (republished after a crash).",
		}),
		PublishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_outbox_publish_errors_total", Help: "Failed outbox publishes; every failed event is retried.",
		}),
		Lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sluice_outbox_publish_lag_seconds", Help: "Delay from commit of an outbox event to its PubAck.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Pending, m.OldestAge, m.Published, m.Duplicates, m.PublishErrors, m.Lag} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("outbox: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *Metrics) published(duplicate bool, created time.Time) {
	if m == nil {
		return
	}
	m.Published.Inc()
	if duplicate {
		m.Duplicates.Inc()
	}
	if !created.IsZero() {
		m.Lag.Observe(time.Since(created).Seconds())
	}
}

func (m *Metrics) publishError() {
	if m == nil {
		return
	}
	m.PublishErrors.Inc()
}

func (m *Metrics) setStats(st meta.OutboxStats) {
	if m == nil {
		return
	}
	m.Pending.Set(float64(st.Pending))
	if st.Pending == 0 {
		m.OldestAge.Set(0)
		return
	}
	m.OldestAge.Set(time.Since(st.Oldest).Seconds())
}
