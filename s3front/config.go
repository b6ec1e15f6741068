package s3front

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/services/config"
	"github.com/sluice-io/sluice/services/location"
)

// Defaults of Config.
const (
	DefaultListen          = config.DefaultS3Listen // 127.0.0.1:9600
	DefaultRegion          = "us-east-1"
	DefaultMaxSkew         = 15 * time.Minute
	DefaultLocationName    = "local"
	DefaultMetadataDriver  = DriverSQLite
	DefaultMetadataPath    = "meta/sluice.db" // relative to the data directory
	DefaultObjectsDir      = "objects"        // relative to the data directory
	RootPrincipal          = "root"
	DriverSQLite           = "sqlite"
	DriverPostgres         = "postgres"
	minSecretKeyLen        = 8
	minAccessKeyLen        = 3
	maxAccessKeyLen        = 128
	defaultShutdownTimeout = 30 * time.Second
)

// Config configures the S3 front end (the "s3" section of the sluice
// configuration). Load it with services/config.Load, which calls
// SetDefaults and Validate.
type Config struct {
	// Listen is the S3 endpoint's host:port; exactly this address is bound.
	// Default 127.0.0.1:9600; "127.0.0.1:0" picks a free port (see
	// Service.Addr).
	Listen string `yaml:"listen"`
	// Region is the SigV4 signing region and the events' awsRegion.
	// Default us-east-1.
	Region string `yaml:"region"`
	// Domain, when set, enables virtual-host-style addressing: a Host of
	// "<bucket>.<domain>" selects the bucket. Example "s3.local".
	Domain string `yaml:"domain"`
	// MaxSkew is the largest accepted difference between a request's
	// signing time and the server clock. Default 15m.
	MaxSkew time.Duration `yaml:"max_skew"`
	// Users are the S3 users and their access keys. The root key pair of
	// the common configuration is always added as user "root".
	Users []User `yaml:"users"`
	// Metadata selects the metadata store.
	Metadata Metadata `yaml:"metadata"`
	// Locations are the named data locations. Default: one "local" fs
	// location at <data_dir>/objects.
	Locations map[string]location.Config `yaml:"locations"`
	// DefaultLocation holds the data of buckets created without a
	// LocationConstraint. Default "local".
	DefaultLocation string `yaml:"default_location"`

	// RootAccessKey and RootSecretKey are the common configuration's root
	// key pair (config.Common); the command copies them here.
	RootAccessKey string `yaml:"-"`
	RootSecretKey string `yaml:"-" secret:"true"`

	// Events are the delivery targets (the configuration's "events"
	// section); the command copies them here with WithEvents. A bucket
	// notification configuration may only name these targets.
	Events deliver.Config `yaml:"-"`
	// SearchURL is the process HTTP listener of an indexer running in another process
	// (e.g. http://indexer:9601); GET /{bucket}?search= is proxied to it. Under
	// `sluice run all` the indexer's handler is handed over directly (WithSearch).
	SearchURL string `yaml:"search_url"`
	// Search is the in-process search handler; the command sets it with WithSearch.
	Search http.Handler `yaml:"-"`
}

// User is one S3 user: its name is the principal that owns its buckets.
type User struct {
	Name      string `yaml:"name"`
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key" secret:"true"`
}

// Metadata configures the metadata store.
type Metadata struct {
	// Driver is "sqlite" (default, embedded) or "postgres".
	Driver string `yaml:"driver"`
	// Path is the SQLite database file. Default <data_dir>/meta/sluice.db.
	Path string `yaml:"path"`
	// DSN is the PostgreSQL connection string (driver postgres).
	DSN string `yaml:"dsn" secret:"true"`
}

// SetDefaults sets every default that does not depend on the data
// directory; New fills Metadata.Path and Locations from it.
func (c *Config) SetDefaults() {
	c.Listen = DefaultListen
	c.Region = DefaultRegion
	c.MaxSkew = DefaultMaxSkew
	c.Metadata.Driver = DefaultMetadataDriver
	c.DefaultLocation = DefaultLocationName
}

// WithCommon returns c with the root key pair of common copied in.
func (c Config) WithCommon(common config.Common) Config {
	c.RootAccessKey, c.RootSecretKey = common.RootAccessKey, common.RootSecretKey
	return c
}

// WithSearch returns c with h answering metadata searches.
func (c Config) WithSearch(h http.Handler) Config {
	c.Search = h
	return c
}

// searchHandler is the handler for GET /{bucket}?search=: the in-process one, or a
// reverse proxy to SearchURL, or nil.
func (c Config) searchHandler() (http.Handler, error) {
	if c.Search != nil || c.SearchURL == "" {
		return c.Search, nil
	}
	u, err := url.Parse(c.SearchURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, config.Invalidf("search_url %q must be an http(s) URL", c.SearchURL)
	}
	return httputil.NewSingleHostReverseProxy(u), nil
}

// WithEvents returns c with the delivery targets of the events section.
func (c Config) WithEvents(events deliver.Config) Config {
	c.Events = events
	return c
}

// ResolvedLocations returns the locations the service serves when its data
// directory is dataDir: a copy of Locations, or, when none are configured,
// the default fs location (DefaultLocation, or "local") under dataDir, as
// New resolves them. Other processes (the replicator) use it to address
// the same locations.
func (c Config) ResolvedLocations(dataDir string) map[string]location.Config {
	c.resolve(dataDir)
	return maps.Clone(c.Locations)
}

// resolve fills the defaults that depend on the data directory.
func (c *Config) resolve(dataDir string) {
	if c.Metadata.Driver == "" {
		c.Metadata.Driver = DefaultMetadataDriver
	}
	if c.Metadata.Driver == DriverSQLite && c.Metadata.Path == "" {
		c.Metadata.Path = filepath.Join(dataDir, DefaultMetadataPath)
	}
	if c.DefaultLocation == "" {
		c.DefaultLocation = DefaultLocationName
	}
	if len(c.Locations) == 0 {
		c.Locations = map[string]location.Config{
			c.DefaultLocation: {Type: location.TypeFS, Path: filepath.Join(dataDir, DefaultObjectsDir)},
		}
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.MaxSkew == 0 {
		c.MaxSkew = DefaultMaxSkew
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
}

var (
	domainRE     = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	regionRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	userNameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+=,-]{0,63}$`)
	accessKeyRE  = regexp.MustCompile(`^[A-Za-z0-9._+=/-]+$`)
	locationName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
)

// Validate checks the section's own fields; location configs validate
// themselves. Errors wrap config.ErrInvalid.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, config.Invalidf(format, args...)) }
	if _, err := c.searchHandler(); err != nil {
		errs = append(errs, err)
	}
	if c.Listen != "" {
		if err := config.ValidateListen(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen: %w", err))
		}
	}
	if c.Region != "" && !regionRE.MatchString(c.Region) {
		add("region %q is not a region name", c.Region)
	}
	if c.Domain != "" && !domainRE.MatchString(strings.ToLower(strings.TrimSuffix(c.Domain, "."))) {
		add("domain %q is not a DNS name", c.Domain)
	}
	if c.MaxSkew < 0 {
		add("max_skew must not be negative")
	}
	switch c.Metadata.Driver {
	case "", DriverSQLite:
		if c.Metadata.DSN != "" {
			add("metadata.dsn is only used with driver %q", DriverPostgres)
		}
	case DriverPostgres:
		if c.Metadata.DSN == "" {
			add("metadata.dsn is required with driver %q", DriverPostgres)
		}
	default:
		add("metadata.driver %q must be %q or %q", c.Metadata.Driver, DriverSQLite, DriverPostgres)
	}
	keys := map[string]bool{}
	names := map[string]bool{}
	if c.RootAccessKey != "" {
		keys[c.RootAccessKey] = true
		names[RootPrincipal] = true
	}
	for i, u := range c.Users {
		switch {
		case !userNameRE.MatchString(u.Name):
			add("users[%d]: name %q must be 1-64 letters, digits or ._@+=,-", i, u.Name)
		case names[u.Name]:
			add("users[%d]: name %q is used twice (root is reserved)", i, u.Name)
		}
		names[u.Name] = true
		switch {
		case len(u.AccessKey) < minAccessKeyLen || len(u.AccessKey) > maxAccessKeyLen || !accessKeyRE.MatchString(u.AccessKey):
			add("users[%d]: access_key must be %d-%d letters, digits or ._+=/-", i, minAccessKeyLen, maxAccessKeyLen)
		case keys[u.AccessKey]:
			add("users[%d]: access_key is used twice", i)
		}
		keys[u.AccessKey] = true
		if len(u.SecretKey) < minSecretKeyLen {
			add("users[%d]: secret_key must be at least %d characters", i, minSecretKeyLen)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Locations)) {
		if !locationName.MatchString(name) {
			add("locations: name %q must be 1-63 letters, digits or ._-", name)
		}
	}
	if len(c.Locations) > 0 {
		def := c.DefaultLocation
		if def == "" {
			def = DefaultLocationName
		}
		if _, ok := c.Locations[def]; !ok {
			add("default_location %q is not one of the locations", def)
		}
	}
	if err := c.Events.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: events: %w", config.ErrInvalid, err))
	}
	return errors.Join(errs...)
}
