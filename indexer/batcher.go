package indexer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/indexer/store"
)

// errBatcherStopped is returned to submitters after the batcher stopped;
// the message is retried (redelivered).
var errBatcherStopped = errors.New("indexer: batcher stopped")

// batcher groups events from concurrent handlers into store transactions:
// a batch is applied when it holds size events or wait has passed since its
// first event; a full batch also takes the events already waiting (a
// burst), up to maxSize. Each submitter gets its own event's result only
// after the batch committed, so a message is acked only once its change is
// durable.
type batcher struct {
	st      store.Store
	size    int
	maxSize int
	wait    time.Duration
	now     func() time.Time
	log     *zap.Logger
	metrics *Metrics

	in       chan *item
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

type item struct {
	ev  store.Event
	at  time.Time // event time, for the lag metric
	res chan error
}

func newBatcher(st store.Store, size, maxSize int, wait time.Duration, now func() time.Time, log *zap.Logger, m *Metrics) *batcher {
	maxSize = max(size, maxSize)
	b := &batcher{
		st: st, size: size, maxSize: maxSize, wait: wait, now: now, log: log, metrics: m,
		in:   make(chan *item, maxSize),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go b.run()
	return b
}

// submit queues ev and waits until its batch is committed. It returns nil
// once the event is in the index (applied or found stale), a bus.Permanent
// error when the store refuses the event itself, and another error (retry)
// when the batch failed or ctx ended first.
func (b *batcher) submit(ctx context.Context, ev store.Event, at time.Time) error {
	it := &item{ev: ev, at: at, res: make(chan error, 1)}
	select {
	case b.in <- it:
	case <-b.stop:
		return errBatcherStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-it.res:
		return err
	case <-ctx.Done():
		// The batch may still commit; redelivery is harmless.
		return ctx.Err()
	}
}

// close stops the batcher once every queued event has been applied. Call
// it when no submitter is left.
func (b *batcher) close() {
	b.stopOnce.Do(func() { close(b.stop) })
	<-b.done
}

func (b *batcher) run() {
	defer close(b.done)
	batch := make([]*item, 0, b.size)
	for {
		batch = batch[:0]
		select {
		case it := <-b.in:
			batch = append(batch, it)
		case <-b.stop:
			// Apply what is still queued, then stop.
			for {
				select {
				case it := <-b.in:
					batch = append(batch, it)
					if len(batch) == b.maxSize {
						b.commit(batch)
						batch = batch[:0]
					}
				default:
					if len(batch) > 0 {
						b.commit(batch)
					}
					return
				}
			}
		}
		timer := time.NewTimer(b.wait)
	fill:
		for len(batch) < b.size {
			select {
			case it := <-b.in:
				batch = append(batch, it)
			case <-timer.C:
				break fill
			case <-b.stop:
				break fill
			}
		}
		timer.Stop()
		if len(batch) == b.size {
			// A burst: take what is already waiting.
		burst:
			for len(batch) < b.maxSize {
				select {
				case it := <-b.in:
					batch = append(batch, it)
				default:
					break burst
				}
			}
		}
		b.commit(batch)
	}
}

// commit applies a batch in one transaction. When that fails it applies
// the events one by one, so that one bad event cannot hold back the
// others: each submitter gets its own event's result.
func (b *batcher) commit(batch []*item) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	evs := make([]store.Event, len(batch))
	for i, it := range batch {
		evs[i] = it.ev
	}
	start := time.Now()
	stats, err := b.st.Apply(ctx, evs)
	if err == nil || len(batch) == 1 {
		b.observe(batch, stats, err, start)
		for _, it := range batch {
			it.res <- classify(err)
		}
		return
	}
	b.log.Warn("batch failed; applying its events one by one", zap.Int("events", len(batch)), zap.Error(err))
	for _, it := range batch {
		start := time.Now()
		stats, err := b.st.Apply(ctx, []store.Event{it.ev})
		b.observe([]*item{it}, stats, err, start)
		it.res <- classify(err)
	}
}

func (b *batcher) observe(batch []*item, stats store.ApplyStats, err error, start time.Time) {
	if b.metrics == nil {
		return
	}
	if err != nil {
		if errors.Is(err, store.ErrInvalidEvent) {
			b.metrics.EventsIndexed.WithLabelValues("invalid").Add(float64(len(batch)))
		}
		return
	}
	b.metrics.BatchSize.Observe(float64(len(batch)))
	b.metrics.BatchDuration.Observe(time.Since(start).Seconds())
	b.metrics.EventsIndexed.WithLabelValues("applied").Add(float64(stats.Applied))
	b.metrics.EventsIndexed.WithLabelValues("skipped").Add(float64(stats.Skipped))
	now := b.now()
	for _, it := range batch {
		if lag := now.Sub(it.at).Seconds(); lag >= 0 {
			b.metrics.Lag.Observe(lag)
		}
	}
}

// classify marks errors that retrying cannot fix as permanent.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrInvalidEvent) {
		return bus.Permanent(err)
	}
	return fmt.Errorf("indexer: apply: %w", err)
}
