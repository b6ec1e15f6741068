package outbox

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/s3front/meta"
)

// statsTimeout bounds the store query a scrape of Pending and OldestAge makes.
const statsTimeout = 2 * time.Second

// statsReuse is how long one store query answers both outbox gauges of a scrape.
const statsReuse = 100 * time.Millisecond

// Metrics are the relay's Prometheus metrics. One Metrics may be shared by several
// relays of a process. A nil *Metrics records nothing.
//
// Pending and OldestAge are read from the outbox store when they are scraped (the
// store of the first relay created with these Metrics), so they are never stale: a
// scrape that reads 0 pending means every committed event had been acknowledged by
// JetStream at that moment. Before a relay exists, or if the query fails, they
// report the last value read.
type Metrics struct {
	Pending       prometheus.GaugeFunc // rows waiting in the outbox
	OldestAge     prometheus.GaugeFunc // age of the oldest waiting row, seconds
	Published     prometheus.Counter   // rows acknowledged by JetStream
	Duplicates    prometheus.Counter   // of those, acknowledged as duplicates (republished after a crash)
	PublishErrors prometheus.Counter   // failed publishes (each retried)
	Lag           prometheus.Histogram // commit → PubAck delay, seconds

	mu     sync.Mutex
	store  Store
	last   meta.OutboxStats
	lastAt time.Time
}

// NewMetrics creates the metrics and registers them with reg (when non-nil).
// It fails if they are already registered there.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{}
	m.Pending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_outbox_pending_events", Help: "Events committed to the outbox and not yet acknowledged by JetStream.",
	}, func() float64 { return float64(m.stats().Pending) })
	m.OldestAge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_outbox_oldest_event_age_seconds", Help: "Age of the oldest event waiting in the outbox.",
	}, func() float64 {
		st := m.stats()
		if st.Pending == 0 || st.Oldest.IsZero() {
			return 0
		}
		return time.Since(st.Oldest).Seconds()
	})
	m.Published = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_outbox_published_total", Help: "Outbox events acknowledged by JetStream.",
	})
	m.Duplicates = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_outbox_duplicates_total", Help: "Outbox events JetStream acknowledged as duplicates (republished after a crash).",
	})
	m.PublishErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_outbox_publish_errors_total", Help: "Failed outbox publishes; every failed event is retried.",
	})
	m.Lag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "sluice_outbox_publish_lag_seconds", Help: "Delay from commit of an outbox event to its PubAck.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	})
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

// watch makes store the source of Pending and OldestAge, unless one is set.
func (m *Metrics) watch(store Store) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store == nil {
		m.store = store
	}
}

// stats queries the store, or returns the last answer if it is recent or the
// query fails.
func (m *Metrics) stats() meta.OutboxStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store == nil || time.Since(m.lastAt) < statsReuse {
		return m.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	st, err := m.store.OutboxStats(ctx)
	if err != nil {
		return m.last
	}
	m.last, m.lastAt = st, time.Now()
	return st
}
