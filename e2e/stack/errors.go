package stack

import "errors"

// Sentinel errors returned by this package, wrapped with %w.
var (
	// ErrNotReady is returned by Start when /readyz did not answer 200 before the
	// deadline.
	ErrNotReady = errors.New("stack: sluice not ready")
	// ErrExited is returned by Start when the process exited while starting.
	ErrExited = errors.New("stack: sluice exited")
	// ErrRunning is returned by Start when the process is already running.
	ErrRunning = errors.New("stack: sluice already running")
	// ErrBanner is returned by the first Start when the start-up banner does not name
	// the S3, health and NATS addresses.
	ErrBanner = errors.New("stack: start-up banner incomplete")
	// ErrMetric is returned by Metric when /metrics cannot be read or lacks the metric.
	ErrMetric = errors.New("stack: metric unavailable")
)
