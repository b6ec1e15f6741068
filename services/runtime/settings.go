package runtime

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/health"
)

// Settings is what the process hands to every service library's
// New(cfg Config, set Settings). Every field is set by Process.Start.
type Settings struct {
	// Logger is the process logger; a service names its own child
	// (Logger.Named("replicator")).
	Logger *zap.Logger
	// Conn is the process's NATS connection, shared by every service in it.
	Conn *nats.Conn
	// JetStream is bound to Conn.
	JetStream jetstream.JetStream
	// Registry is the process's metrics registry, served on /metrics.
	Registry *prometheus.Registry
	// Clock tells the time; tests inject a fake.
	Clock Clock
	// Admin mounts routes under /admin/ on the process listener.
	Admin health.Admin
	// Ready registers readiness checks (a service's stores, its consumers).
	Ready health.Readiness
	// DataDir is the process's directory for local state; it exists.
	DataDir string
	// StreamReplicas is the replica count for the streams services create.
	StreamReplicas int
}

// Clock tells the current time. Services read time only through it, so
// tests (lifecycle above all) control time.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// Target is one service running in the process (`sluice run replicator`
// runs one, `sluice run all` runs them all).
type Target interface {
	// Name names the target in logs and errors.
	Name() string
	// Run works until ctx ends, then stops its goroutines, drains its
	// consumers and returns nil (or ctx.Err()). Any other error stops the
	// whole process.
	Run(ctx context.Context) error
}

// NewTarget makes a Target from a name and a run function.
func NewTarget(name string, run func(ctx context.Context) error) Target {
	return funcTarget{name: name, run: run}
}

type funcTarget struct {
	name string
	run  func(ctx context.Context) error
}

func (t funcTarget) Name() string                  { return t.name }
func (t funcTarget) Run(ctx context.Context) error { return t.run(ctx) }
