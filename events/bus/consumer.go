package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Consumer defaults used when a ConsumerSpec field is zero.
const (
	// DefaultAckWait is how long the server waits for an ack (or an
	// InProgress heartbeat) before it redelivers.
	DefaultAckWait = 30 * time.Second
	// DefaultMaxAckPending bounds the unacknowledged messages of a consumer
	// across all its replicas.
	DefaultMaxAckPending = 1000
)

// ConsumerSpec declares a durable pull consumer with explicit acks and an
// unlimited server-side MaxDeliver (the consume loop enforces its own limit
// and dead-letters instead of letting the server drop a message).
//
// Unless NoRedrive is set, the consumer also filters
// RedriveSubject(Durable), so that dead letters redriven for it reach it and
// no other consumer.
type ConsumerSpec struct {
	// Stream the consumer reads; required.
	Stream string
	// Durable name of the consumer; required. It is also a subject token
	// (dead letters go to sluice.dlq.<Durable>).
	Durable string
	// Description is free text shown by tools.
	Description string
	// FilterSubjects select the messages; at least one unless NoRedrive is
	// set (no filter then means the whole stream). They must not overlap
	// each other or RedriveSubject(Durable).
	FilterSubjects []string
	// AckWait is how long a delivery may go without ack or heartbeat; zero
	// means DefaultAckWait.
	AckWait time.Duration
	// MaxAckPending bounds unacknowledged deliveries; zero means
	// DefaultMaxAckPending.
	MaxAckPending int
	// DeliverPolicy says where a new consumer starts: all (the zero value),
	// last, new, by start sequence, by start time, last per subject. It
	// cannot be changed on an existing consumer.
	DeliverPolicy jetstream.DeliverPolicy
	// OptStartSeq is the first sequence for DeliverByStartSequencePolicy.
	OptStartSeq uint64
	// OptStartTime is the start time for DeliverByStartTimePolicy.
	OptStartTime *time.Time
	// Replicas of the consumer state; zero means the stream's.
	Replicas int
	// NoRedrive leaves RedriveSubject(Durable) out of the filters, for
	// consumers on streams that do not capture sluice.redrive.>.
	NoRedrive bool
}

// Validate reports whether the spec can be applied. It returns an error
// wrapping ErrInvalidSpec.
func (s ConsumerSpec) Validate() error {
	if err := validName(s.Stream); err != nil {
		return fmt.Errorf("%w: consumer stream: %w", ErrInvalidSpec, err)
	}
	if err := validName(s.Durable); err != nil {
		return fmt.Errorf("%w: durable name: %w", ErrInvalidSpec, err)
	}
	if len(s.FilterSubjects) == 0 && !s.NoRedrive {
		return fmt.Errorf("%w: consumer %s: no filter subjects (only redriven messages would arrive)", ErrInvalidSpec, s.Durable)
	}
	for _, f := range s.FilterSubjects {
		if f == "" {
			return fmt.Errorf("%w: consumer %s: empty filter subject", ErrInvalidSpec, s.Durable)
		}
		if !s.NoRedrive && f == RedriveSubject(s.Durable) {
			return fmt.Errorf("%w: consumer %s: %s is added automatically", ErrInvalidSpec, s.Durable, f)
		}
	}
	if s.AckWait < 0 || s.MaxAckPending < 0 || s.Replicas < 0 {
		return fmt.Errorf("%w: consumer %s: negative setting", ErrInvalidSpec, s.Durable)
	}
	switch s.DeliverPolicy {
	case jetstream.DeliverAllPolicy, jetstream.DeliverLastPolicy, jetstream.DeliverNewPolicy,
		jetstream.DeliverLastPerSubjectPolicy:
		if s.OptStartSeq != 0 || s.OptStartTime != nil {
			return fmt.Errorf("%w: consumer %s: start sequence/time needs a by-start deliver policy", ErrInvalidSpec, s.Durable)
		}
	case jetstream.DeliverByStartSequencePolicy:
		if s.OptStartSeq == 0 || s.OptStartTime != nil {
			return fmt.Errorf("%w: consumer %s: DeliverByStartSequence needs OptStartSeq only", ErrInvalidSpec, s.Durable)
		}
	case jetstream.DeliverByStartTimePolicy:
		if s.OptStartTime == nil || s.OptStartSeq != 0 {
			return fmt.Errorf("%w: consumer %s: DeliverByStartTime needs OptStartTime only", ErrInvalidSpec, s.Durable)
		}
	default:
		return fmt.Errorf("%w: consumer %s: unknown deliver policy %d", ErrInvalidSpec, s.Durable, s.DeliverPolicy)
	}
	return nil
}

// filters returns the spec's filter subjects plus the redrive subject.
func (s ConsumerSpec) filters() []string {
	f := slices.Clone(s.FilterSubjects)
	if !s.NoRedrive {
		f = append(f, RedriveSubject(s.Durable))
	}
	return f
}

// config returns the spec as a consumer configuration with defaults filled
// in as the server stores them.
func (s ConsumerSpec) config() jetstream.ConsumerConfig {
	cfg := jetstream.ConsumerConfig{
		Durable:       s.Durable,
		Description:   s.Description,
		DeliverPolicy: s.DeliverPolicy,
		OptStartSeq:   s.OptStartSeq,
		OptStartTime:  s.OptStartTime,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: s.MaxAckPending,
		Replicas:      s.Replicas,
	}
	if f := s.filters(); len(f) == 1 {
		cfg.FilterSubject = f[0]
	} else {
		cfg.FilterSubjects = f
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.MaxAckPending == 0 {
		cfg.MaxAckPending = DefaultMaxAckPending
	}
	return cfg
}

// consumerFilters returns every filter of cfg, whichever field holds it.
func consumerFilters(cfg jetstream.ConsumerConfig) []string {
	f := slices.Clone(cfg.FilterSubjects)
	if cfg.FilterSubject != "" {
		f = append(f, cfg.FilterSubject)
	}
	return f
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func consumerConfigEqual(have, want jetstream.ConsumerConfig) bool {
	return have.Description == want.Description &&
		have.DeliverPolicy == want.DeliverPolicy &&
		have.OptStartSeq == want.OptStartSeq &&
		sameTime(have.OptStartTime, want.OptStartTime) &&
		have.AckPolicy == want.AckPolicy &&
		have.AckWait == want.AckWait &&
		have.MaxDeliver == want.MaxDeliver &&
		have.MaxAckPending == want.MaxAckPending &&
		have.Replicas == want.Replicas &&
		sameSet(consumerFilters(have), consumerFilters(want))
}

// applyConsumerSpec copies the fields a ConsumerSpec manages from want into
// have, keeping every other field of have.
func applyConsumerSpec(have, want jetstream.ConsumerConfig) jetstream.ConsumerConfig {
	have.Description = want.Description
	have.DeliverPolicy = want.DeliverPolicy
	have.OptStartSeq = want.OptStartSeq
	have.OptStartTime = want.OptStartTime
	have.AckPolicy = want.AckPolicy
	have.AckWait = want.AckWait
	have.MaxDeliver = want.MaxDeliver
	have.MaxAckPending = want.MaxAckPending
	have.Replicas = want.Replicas
	have.FilterSubject = want.FilterSubject
	have.FilterSubjects = want.FilterSubjects
	have.BackOff = nil // the loop's NakWithDelay does backoff; a server BackOff would fight AckWait
	return have
}

// CreateConsumer creates the durable consumer of spec when it does not exist
// and otherwise leaves the existing one exactly as it is (whoever created it
// owns its configuration); it reports whether it created it. Safe to race
// with another creator. It returns ErrInvalidSpec for a bad spec, and the
// server's error wrapped (jetstream.ErrStreamNotFound when the stream does
// not exist).
func (b *Bus) CreateConsumer(ctx context.Context, spec ConsumerSpec) (bool, error) {
	if err := spec.Validate(); err != nil {
		return false, err
	}
	_, err := b.js.Consumer(ctx, spec.Stream, spec.Durable)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return false, fmt.Errorf("bus: consumer %s/%s: %w", spec.Stream, spec.Durable, err)
	}
	_, err = b.js.CreateConsumer(ctx, spec.Stream, spec.config())
	if errors.Is(err, jetstream.ErrConsumerExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("bus: create consumer %s/%s: %w", spec.Stream, spec.Durable, err)
	}
	b.log.Info("consumer created", zapStream(spec.Stream), zapConsumer(spec.Durable))
	return true, nil
}

// EnsureConsumer makes the durable consumer match spec: it creates it when
// it does not exist, updates it when a managed field differs, and does
// nothing when they are equal. It returns ErrInvalidSpec for a bad spec,
// and the server's error wrapped (e.g. jetstream.ErrStreamNotFound when the
// stream does not exist, or an API error when DeliverPolicy would change or
// filters overlap).
func (b *Bus) EnsureConsumer(ctx context.Context, spec ConsumerSpec) (EnsureResult, error) {
	if err := spec.Validate(); err != nil {
		return Unchanged, err
	}
	want := spec.config()
	c, err := b.js.Consumer(ctx, spec.Stream, spec.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		if _, err := b.js.CreateOrUpdateConsumer(ctx, spec.Stream, want); err != nil {
			return Unchanged, fmt.Errorf("bus: create consumer %s/%s: %w", spec.Stream, spec.Durable, err)
		}
		b.log.Info("consumer created", zapStream(spec.Stream), zapConsumer(spec.Durable))
		return Created, nil
	}
	if err != nil {
		return Unchanged, fmt.Errorf("bus: consumer %s/%s: %w", spec.Stream, spec.Durable, err)
	}
	have := c.CachedInfo().Config
	if consumerConfigEqual(have, want) && len(have.BackOff) == 0 {
		return Unchanged, nil
	}
	if _, err := b.js.CreateOrUpdateConsumer(ctx, spec.Stream, applyConsumerSpec(have, want)); err != nil {
		return Unchanged, fmt.Errorf("bus: update consumer %s/%s: %w", spec.Stream, spec.Durable, err)
	}
	b.log.Info("consumer updated", zapStream(spec.Stream), zapConsumer(spec.Durable))
	return Updated, nil
}
