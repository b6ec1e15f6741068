package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// EnsureResult says what EnsureStream or EnsureConsumer did.
type EnsureResult int

const (
	// Unchanged means the object existed with the requested settings.
	Unchanged EnsureResult = iota
	// Created means the object did not exist and was created.
	Created
	// Updated means the object existed with other settings and was updated.
	Updated
)

// String returns "unchanged", "created" or "updated".
func (r EnsureResult) String() string {
	switch r {
	case Unchanged:
		return "unchanged"
	case Created:
		return "created"
	case Updated:
		return "updated"
	default:
		return fmt.Sprintf("EnsureResult(%d)", int(r))
	}
}

// StreamSpec declares a stream. Zero values mean: limits retention, file
// storage, no age/byte/message limit, DefaultDuplicates (or MaxAge when that
// is shorter), one replica, discard old messages when full.
type StreamSpec struct {
	// Name of the stream; required.
	Name string
	// Description is free text shown by tools.
	Description string
	// Subjects the stream captures; at least one.
	Subjects []string
	// Retention is limits (default), interest or work queue. It cannot be
	// changed on an existing stream.
	Retention jetstream.RetentionPolicy
	// MaxAge drops messages older than this; zero means no age limit.
	MaxAge time.Duration
	// MaxBytes bounds the stream size; zero means unlimited.
	MaxBytes int64
	// MaxMsgs bounds the message count; zero means unlimited.
	MaxMsgs int64
	// Discard says what happens when a limit is reached: DiscardOld (the
	// zero value) drops the oldest messages, DiscardNew refuses new
	// publishes so that nothing is dropped.
	Discard jetstream.DiscardPolicy
	// Duplicates is the deduplication window for Nats-Msg-Id.
	Duplicates time.Duration
	// Replicas is 1 for an embedded server and 3 on a cluster; zero means 1.
	Replicas int
	// Storage is file (the zero value) or memory. It cannot be changed on an
	// existing stream.
	Storage jetstream.StorageType
}

// EventsStreamSpec returns the spec of the standard events stream
// SLUICE_EVENTS: subjects sluice.events.> and sluice.redrive.>, limits
// retention, file storage, a two-minute duplicates window, seven days of
// history, and DiscardNew so that a full stream refuses publishes (the
// publisher keeps them) instead of dropping events. Callers adjust the
// fields (Replicas, MaxAge, MaxBytes, Duplicates) from their config.
func EventsStreamSpec() StreamSpec {
	return StreamSpec{
		Name:        EventsStreamName,
		Description: "Sluice events and redriven dead letters",
		Subjects:    []string{EventsSubjects, RedriveSubjectPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      7 * 24 * time.Hour,
		Discard:     jetstream.DiscardNew,
		Duplicates:  DefaultDuplicates,
		Replicas:    1,
		Storage:     jetstream.FileStorage,
	}
}

// DLQStreamSpec returns the spec of the standard dead-letter stream
// SLUICE_DLQ: subject sluice.dlq.>, limits retention, file storage, a
// two-minute duplicates window, no age limit (dead letters stay until they
// are redriven or purged), DiscardNew.
func DLQStreamSpec() StreamSpec {
	return StreamSpec{
		Name:        DLQStreamName,
		Description: "Sluice dead letters, one subject per consumer",
		Subjects:    []string{DLQSubjectPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		Duplicates:  DefaultDuplicates,
		Replicas:    1,
		Storage:     jetstream.FileStorage,
	}
}

// Validate reports whether the spec can be applied. It returns an error
// wrapping ErrInvalidSpec.
func (s StreamSpec) Validate() error {
	if err := validName(s.Name); err != nil {
		return fmt.Errorf("%w: stream name: %w", ErrInvalidSpec, err)
	}
	if len(s.Subjects) == 0 {
		return fmt.Errorf("%w: stream %s: no subjects", ErrInvalidSpec, s.Name)
	}
	for _, subj := range s.Subjects {
		if subj == "" {
			return fmt.Errorf("%w: stream %s: empty subject", ErrInvalidSpec, s.Name)
		}
	}
	switch s.Retention {
	case jetstream.LimitsPolicy, jetstream.InterestPolicy, jetstream.WorkQueuePolicy:
	default:
		return fmt.Errorf("%w: stream %s: unknown retention %d", ErrInvalidSpec, s.Name, s.Retention)
	}
	switch s.Storage {
	case jetstream.FileStorage, jetstream.MemoryStorage:
	default:
		return fmt.Errorf("%w: stream %s: unknown storage %d", ErrInvalidSpec, s.Name, s.Storage)
	}
	switch s.Discard {
	case jetstream.DiscardOld, jetstream.DiscardNew:
	default:
		return fmt.Errorf("%w: stream %s: unknown discard policy %d", ErrInvalidSpec, s.Name, s.Discard)
	}
	if s.MaxAge < 0 || s.Duplicates < 0 || s.MaxBytes < 0 || s.MaxMsgs < 0 {
		return fmt.Errorf("%w: stream %s: negative limit", ErrInvalidSpec, s.Name)
	}
	if s.Replicas < 0 || s.Replicas > 5 {
		return fmt.Errorf("%w: stream %s: replicas %d not in 1..5", ErrInvalidSpec, s.Name, s.Replicas)
	}
	if s.MaxAge > 0 && s.Duplicates > s.MaxAge {
		return fmt.Errorf("%w: stream %s: duplicates window %v longer than MaxAge %v", ErrInvalidSpec, s.Name, s.Duplicates, s.MaxAge)
	}
	return nil
}

// config returns the spec as a stream configuration, with zero values
// replaced by the values the server would store, so that it compares equal
// to the server's copy.
func (s StreamSpec) config() jetstream.StreamConfig {
	cfg := jetstream.StreamConfig{
		Name:        s.Name,
		Description: s.Description,
		Subjects:    slices.Clone(s.Subjects),
		Retention:   s.Retention,
		MaxAge:      s.MaxAge,
		MaxBytes:    s.MaxBytes,
		MaxMsgs:     s.MaxMsgs,
		Discard:     s.Discard,
		Duplicates:  s.Duplicates,
		Replicas:    s.Replicas,
		Storage:     s.Storage,
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = -1
	}
	if cfg.MaxMsgs == 0 {
		cfg.MaxMsgs = -1
	}
	if cfg.Duplicates == 0 {
		cfg.Duplicates = DefaultDuplicates
		if cfg.MaxAge > 0 && cfg.MaxAge < cfg.Duplicates {
			cfg.Duplicates = cfg.MaxAge
		}
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	return cfg
}

// applyStreamSpec copies the fields a StreamSpec manages from want into
// have, keeping every other (server-defaulted) field of have.
func applyStreamSpec(have, want jetstream.StreamConfig) jetstream.StreamConfig {
	have.Description = want.Description
	have.Subjects = want.Subjects
	have.Retention = want.Retention
	have.MaxAge = want.MaxAge
	have.MaxBytes = want.MaxBytes
	have.MaxMsgs = want.MaxMsgs
	have.Discard = want.Discard
	have.Duplicates = want.Duplicates
	have.Replicas = want.Replicas
	have.Storage = want.Storage
	return have
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func streamConfigEqual(have, want jetstream.StreamConfig) bool {
	return have.Description == want.Description &&
		sameSet(have.Subjects, want.Subjects) &&
		have.Retention == want.Retention &&
		have.MaxAge == want.MaxAge &&
		have.MaxBytes == want.MaxBytes &&
		have.MaxMsgs == want.MaxMsgs &&
		have.Discard == want.Discard &&
		have.Duplicates == want.Duplicates &&
		have.Replicas == want.Replicas &&
		have.Storage == want.Storage
}

// EnsureStream makes the stream match spec: it creates the stream when it
// does not exist, updates it when one of the spec's fields differs, and
// does nothing when they are equal. Fields a StreamSpec does not manage keep
// their server values. It returns ErrInvalidSpec for a bad spec and the
// server's error (wrapped; e.g. jetstream.ErrStreamNameAlreadyInUse, or an
// API error when Retention or Storage would change) when the server refuses.
func (b *Bus) EnsureStream(ctx context.Context, spec StreamSpec) (EnsureResult, error) {
	if err := spec.Validate(); err != nil {
		return Unchanged, err
	}
	want := spec.config()
	st, err := b.js.Stream(ctx, spec.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := b.js.CreateOrUpdateStream(ctx, want); err != nil {
			return Unchanged, fmt.Errorf("bus: create stream %s: %w", spec.Name, err)
		}
		b.log.Info("stream created", zapStream(spec.Name))
		return Created, nil
	}
	if err != nil {
		return Unchanged, fmt.Errorf("bus: stream %s: %w", spec.Name, err)
	}
	have := st.CachedInfo().Config
	if streamConfigEqual(have, want) {
		return Unchanged, nil
	}
	if _, err := b.js.CreateOrUpdateStream(ctx, applyStreamSpec(have, want)); err != nil {
		return Unchanged, fmt.Errorf("bus: update stream %s: %w", spec.Name, err)
	}
	b.log.Info("stream updated", zapStream(spec.Name))
	return Updated, nil
}
