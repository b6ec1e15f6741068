package deliver

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sluice-io/sluice/events/bus"
)

// Kind is the kind of a delivery target.
type Kind string

// Target kinds.
const (
	// KindWebhook POSTs each event to a URL; any non-2xx answer is retried.
	KindWebhook Kind = "webhook"
	// KindFunction POSTs each event to an HTTP function with the workflow
	// contract: 2xx done, 4xx (except 408 and 429) permanent failure (dead
	// letter at once), 5xx, 408, 429 and timeouts retried.
	KindFunction Kind = "function"
	// KindNATS re-publishes each event to a NATS subject in CloudEvents
	// binary mode.
	KindNATS Kind = "nats"
)

// Format is the body format of webhook and function deliveries.
type Format string

// Body formats.
const (
	// FormatBinary is CloudEvents HTTP binary mode: attributes in Ce-
	// headers, the S3 record as the JSON body. The default.
	FormatBinary Format = "binary"
	// FormatStructured is CloudEvents structured mode: the whole event as
	// application/cloudevents+json.
	FormatStructured Format = "structured"
	// FormatRecords is the raw AWS notification body {"Records":[...]},
	// for handlers written for S3 notifications.
	FormatRecords Format = "records"
)

// Defaults applied by TargetConfig.WithDefaults and Config.WithDefaults.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultMaxAttempts    = 10
	DefaultConcurrency    = 32
	DefaultBreakAfter     = 5
	DefaultMaxRetryAfter  = time.Hour
	DefaultStatusInterval = 5 * time.Second
	// MinAckWait is the shortest Config.AckWait accepted: running
	// deliveries must be able to send their heartbeats in time.
	MinAckWait = time.Second
	// MaxConcurrency bounds a target's concurrency.
	MaxConcurrency = 1024
	// MaxTargetNameLen bounds a target name.
	MaxTargetNameLen = 64
)

// DefaultBackoff is a target's retry backoff when its backoff is unset.
var DefaultBackoff = BackoffConfig{Initial: time.Second, Max: 5 * time.Minute, Jitter: 0.2}

// BackoffConfig is a target's retry backoff: the delay after the n-th
// failed attempt is Initial*2^(n-1), capped at Max, shortened by a random
// part of up to Jitter (a fraction in [0, 1]). The zero value means
// DefaultBackoff; otherwise a zero Initial or Max takes the default's.
type BackoffConfig struct {
	Initial time.Duration `yaml:"initial" json:"initial"`
	Max     time.Duration `yaml:"max" json:"max"`
	Jitter  float64       `yaml:"jitter" json:"jitter"`
}

// bus returns the backoff as the bus's type.
func (b BackoffConfig) bus() bus.Backoff {
	return bus.Backoff{Initial: b.Initial, Max: b.Max, Jitter: b.Jitter}
}

// TargetConfig is one named delivery target.
type TargetConfig struct {
	// Name names the target: 1 to MaxTargetNameLen of [A-Za-z0-9_-]. Its
	// consumer is "deliver-<name>" and its ARN arn:sluice:<kind>::<name>
	// (webhook, function).
	Name string `yaml:"name" json:"name"`
	// Kind is webhook, function or nats.
	Kind Kind `yaml:"kind" json:"kind"`
	// URL is the http or https URL webhooks and functions are POSTed to. It
	// must not carry user information (use BearerToken).
	URL string `yaml:"url" json:"url,omitempty"`
	// Subject is the NATS subject nats targets publish to (no wildcards,
	// not under sluice.events., sluice.redrive. or sluice.dlq.). Its ARN is
	// arn:sluice:nats::<subject>.
	Subject string `yaml:"subject" json:"subject,omitempty"`
	// Format is binary (default), structured or records; nats targets
	// only use binary.
	Format Format `yaml:"format" json:"format,omitempty"`
	// Secret, when set, is the HMAC-SHA256 key of the X-Sluice-Signature
	// header.
	Secret string `yaml:"secret" json:"-" secret:"true"`
	// BearerToken, when set, is sent as "Authorization: Bearer <token>".
	BearerToken string `yaml:"bearer_token" json:"-" secret:"true"`
	// Timeout bounds one delivery attempt; zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
	// MaxAttempts is how many failed attempts dead-letter an event; zero
	// means DefaultMaxAttempts. While the target's circuit is open (see
	// BreakAfter) an event held for a probe counts one attempt per five
	// failed probes it makes, so a target that is down for hours keeps
	// its events.
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts,omitempty"`
	// Backoff is the retry backoff; zero fields take DefaultBackoff's.
	Backoff BackoffConfig `yaml:"backoff" json:"backoff"`
	// Ordered delivers the events of one key in sequencer order, by
	// allowing one unacknowledged delivery at a time (Concurrency 1).
	Ordered bool `yaml:"ordered" json:"ordered,omitempty"`
	// Concurrency is how many deliveries run at once in one replica; zero
	// means DefaultConcurrency (1 when Ordered).
	Concurrency int `yaml:"concurrency" json:"concurrency,omitempty"`
	// BreakAfter is how many consecutive transient failures open the
	// target's circuit: deliveries then wait, holding their events without
	// spending attempts, while one probe at a time retries with backoff.
	// A Retry-After answer opens it too, for the time asked. Zero means
	// DefaultBreakAfter; negative means only Retry-After opens it.
	BreakAfter int `yaml:"break_after" json:"break_after,omitempty"`
	// MaxRetryAfter caps how long a Retry-After answer pauses the target;
	// zero means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration `yaml:"max_retry_after" json:"max_retry_after,omitempty"`
}

// String describes the target without its secrets.
func (t TargetConfig) String() string {
	return fmt.Sprintf("%s target %q (%s)", t.Kind, t.Name, t.ARN())
}

// ARN returns the target's ARN.
func (t TargetConfig) ARN() ARN {
	if t.Kind == KindNATS {
		return ARN{Kind: KindNATS, Resource: t.Subject}
	}
	return ARN{Kind: t.Kind, Resource: t.Name}
}

// Durable returns the name of the target's durable consumer:
// "deliver-<name>".
func (t TargetConfig) Durable() string { return DurablePrefix + t.Name }

// DurablePrefix starts the durable consumer name of every target.
const DurablePrefix = "deliver-"

// WithDefaults returns t with zero fields set to their defaults.
func (t TargetConfig) WithDefaults() TargetConfig {
	if t.Format == "" {
		t.Format = FormatBinary
	}
	if t.Timeout == 0 {
		t.Timeout = DefaultTimeout
	}
	if t.MaxAttempts == 0 {
		t.MaxAttempts = DefaultMaxAttempts
	}
	if t.Backoff == (BackoffConfig{}) {
		t.Backoff = DefaultBackoff
	}
	if t.Backoff.Initial == 0 {
		t.Backoff.Initial = DefaultBackoff.Initial
	}
	if t.Backoff.Max == 0 {
		t.Backoff.Max = max(DefaultBackoff.Max, t.Backoff.Initial)
	}
	if t.Concurrency == 0 {
		t.Concurrency = DefaultConcurrency
		if t.Ordered {
			t.Concurrency = 1
		}
	}
	if t.BreakAfter == 0 {
		t.BreakAfter = DefaultBreakAfter
	}
	if t.MaxRetryAfter == 0 {
		t.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return t
}

// Validate checks the target as written (before defaults). It returns an
// error wrapping ErrInvalidConfig that names the first problem.
func (t TargetConfig) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: target %q: %s", ErrInvalidConfig, t.Name, fmt.Sprintf(format, args...))
	}
	if err := validTargetName(t.Name); err != nil {
		return bad("%v", err)
	}
	switch t.Kind {
	case KindWebhook, KindFunction:
		if err := validURL(t.URL); err != nil {
			return bad("url: %v", err)
		}
		if t.Subject != "" {
			return bad("subject is only for nats targets")
		}
		switch t.Format {
		case "", FormatBinary, FormatStructured, FormatRecords:
		default:
			return bad("format %q: want binary, structured or records", t.Format)
		}
	case KindNATS:
		if err := validPublishSubject(t.Subject); err != nil {
			return bad("subject: %v", err)
		}
		if t.URL != "" || t.Secret != "" || t.BearerToken != "" {
			return bad("url, secret and bearer_token are only for webhook and function targets")
		}
		if t.Format != "" && t.Format != FormatBinary {
			return bad("nats targets publish in binary format only")
		}
	default:
		return bad("kind %q: want webhook, function or nats", t.Kind)
	}
	if strings.ContainsAny(t.BearerToken, "\r\n") {
		return bad("bearer_token contains a line break")
	}
	if t.Timeout < 0 || t.MaxAttempts < 0 || t.Concurrency < 0 || t.MaxRetryAfter < 0 {
		return bad("timeout, max_attempts, concurrency and max_retry_after must not be negative")
	}
	if t.Concurrency > MaxConcurrency {
		return bad("concurrency %d is more than %d", t.Concurrency, MaxConcurrency)
	}
	if t.Ordered && t.Concurrency > 1 {
		return bad("an ordered target delivers one event at a time: concurrency must be 0 or 1")
	}
	b := t.WithDefaults().Backoff
	if b.Initial < 0 || b.Max < b.Initial {
		return bad("backoff needs 0 < initial <= max")
	}
	if !(b.Jitter >= 0 && b.Jitter <= 1) {
		return bad("backoff jitter %v not in [0, 1]", b.Jitter)
	}
	return nil
}

// Config is the set of delivery targets of a Sluice installation.
type Config struct {
	// Targets are the named targets.
	Targets []TargetConfig `yaml:"targets" json:"targets"`
	// StatusInterval is how often each target's backlog is read from
	// JetStream (status and the backlog gauge); zero means
	// DefaultStatusInterval.
	StatusInterval time.Duration `yaml:"status_interval" json:"status_interval,omitempty"`
	// AckWait is how long a target's consumer waits for a delivery's
	// acknowledgement (or progress heartbeat) before it hands the event to
	// another replica; zero means bus.DefaultAckWait (30s). Running
	// deliveries send a heartbeat every AckWait/3, so a short AckWait only
	// makes the events a crashed replica held come back sooner.
	AckWait time.Duration `yaml:"ack_wait" json:"ack_wait,omitempty"`
}

// WithDefaults returns c with every target's defaults applied.
func (c Config) WithDefaults() Config {
	out := Config{Targets: make([]TargetConfig, len(c.Targets)), StatusInterval: c.StatusInterval, AckWait: c.AckWait}
	for i, t := range c.Targets {
		out.Targets[i] = t.WithDefaults()
	}
	if out.StatusInterval == 0 {
		out.StatusInterval = DefaultStatusInterval
	}
	return out
}

// Validate checks every target and that names, and the subjects of nats
// targets, are unique. It returns every problem found, joined, each
// wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	names := map[string]bool{}
	subjects := map[string]bool{}
	for _, t := range c.Targets {
		if err := t.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if names[t.Name] {
			errs = append(errs, fmt.Errorf("%w: target name %q is used twice", ErrInvalidConfig, t.Name))
		}
		names[t.Name] = true
		if t.Kind == KindNATS {
			if subjects[t.Subject] {
				errs = append(errs, fmt.Errorf("%w: nats subject %q is used by two targets", ErrInvalidConfig, t.Subject))
			}
			subjects[t.Subject] = true
		}
	}
	if c.StatusInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: negative status_interval", ErrInvalidConfig))
	}
	if c.AckWait != 0 && c.AckWait < MinAckWait {
		errs = append(errs, fmt.Errorf("%w: ack_wait %v is shorter than %v", ErrInvalidConfig, c.AckWait, MinAckWait))
	}
	return errors.Join(errs...)
}

// Target returns the target named name. It returns ErrUnknownTarget when
// there is none.
func (c Config) Target(name string) (TargetConfig, error) {
	for _, t := range c.Targets {
		if t.Name == name {
			return t, nil
		}
	}
	return TargetConfig{}, fmt.Errorf("%w: no target named %q", ErrUnknownTarget, name)
}

// Resolve returns the target an ARN names: the webhook or function target
// of that name, or the nats target publishing to that subject. It returns
// an error wrapping ErrInvalidARN for a malformed ARN and ErrUnknownTarget
// when no configured target matches (including a target of another kind).
func (c Config) Resolve(arn string) (TargetConfig, error) {
	a, err := ParseARN(arn)
	if err != nil {
		return TargetConfig{}, err
	}
	for _, t := range c.Targets {
		if t.Kind == a.Kind && t.ARN() == a {
			return t, nil
		}
	}
	return TargetConfig{}, fmt.Errorf("%w: %s", ErrUnknownTarget, arn)
}

// validTargetName checks a target name: 1 to MaxTargetNameLen bytes of
// [A-Za-z0-9_-].
func validTargetName(s string) error {
	if s == "" || len(s) > MaxTargetNameLen {
		return fmt.Errorf("name must be 1 to %d characters", MaxTargetNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("name %q may only contain letters, digits, '-' and '_'", s)
		}
	}
	return nil
}

// reservedSubjectPrefixes are subject spaces a nats target must not publish
// into: they are Sluice's own streams, so re-publishing there would loop.
var reservedSubjectPrefixes = []string{"sluice.events.", "sluice.redrive.", "sluice.dlq."}

// validPublishSubject checks a subject a nats target publishes to.
func validPublishSubject(s string) error {
	if s == "" {
		return errors.New("empty subject")
	}
	if len(s) > 255 {
		return errors.New("subject longer than 255 bytes")
	}
	if strings.HasPrefix(s, "$") {
		return fmt.Errorf("subject %q is in the reserved $ space", s)
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return fmt.Errorf("subject %q has an empty token", s)
		}
		if strings.ContainsAny(tok, "*> \t\r\n\f\v\x00") {
			return fmt.Errorf("subject %q contains a wildcard or white space", s)
		}
	}
	for _, p := range reservedSubjectPrefixes {
		if strings.HasPrefix(s+".", p) {
			return fmt.Errorf("subject %q is inside Sluice's own %s> space", s, p)
		}
	}
	return nil
}

// validURL checks a webhook or function URL.
func validURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return fmt.Errorf("not a valid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	if u.User != nil {
		return errors.New("user information in the URL would end up in logs; use bearer_token")
	}
	return nil
}
