package server

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the S3 request metrics. The zero value is not usable; build
// one with NewMetrics. A nil *Metrics records nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered). Registering twice in one registry reuses the existing
// collectors, so a service can be rebuilt in one process.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Subsystem: "s3",
			Name: "requests_total",
			Help: "S3 requests by operation and HTTP status.",
		}, []string{"operation", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sluice", Subsystem: "s3",
			Name:    "request_duration_seconds",
			Help:    "S3 request latency by operation, until the handler returns.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"operation"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Subsystem: "s3",
			Name: "received_bytes_total",
			Help: "Request body bytes read by operation.",
		}, []string{"operation"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Subsystem: "s3",
			Name: "sent_bytes_total",
			Help: "Response body bytes written by operation.",
		}, []string{"operation"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.requests, err = register(reg, m.requests)
	if err != nil {
		return nil, err
	}
	m.latency, err = register(reg, m.latency)
	if err != nil {
		return nil, err
	}
	m.bytesIn, err = register(reg, m.bytesIn)
	if err != nil {
		return nil, err
	}
	m.bytesOut, err = register(reg, m.bytesOut)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register s3 metrics: %w", err)
	}
	return c, nil
}

func (m *Metrics) observe(op Op, status int, d time.Duration, in, out int64) {
	if m == nil {
		return
	}
	o := string(op)
	m.requests.WithLabelValues(o, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(o).Observe(d.Seconds())
	if in > 0 {
		m.bytesIn.WithLabelValues(o).Add(float64(in))
	}
	if out > 0 {
		m.bytesOut.WithLabelValues(o).Add(float64(out))
	}
}
