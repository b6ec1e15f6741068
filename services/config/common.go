// Package config holds the configuration every Sluice process shares (Common)
// and the generic machinery that loads a larger, per-binary configuration
// struct: defaults, then a YAML file, then SLUICE_* environment overrides,
// then validation (see Load). RedactedYAML renders the effective
// configuration with secrets hidden.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
)

// Defaults a newcomer relies on. Every one of them can be overridden by the
// YAML file, a SLUICE_* environment variable, or a flag.
const (
	// DefaultDataDir is where a process keeps local state (NATS store, SQLite, fs locations).
	DefaultDataDir = "./data"
	// DefaultS3Listen is the S3 endpoint served by s3front.
	DefaultS3Listen = "127.0.0.1:9600"
	// DefaultHTTPListen is the process listener for /healthz, /readyz, /metrics and /admin/.
	DefaultHTTPListen = "127.0.0.1:9601"
	// DefaultNATSListen is where the embedded NATS server listens for clients.
	DefaultNATSListen = "127.0.0.1:4222"
	// DefaultNATSServerName is the embedded server's name; it is stable across
	// restarts so the JetStream store is found and reused.
	DefaultNATSServerName = "sluice"
	// DefaultConnectTimeout bounds one NATS dial attempt.
	DefaultConnectTimeout = 5 * time.Second
	// LogFormatJSON and LogFormatConsole are the accepted log.format values.
	LogFormatJSON    = "json"
	LogFormatConsole = "console"
)

// Common is the configuration shared by every Sluice process. A binary's own
// configuration embeds it inline (`yaml:",inline"`) and adds one section per
// service; Load fills the whole struct.
type Common struct {
	// DataDir is the directory for local state; default DefaultDataDir.
	DataDir string `yaml:"data_dir"`
	// Log configures the process logger.
	Log Log `yaml:"log"`
	// HTTP configures the process listener (health, metrics, admin).
	HTTP HTTP `yaml:"http"`
	// NATS configures the embedded NATS server or the connection to a cluster.
	NATS NATS `yaml:"nats"`
	// RootAccessKey and RootSecretKey are the development root credentials of
	// the S3 front end; set both or neither (SLUICE_ROOT_ACCESS_KEY,
	// SLUICE_ROOT_SECRET_KEY).
	RootAccessKey string `yaml:"root_access_key"`
	RootSecretKey string `yaml:"root_secret_key" secret:"true"`
}

// SetDefaults sets DataDir; the nested sections set their own defaults.
func (c *Common) SetDefaults() {
	c.DataDir = DefaultDataDir
}

// Finalize derives nats.store_dir from data_dir when it was left empty.
func (c *Common) Finalize() {
	if c.NATS.StoreDir == "" && c.DataDir != "" {
		c.NATS.StoreDir = filepath.Join(c.DataDir, "nats")
	}
}

// Validate checks Common's own fields; Load validates the nested sections
// separately. It returns errors wrapping ErrInvalid.
func (c *Common) Validate() error {
	var errs []error
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, Invalidf("data_dir must not be empty"))
	}
	switch {
	case (c.RootAccessKey == "") != (c.RootSecretKey == ""):
		errs = append(errs, Invalidf("root_access_key and root_secret_key must be set together"))
	case c.RootAccessKey != "" && len(c.RootAccessKey) < 3:
		errs = append(errs, Invalidf("root_access_key must be at least 3 characters"))
	case c.RootSecretKey != "" && len(c.RootSecretKey) < 8:
		errs = append(errs, Invalidf("root_secret_key must be at least 8 characters"))
	}
	return errors.Join(errs...)
}

// Log configures the zap logger built by package logging.
type Log struct {
	// Level is a zap level name: debug, info, warn, error, dpanic, panic, fatal. Default info.
	Level string `yaml:"level"`
	// Format is "json" (default) or "console".
	Format string `yaml:"format"`
	// Development switches to a human-friendly console encoder.
	Development bool `yaml:"development"`
}

// SetDefaults sets level info and JSON format.
func (l *Log) SetDefaults() {
	l.Level = "info"
	l.Format = LogFormatJSON
}

// Validate checks the level name and the format; errors wrap ErrInvalid.
func (l *Log) Validate() error {
	var errs []error
	if _, err := zapcore.ParseLevel(l.Level); err != nil {
		errs = append(errs, Invalidf("level %q is not a log level (debug, info, warn, error)", l.Level))
	}
	if l.Format != LogFormatJSON && l.Format != LogFormatConsole {
		errs = append(errs, Invalidf("format %q must be %q or %q", l.Format, LogFormatJSON, LogFormatConsole))
	}
	return errors.Join(errs...)
}

// HTTP configures the process listener: one port per process.
type HTTP struct {
	// Listen is host:port; default DefaultHTTPListen. An empty host is rejected.
	Listen string `yaml:"listen"`
	// Pprof serves Go runtime profiles under /debug/pprof/ on this listener;
	// default false.
	Pprof bool `yaml:"pprof"`
}

// SetDefaults sets Listen to DefaultHTTPListen.
func (h *HTTP) SetDefaults() { h.Listen = DefaultHTTPListen }

// Validate checks Listen with ValidateListen.
func (h *HTTP) Validate() error {
	if err := ValidateListen(h.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return nil
}

// NATS configures either an embedded NATS server with JetStream (the default)
// or, when URLs is set, a client connection to an external server or cluster.
type NATS struct {
	// Embedded runs a NATS server inside the process. Ignored when URLs is set. Default true.
	Embedded bool `yaml:"embedded"`
	// Listen is the embedded server's client address; "127.0.0.1:0" picks a free port.
	Listen string `yaml:"listen"`
	// ServerName names the embedded server; keep it stable so its store is reused.
	ServerName string `yaml:"server_name"`
	// StoreDir is the embedded JetStream store; default <data_dir>/nats.
	StoreDir string `yaml:"store_dir"`
	// URLs, when set, makes the process connect to these servers instead of embedding one.
	URLs []string `yaml:"urls"`
	// Credentials is a .creds file (JWT and nkey seed) for connect mode.
	Credentials string `yaml:"credentials"`
	// NkeySeedFile is a file holding an nkey user seed for connect mode.
	NkeySeedFile string `yaml:"nkey_seed_file"`
	// User and Password authenticate with a user name; in embedded mode the
	// embedded server requires them too.
	User     string `yaml:"user"`
	Password string `yaml:"password" secret:"true"`
	// Token authenticates with a token; in embedded mode the server requires it too.
	Token string `yaml:"token" secret:"true"`
	// TLS configures client TLS in connect mode.
	TLS TLS `yaml:"tls"`
	// Replicas is the replica count services use for the streams they create. Default 1.
	Replicas int `yaml:"replicas"`
	// ConnectTimeout bounds one dial attempt and the embedded server's start. Default 5s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
}

// SetDefaults sets the embedded-server defaults.
func (n *NATS) SetDefaults() {
	n.Embedded = true
	n.Listen = DefaultNATSListen
	n.ServerName = DefaultNATSServerName
	n.Replicas = 1
	n.ConnectTimeout = DefaultConnectTimeout
}

// UseEmbedded reports whether the process runs an embedded server: Embedded
// is set and no URLs are configured.
func (n *NATS) UseEmbedded() bool { return len(n.URLs) == 0 && n.Embedded }

// Validate checks the mode, addresses, URLs and that at most one
// authentication method is configured; errors wrap ErrInvalid.
func (n *NATS) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, Invalidf(format, args...)) }
	if len(n.URLs) == 0 && !n.Embedded {
		add("set urls to connect to NATS, or embedded: true to run a server in the process")
	}
	for _, u := range n.URLs {
		if err := validateNATSURL(u); err != nil {
			errs = append(errs, fmt.Errorf("urls: %w", err))
		}
	}
	methods := 0
	for _, set := range []bool{n.Credentials != "", n.NkeySeedFile != "", n.User != "" || n.Password != "", n.Token != ""} {
		if set {
			methods++
		}
	}
	if methods > 1 {
		add("set only one of credentials, nkey_seed_file, user/password, token")
	}
	if n.Password != "" && n.User == "" {
		add("password is set without user")
	}
	if n.Replicas < 1 || n.Replicas > 5 {
		add("replicas must be between 1 and 5, got %d", n.Replicas)
	}
	if n.ConnectTimeout <= 0 {
		add("connect_timeout must be positive, got %s", n.ConnectTimeout)
	}
	if n.UseEmbedded() {
		if err := ValidateListen(n.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen: %w", err))
		}
		if strings.TrimSpace(n.StoreDir) == "" {
			add("store_dir must not be empty for the embedded server")
		}
		if n.ServerName == "" || strings.ContainsAny(n.ServerName, " \t\n") {
			add("server_name %q must be non-empty without spaces", n.ServerName)
		}
		if n.Replicas != 1 {
			add("replicas must be 1 with the embedded single server, got %d", n.Replicas)
		}
		if n.Credentials != "" || n.NkeySeedFile != "" {
			add("credentials and nkey_seed_file apply only when urls is set")
		}
		if n.TLS != (TLS{}) {
			add("tls applies only when urls is set")
		}
	}
	return errors.Join(errs...)
}

// TLS configures the NATS client's TLS.
type TLS struct {
	// CAFile is a PEM bundle of roots to trust instead of the system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate and key; set both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify disables server certificate verification (testing only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Enabled reports whether any TLS setting is present.
func (t TLS) Enabled() bool { return t != (TLS{}) }

// Validate checks that cert_file and key_file come together; errors wrap ErrInvalid.
func (t *TLS) Validate() error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return Invalidf("cert_file and key_file must be set together")
	}
	return nil
}

// ValidateListen checks a listen address: it must be host:port with a
// numeric port in 0..65535 and a non-empty host, so that nothing binds every
// interface by accident (write 0.0.0.0 or [::] explicitly for that). Errors
// wrap ErrInvalid.
func ValidateListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Invalidf("%q is not host:port", addr)
	}
	if host == "" {
		return Invalidf("%q has no host; write 127.0.0.1 for local only or 0.0.0.0 for every interface", addr)
	}
	if err := validatePort(port); err != nil {
		return Invalidf("%q: %v", addr, err)
	}
	return nil
}

func validatePort(port string) error {
	if port == "" || len(port) > 5 {
		return fmt.Errorf("port %q is not a number in 0..65535", port)
	}
	n := 0
	for _, r := range port {
		if r < '0' || r > '9' {
			return fmt.Errorf("port %q is not a number in 0..65535", port)
		}
		n = n*10 + int(r-'0')
	}
	if n > 65535 {
		return fmt.Errorf("port %q is not a number in 0..65535", port)
	}
	return nil
}

// validateNATSURL accepts nats://, tls://, ws:// and wss:// URLs and bare host:port.
func validateNATSURL(raw string) error {
	if !strings.Contains(raw, "://") {
		host, port, err := net.SplitHostPort(raw)
		if err != nil || host == "" || validatePort(port) != nil {
			return Invalidf("%q is not a URL or host:port", redactURL(raw))
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Invalidf("%q is not a URL", redactURL(raw))
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return Invalidf("%q: scheme must be nats, tls, ws or wss", redactURL(raw))
	}
	if u.Hostname() == "" {
		return Invalidf("%q has no host", redactURL(raw))
	}
	return nil
}

// problem is one validation finding: its message reads on its own and it
// matches ErrInvalid with errors.Is.
type problem struct{ msg string }

func (p *problem) Error() string        { return p.msg }
func (p *problem) Is(target error) bool { return target == ErrInvalid }

// Invalidf returns one validation problem for a Validate method: its text is
// the formatted message alone (Load adds the section path) and it matches
// ErrInvalid with errors.Is.
func Invalidf(format string, args ...any) error {
	return &problem{msg: fmt.Sprintf(format, args...)}
}
