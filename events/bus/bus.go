package bus

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Standard Sluice stream names and subject prefixes.
const (
	// EventsStreamName is the stream holding every Sluice event and every
	// redriven dead letter.
	EventsStreamName = "SLUICE_EVENTS"
	// DLQStreamName is the dead-letter stream.
	DLQStreamName = "SLUICE_DLQ"

	// EventsSubjects is the subject space of events.
	EventsSubjects = "sluice.events.>"
	// RedriveSubjectPrefix prefixes the subject a dead letter is redriven
	// to: RedriveSubjectPrefix + consumer.
	RedriveSubjectPrefix = "sluice.redrive."
	// DLQSubjectPrefix prefixes the subject of a dead letter:
	// DLQSubjectPrefix + consumer.
	DLQSubjectPrefix = "sluice.dlq."
)

// Default values used when an option or spec field is zero.
const (
	// DefaultDuplicates is the deduplication window of the standard streams.
	DefaultDuplicates = 2 * time.Minute
	// DefaultPublishAttemptTimeout bounds one publish attempt.
	DefaultPublishAttemptTimeout = 5 * time.Second
	// DefaultPublishRetryWait is the pause between publish attempts.
	DefaultPublishRetryWait = 250 * time.Millisecond
)

// Options configure a Bus. The zero value is usable.
type Options struct {
	// Logger receives the bus's log lines; nil means no logs.
	Logger *zap.Logger
	// DLQStream is the dead-letter stream; empty means DLQStreamName.
	DLQStream string
	// PublishAttemptTimeout bounds one publish attempt (one request and its
	// PubAck); Publish retries after it until its ctx ends. Zero means
	// DefaultPublishAttemptTimeout.
	PublishAttemptTimeout time.Duration
	// PublishRetryWait is the pause between publish attempts. Zero means
	// DefaultPublishRetryWait.
	PublishRetryWait time.Duration
}

// Bus is the handle services use to talk to JetStream: declare streams and
// consumers, publish, consume and manage dead letters. It is safe for
// concurrent use.
type Bus struct {
	js             jetstream.JetStream
	log            *zap.Logger
	dlqStream      string
	attemptTimeout time.Duration
	retryWait      time.Duration
}

// New returns a Bus over js. It returns ErrInvalidSpec when js is nil or an
// option is invalid.
func New(js jetstream.JetStream, opts Options) (*Bus, error) {
	if js == nil {
		return nil, fmt.Errorf("%w: nil JetStream", ErrInvalidSpec)
	}
	b := &Bus{
		js:             js,
		log:            opts.Logger,
		dlqStream:      opts.DLQStream,
		attemptTimeout: opts.PublishAttemptTimeout,
		retryWait:      opts.PublishRetryWait,
	}
	if b.log == nil {
		b.log = zap.NewNop()
	}
	if b.dlqStream == "" {
		b.dlqStream = DLQStreamName
	}
	if err := validName(b.dlqStream); err != nil {
		return nil, fmt.Errorf("%w: DLQStream: %w", ErrInvalidSpec, err)
	}
	if b.attemptTimeout < 0 || b.retryWait < 0 {
		return nil, fmt.Errorf("%w: negative publish timing", ErrInvalidSpec)
	}
	if b.attemptTimeout == 0 {
		b.attemptTimeout = DefaultPublishAttemptTimeout
	}
	if b.retryWait == 0 {
		b.retryWait = DefaultPublishRetryWait
	}
	return b, nil
}

// JetStream returns the JetStream context the bus uses.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// DLQStream returns the name of the dead-letter stream.
func (b *Bus) DLQStream() string { return b.dlqStream }

// DeadLetterSubject returns the subject dead letters of consumer go to.
func DeadLetterSubject(consumer string) string { return DLQSubjectPrefix + consumer }

// RedriveSubject returns the subject redriven dead letters of consumer are
// published to. Consumers created by EnsureConsumer filter it.
func RedriveSubject(consumer string) string { return RedriveSubjectPrefix + consumer }

// validName checks that s can be a stream or durable name and a subject
// token. It returns an error wrapping ErrInvalidName otherwise.
func validName(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(s) > 255 {
		return fmt.Errorf("%w: longer than 255 bytes", ErrInvalidName)
	}
	if strings.ContainsAny(s, ".*>/\\ \t\r\n\f\v\x00") {
		return fmt.Errorf("%w: %q contains a forbidden character", ErrInvalidName, s)
	}
	return nil
}
