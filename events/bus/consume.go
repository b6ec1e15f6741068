package bus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// ErrHandlerPanic is the error a handler panic is turned into; the loop
// treats it as transient.
var ErrHandlerPanic = errors.New("bus: handler panicked")

// Handler handles one delivery. Returning nil acks the message; an error
// marked with Permanent dead-letters it at once; any other error retries it
// with backoff. Handlers must be idempotent: a message can be delivered more
// than once. ctx ends when the loop is stopped (not when it is drained).
type Handler func(ctx context.Context, m *Message) error

// Defaults used when a ConsumeSpec field is zero.
const (
	// DefaultMaxDeliver is how many failed deliveries dead-letter a message.
	DefaultMaxDeliver = 10
	// DefaultSettleTimeout bounds each ack, nak and dead-letter publish.
	DefaultSettleTimeout = 10 * time.Second
	// DefaultPullExpiry is how long one pull request waits at the server.
	DefaultPullExpiry = 30 * time.Second
)

// The idle heartbeat range the jetstream package accepts.
const (
	minPullHeartbeat = 500 * time.Millisecond
	maxPullHeartbeat = 30 * time.Second
)

// ConsumeSpec configures a consumer loop.
type ConsumeSpec struct {
	// Stream and Consumer name an existing durable consumer (see
	// EnsureConsumer); required.
	Stream, Consumer string
	// Handler handles each delivery; required.
	Handler Handler
	// Concurrency is the maximum number of handlers running at once; zero
	// means 1.
	Concurrency int
	// Prefetch is the maximum number of messages the loop holds that no
	// handler has started yet; zero means Concurrency. Keep it small: a
	// held message is not available to other replicas.
	Prefetch int
	// MaxDeliver is how many failed deliveries send a message to the dead
	// letters; zero means DefaultMaxDeliver, negative means never.
	MaxDeliver int
	// Backoff sets the redelivery delay after a transient error.
	Backoff Backoff
	// HeartbeatEvery is how often a running handler's message gets an
	// InProgress heartbeat, which resets the server's AckWait; zero means a
	// third of the consumer's AckWait, negative means no heartbeats.
	HeartbeatEvery time.Duration
	// SettleTimeout bounds each ack, nak and dead-letter publish; zero
	// means DefaultSettleTimeout.
	SettleTimeout time.Duration
	// PullExpiry is how long one pull request waits at the server (at
	// least 1s); zero means DefaultPullExpiry.
	PullExpiry time.Duration
	// PullHeartbeat is how often the server sends an idle heartbeat on a
	// waiting pull request, between 500ms and 30s and at most PullExpiry/2;
	// zero means PullExpiry/2, capped at 30s. When two are missed the loop
	// pulls again and checks that its consumer still exists, ending (see
	// Loop.Err) if it does not; so it also bounds how long a pull request
	// the server no longer serves can stall the loop while messages wait.
	PullHeartbeat time.Duration
	// Logger receives the loop's log lines; nil means the Bus's logger.
	Logger *zap.Logger
	// Observer, when set, is told how each delivery was settled.
	Observer Observer
}

func (s ConsumeSpec) withDefaults() (ConsumeSpec, error) {
	if err := validName(s.Stream); err != nil {
		return s, fmt.Errorf("%w: consume stream: %w", ErrInvalidSpec, err)
	}
	if err := validName(s.Consumer); err != nil {
		return s, fmt.Errorf("%w: consume consumer: %w", ErrInvalidSpec, err)
	}
	if s.Handler == nil {
		return s, fmt.Errorf("%w: consume %s: nil handler", ErrInvalidSpec, s.Consumer)
	}
	if s.Concurrency < 0 || s.Prefetch < 0 || s.SettleTimeout < 0 {
		return s, fmt.Errorf("%w: consume %s: negative setting", ErrInvalidSpec, s.Consumer)
	}
	if s.PullExpiry == 0 {
		s.PullExpiry = DefaultPullExpiry
	}
	if s.PullExpiry < time.Second {
		return s, fmt.Errorf("%w: consume %s: PullExpiry %v shorter than 1s", ErrInvalidSpec, s.Consumer, s.PullExpiry)
	}
	if s.PullHeartbeat == 0 {
		s.PullHeartbeat = min(s.PullExpiry/2, maxPullHeartbeat)
	}
	if s.PullHeartbeat < minPullHeartbeat || s.PullHeartbeat > maxPullHeartbeat || s.PullHeartbeat > s.PullExpiry/2 {
		return s, fmt.Errorf("%w: consume %s: PullHeartbeat %v not within [%v, %v] and PullExpiry/2",
			ErrInvalidSpec, s.Consumer, s.PullHeartbeat, minPullHeartbeat, maxPullHeartbeat)
	}
	if s.Concurrency == 0 {
		s.Concurrency = 1
	}
	if s.Prefetch == 0 {
		s.Prefetch = s.Concurrency
	}
	if s.MaxDeliver == 0 {
		s.MaxDeliver = DefaultMaxDeliver
	}
	if s.SettleTimeout == 0 {
		s.SettleTimeout = DefaultSettleTimeout
	}
	s.Backoff = s.Backoff.withDefaults()
	if err := s.Backoff.validate(); err != nil {
		return s, fmt.Errorf("consume %s: %w", s.Consumer, err)
	}
	return s, nil
}

// Loop is a running consumer loop. Stop, Drain and the end of the ctx given
// to Consume end it; Done is closed once it has ended and every handler has
// returned and been settled.
type Loop struct {
	bus  *Bus
	cons jetstream.Consumer
	spec ConsumeSpec
	log  *zap.Logger
	it   jetstream.MessagesContext
	hb   time.Duration

	hctx    context.Context // handlers' ctx, cancelled by Stop
	cancel  context.CancelFunc
	unwatch func() bool

	closing  atomic.Bool // Stop or Drain was called
	stopping atomic.Bool // Stop was called
	stopOnce sync.Once

	sem      chan struct{}
	wg       sync.WaitGroup
	iterDone chan struct{} // closed when the run loop stopped pulling
	done     chan struct{}
	lastErr  error // of the run goroutine only
	err      error // written before done is closed
}

// Consume starts a loop that pulls from the durable consumer spec.Consumer
// on spec.Stream and hands each message to spec.Handler, with at most
// spec.Concurrency handlers running and at most spec.Prefetch messages held
// that no handler has started.
//
// Each delivery is settled explicitly:
//   - handler returned nil: ack, confirmed by the server (DoubleAck);
//   - handler returned an error marked with Permanent, or a transient error
//     on delivery number MaxDeliver: the message (headers and body) is
//     published to DeadLetterSubject(consumer) with the dead-letter headers
//     and, only after that PubAck, terminated;
//   - any other error (a handler panic included): nak with a delay from
//     spec.Backoff;
//   - the loop is stopping and the handler failed: nak without delay.
//
// While a handler runs, its message gets an InProgress heartbeat every
// HeartbeatEvery, so a long handler is not redelivered after AckWait.
//
// When ctx ends the loop stops as with Stop. Consume returns
// ErrInvalidSpec for a bad spec, ErrConsumerConfig when the consumer does
// not use explicit acks with an unlimited server-side MaxDeliver, and the
// server's error wrapped otherwise (e.g. jetstream.ErrConsumerNotFound).
func (b *Bus) Consume(ctx context.Context, spec ConsumeSpec) (*Loop, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	c, err := b.js.Consumer(ctx, spec.Stream, spec.Consumer)
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s/%s: %w", spec.Stream, spec.Consumer, err)
	}
	cfg := c.CachedInfo().Config
	if cfg.AckPolicy != jetstream.AckExplicitPolicy || cfg.MaxDeliver != -1 {
		return nil, fmt.Errorf("%w: %s/%s has ack policy %s and MaxDeliver %d, want explicit and -1",
			ErrConsumerConfig, spec.Stream, spec.Consumer, cfg.AckPolicy, cfg.MaxDeliver)
	}
	hb := spec.HeartbeatEvery
	if hb == 0 {
		hb = cfg.AckWait / 3
	}
	it, err := c.Messages(jetstream.PullMaxMessages(spec.Prefetch), jetstream.PullExpiry(spec.PullExpiry),
		jetstream.PullHeartbeat(spec.PullHeartbeat))
	if err != nil {
		return nil, fmt.Errorf("bus: consume %s/%s: %w", spec.Stream, spec.Consumer, err)
	}
	log := spec.Logger
	if log == nil {
		log = b.log
	}
	l := &Loop{
		bus:      b,
		cons:     c,
		spec:     spec,
		log:      log.With(zapStream(spec.Stream), zapConsumer(spec.Consumer)),
		it:       it,
		hb:       hb,
		sem:      make(chan struct{}, spec.Concurrency),
		iterDone: make(chan struct{}),
		done:     make(chan struct{}),
	}
	l.hctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.unwatch = context.AfterFunc(ctx, l.Stop)
	l.log.Info("consumer loop started", zap.Int("concurrency", spec.Concurrency),
		zap.Int("prefetch", spec.Prefetch), zap.Int("max_deliver", spec.MaxDeliver))
	go l.run()
	return l, nil
}

// Stop ends the loop: it stops pulling, cancels the ctx of running
// handlers, settles what they return, and gives back without delay (nak)
// every message it holds that no handler has started and every message
// whose handler failed because of the stop. It gives them back once its
// pull subscription is closed, so they go to another replica at once
// instead of bouncing back to this one. It returns at once; wait for Done.
// Safe to call more than once, and after Drain.
func (l *Loop) Stop() {
	l.stopOnce.Do(func() {
		l.closing.Store(true)
		l.stopping.Store(true)
		l.cancel()
		l.it.Drain()
	})
}

// Drain ends the loop gracefully: it stops pulling, and handles and settles
// every message it already holds, with handlers' ctx left alive. It returns
// at once; wait for Done. Calling Stop afterwards turns the drain into a
// stop.
func (l *Loop) Drain() {
	l.closing.Store(true)
	l.it.Drain()
}

// Done is closed once the loop has ended and every handler has returned and
// its message has been settled.
func (l *Loop) Done() <-chan struct{} { return l.done }

// Closed is Done, named as in the jetstream package.
func (l *Loop) Closed() <-chan struct{} { return l.done }

// Err returns why the loop ended on its own (for example the consumer was
// deleted or the connection closed), or nil when it ended by Stop, Drain or
// its ctx, or has not ended. Call it after Done is closed.
func (l *Loop) Err() error {
	select {
	case <-l.done:
		return l.err
	default:
		return nil
	}
}

func (l *Loop) run() {
	var held []jetstream.Msg // pulled after Stop, to give back
	defer func() {
		// Give messages back only once the pull subscription is gone, so
		// that the server cannot hand them straight back to this loop.
		close(l.iterDone)
		for _, jm := range held {
			l.returnMsg(jm)
		}
		l.wg.Wait()
		l.unwatch()
		l.cancel()
		if l.err != nil {
			l.log.Error("consumer loop ended", zap.Error(l.err))
		} else {
			l.log.Info("consumer loop stopped")
		}
		close(l.done)
	}()
	for {
		l.sem <- struct{}{}
		jm, err := l.it.Next()
		if err != nil {
			<-l.sem
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				if !l.closing.Load() {
					l.err = fmt.Errorf("bus: consume %s/%s: %w", l.spec.Stream, l.spec.Consumer, errors.Join(err, l.lastErr))
				}
				return
			}
			l.lastErr = err
			l.log.Warn("pull failed", zap.Error(err))
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				if gone := l.consumerGone(); gone != nil {
					l.err = fmt.Errorf("bus: consume %s/%s: %w", l.spec.Stream, l.spec.Consumer, gone)
					l.it.Stop()
					return
				}
			}
			continue
		}
		if l.stopping.Load() {
			held = append(held, jm)
			<-l.sem
			continue
		}
		l.wg.Add(1)
		go l.process(jm)
	}
}

// consumerGone returns jetstream.ErrConsumerNotFound (wrapped) when the
// server says the loop's consumer no longer exists, nil otherwise (also
// when the server cannot be asked).
func (l *Loop) consumerGone() error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(l.hctx), l.spec.SettleTimeout)
	defer cancel()
	if _, err := l.cons.Info(ctx); errors.Is(err, jetstream.ErrConsumerNotFound) {
		return err
	}
	return nil
}

// returnMsg naks a message the loop holds but will not handle.
func (l *Loop) returnMsg(jm jetstream.Msg) {
	err := jm.Nak()
	m, merr := newMessage(jm)
	if merr != nil {
		return
	}
	if err != nil {
		l.observe(m, SettleFailed, err, 0)
		return
	}
	l.observe(m, Returned, nil, 0)
}

func (l *Loop) process(jm jetstream.Msg) {
	defer l.wg.Done()
	release := sync.OnceFunc(func() { <-l.sem })
	defer release()
	m, err := newMessage(jm)
	if err != nil {
		// Not a JetStream delivery: nothing to ack. Cannot happen on a
		// pull consumer's inbox.
		l.log.Error("delivery without metadata", zap.Error(err))
		return
	}
	start := time.Now()
	stopHB := l.heartbeat(jm)
	herr := l.call(m)
	stopHB()
	took := time.Since(start)
	outcome, serr := l.settle(jm, m, herr, release)
	if outcome == SettleFailed {
		herr = serr
	}
	l.observe(m, outcome, herr, took)
}

func (l *Loop) observe(m *Message, o Outcome, err error, took time.Duration) {
	if l.spec.Observer == nil {
		return
	}
	l.spec.Observer.Settled(Settlement{Consumer: l.spec.Consumer, Message: m, Outcome: o, Err: err, Duration: took})
}

// call runs the handler and turns a panic into ErrHandlerPanic.
func (l *Loop) call(m *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("handler panicked", msgFields(m, zap.Any("panic", r), zap.Stack("stack"))...)
			err = fmt.Errorf("%w: %v", ErrHandlerPanic, r)
		}
	}()
	return l.spec.Handler(l.hctx, m)
}

// heartbeat sends InProgress for jm every l.hb until the returned function
// is called; that function returns once no more heartbeats can be sent.
func (l *Loop) heartbeat(jm jetstream.Msg) func() {
	if l.hb <= 0 {
		return func() {}
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(l.hb)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := jm.InProgress(); err != nil {
					l.log.Debug("in-progress heartbeat failed", zap.Error(err))
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-stopped
	}
}

// settle acks, naks or dead-letters jm according to the handler's result.
// release frees the handler's concurrency slot early.
func (l *Loop) settle(jm jetstream.Msg, m *Message, herr error, release func()) (Outcome, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(l.hctx), l.spec.SettleTimeout)
	defer cancel()
	n := m.Metadata.NumDelivered
	switch {
	case herr == nil:
		// The handler is done: free its slot for the next message while the
		// server confirms the ack. The acks in flight are bounded by the
		// consumer's MaxAckPending, and Done still waits for them.
		release()
		if err := jm.DoubleAck(ctx); err != nil {
			l.log.Warn("ack failed; the message will be redelivered", msgFields(m, zap.Error(err))...)
			return SettleFailed, err
		}
		return Acked, nil
	case IsPermanent(herr):
		return l.deadLetter(ctx, jm, m, herr.Error())
	case l.hctx.Err() != nil:
		// Stopping: give the message back at once, but after the pull
		// subscription is gone (so it goes to another replica, not back
		// here). Free the slot first: the run loop may need it to see the
		// subscription end.
		release()
		t := time.NewTimer(l.spec.SettleTimeout)
		select {
		case <-l.iterDone:
		case <-t.C:
		}
		t.Stop()
		if err := jm.Nak(); err != nil {
			return SettleFailed, err
		}
		return Returned, nil
	case l.spec.MaxDeliver > 0 && n >= uint64(l.spec.MaxDeliver):
		return l.deadLetter(ctx, jm, m, fmt.Sprintf("failed %d deliveries, last error: %v", n, herr))
	default:
		delay := l.spec.Backoff.Delay(n, rand.Float64())
		if err := jm.NakWithDelay(delay); err != nil {
			return SettleFailed, err
		}
		l.log.Debug("handler failed; retrying", msgFields(m, zap.Duration("delay", delay), zap.Error(herr))...)
		return Retried, nil
	}
}

// deadLetter publishes m to the dead letters and terminates it after the
// PubAck. When the publish fails it naks with backoff so the message comes
// back and is dead-lettered later.
func (l *Loop) deadLetter(ctx context.Context, jm jetstream.Msg, m *Message, reason string) (Outcome, error) {
	dm := deadLetterMsg(m, l.spec.Consumer, reason, time.Now())
	if _, err := l.bus.Publish(ctx, dm); err != nil {
		l.log.Error("dead-lettering failed; the message will be retried", msgFields(m, zap.Error(err))...)
		_ = jm.NakWithDelay(l.spec.Backoff.Delay(m.Metadata.NumDelivered, rand.Float64()))
		return SettleFailed, err
	}
	if err := jm.Term(); err != nil {
		l.log.Warn("term after dead-lettering failed", msgFields(m, zap.Error(err))...)
		return SettleFailed, err
	}
	l.log.Warn("message dead-lettered", msgFields(m, zap.String("reason", oneLine(reason)))...)
	return DeadLettered, nil
}

// msgFields are the log fields identifying a delivery (never its body or
// headers, which may carry secrets).
func msgFields(m *Message, extra ...zap.Field) []zap.Field {
	return append([]zap.Field{
		zap.String("subject", m.Subject),
		zap.Uint64("stream_seq", m.Metadata.StreamSeq),
		zap.Uint64("delivered", m.Metadata.NumDelivered),
	}, extra...)
}
