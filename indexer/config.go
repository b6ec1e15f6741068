package indexer

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/services/config"
)

// Defaults of Config.
const (
	DefaultDurable       = "indexer"
	DefaultStatusDurable = "indexer-status"
	DefaultBatchSize     = 500
	// DefaultBurstFactor makes the default MaxBatchSize: BatchSize times
	// this.
	DefaultBurstFactor        = 4
	DefaultBatchWait          = 20 * time.Millisecond
	DefaultAckWait            = 30 * time.Second
	DefaultDrainWait          = 30 * time.Second
	DefaultTombstoneRetention = 24 * time.Hour
	DefaultCleanupInterval    = time.Hour
	DefaultDriver             = DriverSQLite
	DefaultSQLitePath         = "index/index.db" // relative to the data directory
	DriverSQLite              = "sqlite"
	DriverPostgres            = "postgres"
	// MinTombstoneRetention is the shortest tombstone retention allowed:
	// far longer than any redelivery (see Config.TombstoneRetention).
	MinTombstoneRetention = time.Hour
	maxBatchSize          = 5000
	maxMaxBatchSize       = 20000
	maxBatchWait          = 10 * time.Second
	minCleanupInterval    = time.Second
	commitTimeout         = 60 * time.Second
	defaultMaxAckPends    = 1000
)

// Config configures the indexer (the "indexer" section of the sluice
// configuration). Load it with services/config.Load, which calls
// SetDefaults and Validate.
type Config struct {
	// Durable is the name of the durable consumer every indexer replica
	// shares. Default "indexer".
	Durable string `yaml:"durable"`
	// StatusDurable is the durable consumer of replication results on the
	// status stream (SLUICE_STATUS), shared by the replicas. Default
	// "indexer-status".
	StatusDurable string `yaml:"status_durable"`
	// BatchSize is the number of events a batch waits for (at most
	// BatchWait) before it is applied in one store transaction. Default
	// 500.
	BatchSize int `yaml:"batch_size"`
	// MaxBatchSize bounds the batches of a burst: when a batch is full
	// and more events are already waiting (a backlog, while the previous
	// batch committed), it takes them too, up to this many. Bigger
	// transactions write each index page once for more events. Default 4
	// times BatchSize; at least BatchSize.
	MaxBatchSize int `yaml:"max_batch_size"`
	// BatchWait is how long a batch waits for more events after its first
	// one before it is applied. Default 20ms.
	BatchWait time.Duration `yaml:"batch_wait"`
	// AckWait is how long the server waits for an event's ack before it
	// redelivers it to another replica (the consume loop sends progress
	// heartbeats meanwhile). Default 30s.
	AckWait time.Duration `yaml:"ack_wait"`
	// DrainWait bounds the graceful stop: how long in-flight batches may
	// take to commit and be acked before the remaining messages are given
	// back. Default 30s.
	DrainWait time.Duration `yaml:"drain_wait"`
	// TombstoneRetention is how long the index keeps the tombstone of a
	// removed version (and a version known only from updates), by the
	// indexer's clock from when it was written. While it exists, a late
	// event older than the removal cannot bring the version back; once it
	// is purged, one could. So it must outlast every delay an event can
	// have after the removal was applied: redeliveries (AckWait, backoff,
	// a consumer moving to another replica) take minutes, and the default
	// of 24 hours also leaves a day to redrive dead letters. (A replay of
	// the stream in order is safe at any age: the removal comes after
	// the events it removes.) At least MinTombstoneRetention.
	TombstoneRetention time.Duration `yaml:"tombstone_retention"`
	// CleanupInterval is how often the service purges expired tombstones
	// (once at start, then every interval). Default 1h; at least 1s.
	CleanupInterval time.Duration `yaml:"cleanup_interval"`
	// Store selects the index database.
	Store StoreConfig `yaml:"store"`
}

// StoreConfig selects the index database.
type StoreConfig struct {
	// Driver is "sqlite" (default, embedded) or "postgres" (shared by
	// replicas).
	Driver string `yaml:"driver"`
	// Path is the SQLite file. Default <data_dir>/index/index.db.
	Path string `yaml:"path"`
	// DSN is the PostgreSQL connection string (driver postgres).
	DSN string `yaml:"dsn" secret:"true"`
}

// SetDefaults sets every default that does not depend on the data
// directory.
func (c *Config) SetDefaults() {
	c.Durable = DefaultDurable
	c.StatusDurable = DefaultStatusDurable
	c.BatchSize = DefaultBatchSize
	c.BatchWait = DefaultBatchWait
	c.AckWait = DefaultAckWait
	c.DrainWait = DefaultDrainWait
	c.TombstoneRetention = DefaultTombstoneRetention
	c.CleanupInterval = DefaultCleanupInterval
	c.Store.Driver = DefaultDriver
}

// resolve fills zero fields with their defaults, and the SQLite path from
// the data directory.
func (c *Config) resolve(dataDir string) {
	if c.Durable == "" {
		c.Durable = DefaultDurable
	}
	if c.StatusDurable == "" {
		c.StatusDurable = DefaultStatusDurable
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.MaxBatchSize == 0 {
		c.MaxBatchSize = min(DefaultBurstFactor*c.BatchSize, maxMaxBatchSize)
	}
	if c.TombstoneRetention == 0 {
		c.TombstoneRetention = DefaultTombstoneRetention
	}
	if c.CleanupInterval == 0 {
		c.CleanupInterval = DefaultCleanupInterval
	}
	if c.BatchWait == 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.DrainWait == 0 {
		c.DrainWait = DefaultDrainWait
	}
	if c.Store.Driver == "" {
		c.Store.Driver = DefaultDriver
	}
	if c.Store.Driver == DriverSQLite && c.Store.Path == "" {
		c.Store.Path = filepath.Join(dataDir, DefaultSQLitePath)
	}
}

// Validate checks the section. Errors wrap config.ErrInvalid.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, config.Invalidf(format, args...)) }
	for _, d := range []struct{ name, v string }{{"durable", c.Durable}, {"status_durable", c.StatusDurable}} {
		if d.v == "" {
			continue
		}
		spec := bus.ConsumerSpec{Stream: bus.EventsStreamName, Durable: d.v, FilterSubjects: []string{bus.EventsSubjects}}
		if err := spec.Validate(); err != nil {
			add("%s %q cannot name a consumer (no dots, wildcards, slashes or spaces)", d.name, d.v)
		}
	}
	if c.Durable != "" && c.Durable == c.StatusDurable {
		add("durable and status_durable must differ")
	}
	if c.BatchSize < 0 || c.BatchSize > maxBatchSize {
		add("batch_size %d must be 1..%d", c.BatchSize, maxBatchSize)
	}
	if c.MaxBatchSize < 0 || c.MaxBatchSize > maxMaxBatchSize || (c.MaxBatchSize > 0 && c.MaxBatchSize < c.BatchSize) {
		add("max_batch_size %d must be batch_size..%d", c.MaxBatchSize, maxMaxBatchSize)
	}
	if c.TombstoneRetention != 0 && c.TombstoneRetention < MinTombstoneRetention {
		add("tombstone_retention %v must be at least %v (longer than any redelivery)", c.TombstoneRetention, MinTombstoneRetention)
	}
	if c.CleanupInterval != 0 && c.CleanupInterval < minCleanupInterval {
		add("cleanup_interval %v must be at least %v", c.CleanupInterval, minCleanupInterval)
	}
	if c.BatchWait < 0 || c.BatchWait > maxBatchWait {
		add("batch_wait %v must be between 0 and %v", c.BatchWait, maxBatchWait)
	}
	if c.AckWait < 0 || (c.AckWait > 0 && c.AckWait < time.Second) {
		add("ack_wait %v must be at least 1s", c.AckWait)
	}
	if c.DrainWait < 0 {
		add("drain_wait must not be negative")
	}
	switch c.Store.Driver {
	case "", DriverSQLite:
		if c.Store.DSN != "" {
			add("store.dsn is only used with driver %q", DriverPostgres)
		}
	case DriverPostgres:
		if c.Store.DSN == "" {
			add("store.dsn is required with driver %q", DriverPostgres)
		}
		if c.Store.Path != "" {
			add("store.path is only used with driver %q", DriverSQLite)
		}
	default:
		add("store.driver %q must be %q or %q", c.Store.Driver, DriverSQLite, DriverPostgres)
	}
	return errors.Join(errs...)
}
