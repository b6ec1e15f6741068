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
	DefaultDurable     = "indexer"
	DefaultBatchSize   = 500
	DefaultBatchWait   = 20 * time.Millisecond
	DefaultAckWait     = 30 * time.Second
	DefaultDrainWait   = 30 * time.Second
	DefaultDriver      = DriverSQLite
	DefaultSQLitePath  = "index/index.db" // relative to the data directory
	DriverSQLite       = "sqlite"
	DriverPostgres     = "postgres"
	maxBatchSize       = 5000
	maxBatchWait       = 10 * time.Second
	commitTimeout      = 60 * time.Second
	defaultMaxAckPends = 1000
)

// Config configures the indexer (the "indexer" section of the sluice
// configuration). Load it with services/config.Load, which calls
// SetDefaults and Validate.
type Config struct {
	// Durable is the name of the durable consumer every indexer replica
	// shares. Default "indexer".
	Durable string `yaml:"durable"`
	// BatchSize is the most events applied in one store transaction.
	// Default 500.
	BatchSize int `yaml:"batch_size"`
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
	c.BatchSize = DefaultBatchSize
	c.BatchWait = DefaultBatchWait
	c.AckWait = DefaultAckWait
	c.DrainWait = DefaultDrainWait
	c.Store.Driver = DefaultDriver
}

// resolve fills zero fields with their defaults, and the SQLite path from
// the data directory.
func (c *Config) resolve(dataDir string) {
	if c.Durable == "" {
		c.Durable = DefaultDurable
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
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
	if c.Durable != "" {
		spec := bus.ConsumerSpec{Stream: bus.EventsStreamName, Durable: c.Durable, FilterSubjects: []string{bus.EventsSubjects}}
		if err := spec.Validate(); err != nil {
			add("durable %q cannot name a consumer (no dots, wildcards, slashes or spaces)", c.Durable)
		}
	}
	if c.BatchSize < 0 || c.BatchSize > maxBatchSize {
		add("batch_size %d must be 1..%d", c.BatchSize, maxBatchSize)
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
