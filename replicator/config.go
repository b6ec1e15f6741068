package replicator

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/services/location"
)

// Defaults used when a Config field is zero.
const (
	// DefaultThreshold is the replication-time objective: an operation that
	// takes longer produces Replication:OperationMissedThreshold and
	// Replication:OperationReplicatedAfterThreshold (15 minutes, as AWS RTC).
	DefaultThreshold = 15 * time.Minute
	// DefaultConcurrency is the number of objects copied at once per
	// destination and replica. Copies of small objects spend most of their
	// time waiting on the destination's PUT latency (tens of milliseconds
	// for MiB-sized and smaller objects on MinIO) and on NATS round trips,
	// not on CPU: at 8, a steady 200 PUT/s of 64 KiB objects outran the
	// replicator; at 32 it keeps up (e2e/replbench). Memory does not grow
	// with it: a destination driver bounds its buffers itself (the s3
	// driver's memoryLimit, 64 MiB by default).
	DefaultConcurrency = 32
	// DefaultMaxDeliver is how many failed attempts make an operation
	// FAILED and dead-letter it.
	DefaultMaxDeliver = 10
	// DefaultRegion is the region used to sign requests to the source.
	DefaultRegion = "us-east-1"
)

// ErrInvalidConfig is returned by Config.Validate and New for a config that
// cannot work.
var ErrInvalidConfig = errors.New("replicator: invalid config")

// SourceConfig is how the replicator reads source objects: through the S3
// API of the Sluice endpoint (s3front), with an access key allowed to read
// every replicated bucket (HeadObject, GetObject, GetObjectTagging,
// ListObjectsV2).
type SourceConfig struct {
	// Endpoint is the S3 endpoint URL, e.g. "http://127.0.0.1:9600".
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	// Region signs the requests; empty means DefaultRegion.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// AccessKeyID and SecretAccessKey are the replicator's credentials.
	AccessKeyID     string          `yaml:"accessKeyID" json:"accessKeyID"`
	SecretAccessKey location.Secret `yaml:"secretAccessKey" json:"secretAccessKey"`
}

// Config configures the replicator service.
type Config struct {
	// Destinations are the location names this replicator serves; each
	// gets its own durable consumer "replicate-<name>". Empty means every
	// location in Locations.
	Destinations []string `yaml:"destinations,omitempty" json:"destinations,omitempty"`
	// Locations is the shared locations config (name -> config); every
	// destination must be in it.
	Locations map[string]location.Config `yaml:"-" json:"-"`
	// Source is the S3 endpoint objects are read from.
	Source SourceConfig `yaml:"source" json:"source"`
	// Threshold is the replication-time objective; zero means
	// DefaultThreshold.
	Threshold time.Duration `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	// Concurrency per destination; zero means DefaultConcurrency.
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	// MaxDeliver attempts before FAILED; zero means DefaultMaxDeliver.
	MaxDeliver int `yaml:"maxDeliver,omitempty" json:"maxDeliver,omitempty"`
	// Backoff between attempts after a transient error; zero fields take
	// the bus defaults (1s doubling to 1m, 20% jitter).
	Backoff bus.Backoff `yaml:"-" json:"-"`
	// AckWait of the consumers; zero means the bus default (30s). Long
	// copies send heartbeats, so this need not cover a whole copy.
	AckWait time.Duration `yaml:"ackWait,omitempty" json:"ackWait,omitempty"`
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.Source.Region == "" {
		c.Source.Region = DefaultRegion
	}
	if len(c.Destinations) == 0 {
		for name := range c.Locations {
			c.Destinations = append(c.Destinations, name)
		}
	}
	return c
}

// Validate checks the config with defaults applied: a source endpoint URL
// and key pair, at least one destination, each a valid name present in
// Locations, positive settings. It returns an error wrapping
// ErrInvalidConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	u, err := url.Parse(c.Source.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: source.endpoint %q is not an http(s) URL", ErrInvalidConfig, c.Source.Endpoint)
	}
	if c.Source.AccessKeyID == "" || c.Source.SecretAccessKey == "" {
		return fmt.Errorf("%w: source access key and secret are required", ErrInvalidConfig)
	}
	if len(c.Destinations) == 0 {
		return fmt.Errorf("%w: no destinations", ErrInvalidConfig)
	}
	seen := map[string]bool{}
	for _, d := range c.Destinations {
		if err := rules.ValidLocationName(d); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		if seen[d] {
			return fmt.Errorf("%w: destination %q listed twice", ErrInvalidConfig, d)
		}
		seen[d] = true
		if _, ok := c.Locations[d]; !ok {
			return fmt.Errorf("%w: destination %q is not a configured location", ErrInvalidConfig, d)
		}
	}
	if c.Threshold < 0 || c.Concurrency < 0 || c.MaxDeliver < 0 || c.AckWait < 0 {
		return fmt.Errorf("%w: negative setting", ErrInvalidConfig)
	}
	return nil
}

// ConsumerName returns the durable consumer name of a destination:
// "replicate-<location>".
func ConsumerName(destination string) string { return "replicate-" + destination }
