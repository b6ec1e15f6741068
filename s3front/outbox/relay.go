// Package outbox publishes the metadata store's transactional outbox to NATS
// JetStream.
//
// A Relay claims committed outbox rows in row order, publishes each as a NATS
// message whose Nats-Msg-Id header is the event id, and deletes a row only after
// JetStream acknowledged it. A publish error stops the batch; the relay backs off
// (exponentially, capped) and retries the same rows: rows are never skipped or
// dropped. Several relays may share one PostgreSQL store (the store's claims are
// exclusive); a crash between publish and delete republishes rows, and JetStream's
// duplicate window (keyed by Nats-Msg-Id) absorbs the copies.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/s3front/meta"
)

// Publisher publishes one message to JetStream and waits for its PubAck.
// jetstream.JetStream satisfies it.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// AsyncPublisher is a Publisher that can also send a message without waiting for
// its PubAck. jetstream.JetStream satisfies it. When the Config's Publisher is
// one, a Relay sends a whole claimed batch before it waits for the PubAcks (in
// row order), so a batch costs about one round trip instead of one per row.
type AsyncPublisher interface {
	Publisher
	PublishMsgAsync(msg *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error)
}

// Store is the part of meta.Store a Relay uses.
type Store interface {
	OutboxClaim(ctx context.Context, limit int, h meta.OutboxHandler) (int, error)
	OutboxStats(ctx context.Context) (meta.OutboxStats, error)
	OutboxNotify() <-chan struct{}
}

// Defaults applied by New to zero Config fields.
const (
	DefaultBatchSize      = 256
	DefaultPollInterval   = time.Second
	DefaultMinBackoff     = 50 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
	DefaultPublishTimeout = 5 * time.Second
)

// Config configures a Relay.
type Config struct {
	Store     Store     // required
	Publisher Publisher // required
	Logger    *zap.Logger
	// Metrics receives the relay's counters and gauges; nil disables them.
	Metrics *Metrics
	// BatchSize is how many rows one claim publishes.
	BatchSize int
	// PollInterval bounds how long new rows written by other processes wait; rows
	// committed by this process wake the relay at once (Store.OutboxNotify).
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the exponential wait after a failed publish
	// or store error.
	MinBackoff, MaxBackoff time.Duration
	// PublishTimeout bounds one publish (until its PubAck); with an
	// AsyncPublisher it bounds the wait for each PubAck of a batch.
	PublishTimeout time.Duration
	// Sequential, when true, publishes one row at a time even if Publisher is an
	// AsyncPublisher (one round trip per row).
	Sequential bool
	// AfterPublish, when set, is called after a batch was published and
	// acknowledged and before its rows are deleted. If it returns an error the rows
	// are left in the outbox and Run returns that error, as if the process had
	// crashed at that point. It is a fault-injection hook for tests.
	AfterPublish func(ctx context.Context, rows []meta.OutboxRow) error
}

// Relay moves outbox rows to JetStream. Create it with New.
type Relay struct {
	cfg Config
	log *zap.Logger
	m   *Metrics
}

// New validates cfg, applies defaults and returns a Relay.
func New(cfg Config) (*Relay, error) {
	if cfg.Store == nil || cfg.Publisher == nil {
		return nil, errors.New("outbox: Config.Store and Config.Publisher are required")
	}
	if cfg.BatchSize < 0 || cfg.PollInterval < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.PublishTimeout < 0 {
		return nil, errors.New("outbox: negative Config value")
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.PublishTimeout == 0 {
		cfg.PublishTimeout = DefaultPublishTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	cfg.Metrics.watch(cfg.Store)
	return &Relay{cfg: cfg, log: log.Named("outbox"), m: cfg.Metrics}, nil
}

// hookError carries the AfterPublish error out of the store's claim.
type hookError struct{ err error }

func (e *hookError) Error() string { return "outbox: after-publish hook: " + e.err.Error() }
func (e *hookError) Unwrap() error { return e.err }

// Run relays until ctx ends, then returns nil. It returns early only with the
// AfterPublish hook's error. Publish and store errors are logged, counted and
// retried with backoff; they never end Run.
func (r *Relay) Run(ctx context.Context) error {
	r.log.Info("outbox relay started", zap.Int("batch_size", r.cfg.BatchSize), zap.Duration("poll_interval", r.cfg.PollInterval))
	defer r.log.Info("outbox relay stopped")
	backoff := time.Duration(0)
	for {
		if ctx.Err() != nil {
			return nil
		}
		n, err := r.cfg.Store.OutboxClaim(ctx, r.cfg.BatchSize, r.publish)
		var he *hookError
		if errors.As(err, &he) {
			return he
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			backoff = nextBackoff(backoff, r.cfg.MinBackoff, r.cfg.MaxBackoff)
			r.log.Warn("outbox relay retrying", zap.Error(err), zap.Duration("backoff", backoff))
			if !sleep(ctx, backoff) {
				return nil
			}
			continue
		}
		backoff = 0
		if n == r.cfg.BatchSize {
			continue // probably more pending
		}
		timer := time.NewTimer(r.cfg.PollInterval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-r.cfg.Store.OutboxNotify():
		case <-timer.C:
		}
		timer.Stop()
	}
}

// publish is the OutboxHandler: it publishes rows and returns the prefix that
// JetStream acknowledged, stopping at the first failure. Rows after a failed one
// that reached the stream anyway are published again with the next claim, and the
// duplicate window (same Nats-Msg-Id) keeps them stored once.
func (r *Relay) publish(ctx context.Context, rows []meta.OutboxRow) ([]int64, error) {
	var (
		acked []int64
		err   error
	)
	if ap, ok := r.cfg.Publisher.(AsyncPublisher); ok && !r.cfg.Sequential && len(rows) > 1 {
		acked, err = r.publishPipelined(ctx, ap, rows)
	} else {
		acked, err = r.publishSequential(ctx, rows)
	}
	if err != nil {
		return acked, err
	}
	if r.cfg.AfterPublish != nil {
		if err := r.cfg.AfterPublish(ctx, rows); err != nil {
			return nil, &hookError{err}
		}
	}
	return acked, nil
}

// message builds the NATS message of row, its event id as Nats-Msg-Id.
func message(row meta.OutboxRow) *nats.Msg {
	msg := &nats.Msg{Subject: row.Subject, Data: row.Body, Header: nats.Header{}}
	for k, vs := range row.Headers {
		msg.Header[k] = append([]string(nil), vs...)
	}
	msg.Header.Set(jetstream.MsgIDHeader, row.ID)
	return msg
}

// publishSequential publishes rows one at a time, each after the previous PubAck.
func (r *Relay) publishSequential(ctx context.Context, rows []meta.OutboxRow) ([]int64, error) {
	acked := make([]int64, 0, len(rows))
	for _, row := range rows {
		pctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
		ack, err := r.cfg.Publisher.PublishMsg(pctx, message(row))
		cancel()
		if err != nil {
			r.m.publishError()
			return acked, fmt.Errorf("outbox: publish event %s to %s: %w", row.ID, row.Subject, err)
		}
		r.m.published(ack != nil && ack.Duplicate, row.CreatedAt)
		acked = append(acked, row.RowID)
	}
	return acked, nil
}

// publishPipelined sends every row, then collects the PubAcks in row order.
func (r *Relay) publishPipelined(ctx context.Context, ap AsyncPublisher, rows []meta.OutboxRow) ([]int64, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(rows))
	var sendErr error
	for _, row := range rows {
		f, err := ap.PublishMsgAsync(message(row))
		if err != nil {
			sendErr = fmt.Errorf("outbox: publish event %s to %s: %w", row.ID, row.Subject, err)
			break
		}
		futures = append(futures, f)
	}
	acked := make([]int64, 0, len(futures))
	for i, f := range futures {
		row := rows[i]
		ack, err := waitAck(ctx, f, r.cfg.PublishTimeout)
		if err != nil {
			r.m.publishError()
			return acked, fmt.Errorf("outbox: publish event %s to %s: %w", row.ID, row.Subject, err)
		}
		r.m.published(ack != nil && ack.Duplicate, row.CreatedAt)
		acked = append(acked, row.RowID)
	}
	if sendErr != nil {
		r.m.publishError()
	}
	return acked, sendErr
}

// errAckTimeout is returned when a PubAck does not arrive within the publish timeout.
var errAckTimeout = errors.New("no PubAck in time")

// waitAck waits for f's PubAck, at most timeout, or until ctx ends.
func waitAck(ctx context.Context, f jetstream.PubAckFuture, timeout time.Duration) (*jetstream.PubAck, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case ack := <-f.Ok():
		return ack, nil
	case err := <-f.Err():
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, fmt.Errorf("%w (%s)", errAckTimeout, timeout)
	}
}

// nextBackoff doubles prev within [min, max] and adds up to 20% jitter.
func nextBackoff(prev, min, max time.Duration) time.Duration {
	next := prev * 2
	if next < min {
		next = min
	}
	if next > max {
		next = max
	}
	if j := int64(next / 5); j > 0 {
		next += time.Duration(rand.Int64N(j))
	}
	return next
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
