package deliver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/subject"
)

// Settings are the Deliverer's dependencies.
type Settings struct {
	// Logger receives the deliverer's log lines; nil means none. Secrets
	// (target secrets, bearer tokens, URL queries) are never logged.
	Logger *zap.Logger
	// Bus is the JetStream bus; required.
	Bus *bus.Bus
	// Registry receives the delivery metrics; nil means not exported.
	Registry prometheus.Registerer
	// Clock tells the time; nil means time.Now.
	Clock func() time.Time
	// Source supplies the subscriptions; required by Run.
	Source SubscriptionSource
	// Transport sends webhook and function requests; nil means
	// NewTransport(), whose idle connections Run closes when it ends.
	Transport http.RoundTripper
	// Stream is the events stream; empty means bus.EventsStreamName.
	Stream string
	// AckWait is the consumers' AckWait; zero means Config.AckWait, and
	// bus.DefaultAckWait when that is zero too.
	// Running deliveries send InProgress every AckWait/3, so it bounds
	// only how soon the events a crashed replica held are redelivered.
	AckWait time.Duration
	// MaxAckPending bounds the unacknowledged events of an unordered
	// target across replicas; zero means bus.DefaultMaxAckPending.
	// Ordered targets always use 1.
	MaxAckPending int
}

// Deliverer runs the delivery of events to every configured target, and
// answers the admin operations (status, pause, resume, dead letters,
// redrive, test events). It is safe for concurrent use.
type Deliverer struct {
	cfg     Config
	bus     *bus.Bus
	js      jetstream.JetStream
	log     *zap.Logger
	now     func() time.Time
	src     SubscriptionSource
	stream  string
	ackWait time.Duration
	maxAck  int
	m       *metrics
	ownedRT *http.Transport
	targets map[string]*target
	order   []*target
	ix      atomic.Pointer[index]
	running atomic.Bool
}

// New returns a Deliverer for cfg. It returns an error wrapping
// ErrInvalidConfig when cfg is invalid or Settings.Bus is nil, or the
// metrics registration error.
func New(cfg Config, set Settings) (*Deliverer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if set.Bus == nil {
		return nil, fmt.Errorf("%w: Settings.Bus is nil", ErrInvalidConfig)
	}
	if set.AckWait < 0 || set.MaxAckPending < 0 {
		return nil, fmt.Errorf("%w: negative AckWait or MaxAckPending", ErrInvalidConfig)
	}
	d := &Deliverer{
		cfg:     cfg.WithDefaults(),
		bus:     set.Bus,
		js:      set.Bus.JetStream(),
		log:     set.Logger,
		now:     set.Clock,
		src:     set.Source,
		stream:  set.Stream,
		ackWait: set.AckWait,
		maxAck:  set.MaxAckPending,
		targets: map[string]*target{},
	}
	if d.log == nil {
		d.log = zap.NewNop()
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.stream == "" {
		d.stream = bus.EventsStreamName
	}
	if d.ackWait == 0 {
		d.ackWait = d.cfg.AckWait
	}
	if d.ackWait == 0 {
		d.ackWait = bus.DefaultAckWait
	}
	if d.maxAck == 0 {
		d.maxAck = bus.DefaultMaxAckPending
	}
	m, err := newMetrics(set.Registry)
	if err != nil {
		return nil, err
	}
	d.m = m
	rt := set.Transport
	if rt == nil {
		d.ownedRT = NewTransport()
		rt = d.ownedRT
	}
	for _, tc := range d.cfg.Targets {
		tg := &target{
			d:        d,
			cfg:      tc,
			durable:  tc.Durable(),
			br:       newBreaker(tc.BreakAfter, tc.Backoff.bus()),
			refilter: make(chan struct{}, 1),
			log:      d.log.With(zap.String("target", tc.Name), zap.String("kind", string(tc.Kind))),
		}
		switch tc.Kind {
		case KindNATS:
			tg.sender = &natsSender{t: tc, js: d.js, pub: d.bus, eventsStream: d.stream, now: d.now}
		default:
			tg.sender = newHTTPSender(tc, rt, d.now)
		}
		for _, c := range []*prometheus.CounterVec{m.delivered, m.retried, m.failed, m.filtered} {
			c.WithLabelValues(tc.Name) // export zeros from the start
		}
		d.targets[tc.Name] = tg
		d.order = append(d.order, tg)
	}
	d.ix.Store(&index{byTarget: map[string]map[string][]Subscription{}, filters: map[string][]string{}})
	return d, nil
}

// Config returns the configuration with defaults applied.
func (d *Deliverer) Config() Config { return d.cfg }

// Run delivers until ctx ends: it watches the subscriptions, keeps one
// durable consumer per target ("deliver-<name>") filtering the subjects the
// target's subscriptions need, runs a delivery loop on each, and refreshes
// backlog figures every StatusInterval. A consumer that cannot be created
// (the events stream does not exist yet, NATS is down) is retried with
// backoff; so is a subscription source that fails. When ctx ends, Run stops
// the loops (un-acked events go back to the stream for another replica),
// waits for them and returns nil. It returns an error wrapping
// ErrInvalidConfig when Settings.Source is nil, and an error when Run is
// already running.
func (d *Deliverer) Run(ctx context.Context) error {
	if d.src == nil {
		return fmt.Errorf("%w: Settings.Source is nil", ErrInvalidConfig)
	}
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("deliver: Run is already running")
	}
	defer d.running.Store(false)
	if d.ownedRT != nil {
		defer d.ownedRT.CloseIdleConnections()
	}
	d.log.Info("delivery starting", zap.Int("targets", len(d.order)))
	defer d.log.Info("delivery stopped")

	var wg sync.WaitGroup
	first := make(chan struct{})
	wg.Go(func() { d.watch(ctx, first) })
	select {
	case <-first:
	case <-ctx.Done():
		wg.Wait()
		return nil
	}
	for _, tg := range d.order {
		wg.Go(func() { tg.supervise(ctx) })
	}
	wg.Go(func() { d.refreshLoop(ctx) })
	wg.Wait()
	return nil
}

// watch follows the subscription source until ctx ends, re-watching with
// backoff when it fails; first is closed after the first set was applied.
func (d *Deliverer) watch(ctx context.Context, first chan struct{}) {
	var once sync.Once
	wait := time.Second
	for ctx.Err() == nil {
		ch, err := d.src.Watch(ctx)
		if err != nil {
			d.log.Warn("cannot watch subscriptions; retrying", zap.Error(err), zap.Duration("in", wait))
			if !sleepCtx(ctx, wait) {
				return
			}
			wait = min(2*wait, 30*time.Second)
			continue
		}
		for subs := range ch {
			wait = time.Second
			d.apply(subs)
			once.Do(func() { close(first) })
		}
		if ctx.Err() == nil {
			d.log.Warn("subscription source ended; watching again", zap.Duration("in", wait))
			if !sleepCtx(ctx, wait) {
				return
			}
		}
	}
}

// apply installs a new subscription set and tells targets whose filters
// changed.
func (d *Deliverer) apply(subs []Subscription) {
	ix, problems := buildIndex(d.cfg, subs)
	for _, p := range problems {
		d.log.Warn("subscription ignored", zap.Error(p))
	}
	old := d.ix.Swap(ix)
	for _, tg := range d.order {
		if !slices.Equal(old.filters[tg.cfg.Name], ix.filters[tg.cfg.Name]) {
			tg.signalRefilter()
		}
	}
}

// index returns the current subscription index.
func (d *Deliverer) index() *index { return d.ix.Load() }

// refreshLoop refreshes every target's backlog gauges until ctx ends.
func (d *Deliverer) refreshLoop(ctx context.Context) {
	t := time.NewTicker(d.cfg.StatusInterval)
	defer t.Stop()
	for {
		for _, tg := range d.order {
			qctx, cancel := context.WithTimeout(ctx, d.cfg.StatusInterval)
			_, _ = d.status(qctx, tg) // updates the gauges
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// target is one configured target at run time.
type target struct {
	d        *Deliverer
	cfg      TargetConfig
	durable  string
	sender   sender
	br       *breaker
	st       targetState
	refilter chan struct{}
	log      *zap.Logger
}

func (tg *target) signalRefilter() {
	select {
	case tg.refilter <- struct{}{}:
	default:
	}
}

// consumerSpec returns the target's consumer spec for the given filters
// (see the package function consumerSpec).
func (tg *target) consumerSpec(filters []string) bus.ConsumerSpec {
	return consumerSpec(tg.cfg, tg.d.stream, tg.d.ackWait, tg.d.maxAck, filters)
}

// pullExpiry is how long one pull request of a delivery loop waits at the
// server, and pullHeartbeat how often the server sends an idle heartbeat on
// it. Two missed heartbeats make the loop pull again. Under load a pull
// request the server no longer serves was seen to stall a target while events
// waited ("nats: no heartbeat received" after 2 x 2.5 s, at 1,000 PUT/s on 2
// cores); a short heartbeat bounds such a stall to about a second, at the
// price of two heartbeat messages per second per idle target.
const (
	pullExpiry    = 5 * time.Second
	pullHeartbeat = 500 * time.Millisecond
)

// supervise keeps the target's consumer and delivery loop running until
// ctx ends.
func (tg *target) supervise(ctx context.Context) {
	wait := time.Second
	retry := func(what string, err error) bool {
		tg.log.Warn(what+"; retrying", zap.Error(err), zap.Duration("in", wait))
		ok := sleepCtx(ctx, wait)
		wait = min(2*wait, 30*time.Second)
		return ok
	}
	for ctx.Err() == nil {
		applied := tg.d.index().filters[tg.cfg.Name]
		if _, err := tg.d.bus.EnsureConsumer(ctx, tg.consumerSpec(applied)); err != nil {
			if !retry("cannot create the delivery consumer", err) {
				return
			}
			continue
		}
		loop, err := tg.d.bus.Consume(ctx, bus.ConsumeSpec{
			Stream:        tg.d.stream,
			Consumer:      tg.durable,
			Handler:       tg.handle,
			Concurrency:   tg.cfg.Concurrency,
			MaxDeliver:    tg.cfg.MaxAttempts,
			PullExpiry:    pullExpiry,
			PullHeartbeat: pullHeartbeat,
			Backoff:       tg.cfg.Backoff.bus(),
			Logger:        tg.log,
			Observer:      bus.ObserverFunc(tg.settled),
		})
		if err != nil {
			if !retry("cannot start the delivery loop", err) {
				return
			}
			continue
		}
		wait = time.Second
		tg.st.setRunning(true)
		tg.run(ctx, loop, applied)
		tg.st.setRunning(false)
		if ctx.Err() == nil {
			if !retry("delivery loop ended", loop.Err()) {
				return
			}
		}
	}
}

// run waits for loop to end, updating the consumer's filters when the
// subscriptions change.
func (tg *target) run(ctx context.Context, loop *bus.Loop, applied []string) {
	var again <-chan time.Time
	for {
		select {
		case <-loop.Done():
			return
		case <-again:
			again = nil
			tg.signalRefilter()
		case <-tg.refilter:
			f := tg.d.index().filters[tg.cfg.Name]
			if slices.Equal(f, applied) {
				continue
			}
			if _, err := tg.d.bus.EnsureConsumer(ctx, tg.consumerSpec(f)); err != nil {
				if ctx.Err() == nil {
					tg.log.Warn("cannot update the consumer's filters; retrying", zap.Error(err))
					again = time.After(time.Second)
				}
				continue
			}
			applied = f
			tg.log.Info("consumer filters updated", zap.Int("filters", len(f)))
		}
	}
}

// settled observes the bus's settlement of each delivery.
func (tg *target) settled(s bus.Settlement) {
	if s.Outcome == bus.DeadLettered {
		tg.st.count(&tg.st.failed)
		tg.d.m.failed.WithLabelValues(tg.cfg.Name).Inc()
	}
}

// handle is the bus handler of a target: decode, match, deliver.
func (tg *target) handle(ctx context.Context, m *bus.Message) error {
	e, err := events.EventFromNATS(m.Headers, m.Data)
	if err != nil {
		return bus.Permanent(fmt.Errorf("deliver: undecodable event on %s: %w", m.Subject, err))
	}
	rec, err := events.RecordFromCloudEvent(e)
	if err != nil {
		return bus.Permanent(fmt.Errorf("deliver: event %s on %s: %w", e.ID(), m.Subject, err))
	}
	// Test events are addressed to this target alone, and a redriven dead
	// letter was asked for by an operator: both skip the filters.
	if rec.EventName != events.TestEvent && !m.Redriven {
		sub, ok := tg.d.index().match(tg.cfg.Name, rec)
		if !ok {
			tg.st.count(&tg.st.filtered)
			tg.d.m.filtered.WithLabelValues(tg.cfg.Name).Inc()
			return nil
		}
		if sub.ID != rec.S3.ConfigurationID {
			id := e.ID()
			rec.S3.ConfigurationID = sub.ID
			if e, err = events.ToCloudEvent(id, rec); err != nil {
				return bus.Permanent(fmt.Errorf("deliver: event %s: %w", id, err))
			}
		}
	}
	return tg.deliver(ctx, delivery{event: e, record: rec.WithDefaults(), attempt: m.Metadata.NumDelivered})
}

// heldProbeLimit is how many failed probes one delivery makes before it
// hands its event back to the bus, which counts an attempt. It keeps a
// circuit that only poison events hold open from wedging the target: a
// target that is really down costs each held event one attempt per
// heldProbeLimit probes.
const heldProbeLimit = 5

// deliver sends d, waiting on the target's circuit; see breaker.
func (tg *target) deliver(ctx context.Context, d delivery) error {
	failedProbes := 0
	for {
		probe, err := tg.br.enter(ctx)
		if err != nil {
			return fmt.Errorf("deliver: %s: %w", tg.cfg.Name, err)
		}
		o := tg.sender.send(ctx, d)
		now := tg.d.now()
		if o.err == nil {
			tg.br.answered(probe)
			tg.d.m.circuit.WithLabelValues(tg.cfg.Name).Set(0)
			tg.st.success(now)
			tg.d.m.delivered.WithLabelValues(tg.cfg.Name).Inc()
			tg.d.m.latency.WithLabelValues(tg.cfg.Name).Observe(max(0, now.Sub(d.record.EventTime).Seconds()))
			return nil
		}
		if o.permanent {
			tg.br.answered(probe)
			tg.st.failure(now, o.err.Error(), false)
			return bus.Permanent(o.err)
		}
		tg.st.failure(now, o.err.Error(), true)
		tg.d.m.retried.WithLabelValues(tg.cfg.Name).Inc()
		if ctx.Err() != nil {
			return o.err // stopping: the bus gives the event back at once
		}
		if !tg.br.failed(probe, o.retryAfter) {
			return o.err // circuit closed: an attempt of this event
		}
		tg.d.m.circuit.WithLabelValues(tg.cfg.Name).Set(1)
		if probe {
			failedProbes++
			if failedProbes >= heldProbeLimit {
				return o.err
			}
		}
	}
}

// target returns the named target or ErrUnknownTarget.
func (d *Deliverer) target(name string) (*target, error) {
	tg, ok := d.targets[name]
	if !ok {
		return nil, fmt.Errorf("%w: no target named %q", ErrUnknownTarget, name)
	}
	return tg, nil
}

// Targets returns the status of every target, in configuration order.
// It returns the first error of Status.
func (d *Deliverer) Targets(ctx context.Context) ([]Status, error) {
	out := make([]Status, 0, len(d.order))
	for _, tg := range d.order {
		st, err := d.status(ctx, tg)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Status returns the named target's status. It returns ErrUnknownTarget, or
// the server's error wrapped when JetStream cannot be asked (a consumer
// that does not exist yet is reported with ConsumerExists false).
func (d *Deliverer) Status(ctx context.Context, name string) (Status, error) {
	tg, err := d.target(name)
	if err != nil {
		return Status{}, err
	}
	return d.status(ctx, tg)
}

func (d *Deliverer) status(ctx context.Context, tg *target) (Status, error) {
	ix := d.index()
	st := Status{
		Name:          tg.cfg.Name,
		Kind:          tg.cfg.Kind,
		ARN:           tg.cfg.ARN().String(),
		Consumer:      tg.durable,
		Subscriptions: ix.count(tg.cfg.Name),
		Filters:       ix.filters[tg.cfg.Name],
		CircuitOpen:   tg.br.isOpen(),
	}
	tg.st.fill(&st, d.now())
	c, err := d.js.Consumer(ctx, d.stream, tg.durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	case err != nil:
		return Status{}, fmt.Errorf("deliver: consumer %s: %w", tg.durable, err)
	default:
		info := c.CachedInfo()
		st.ConsumerExists = true
		st.Pending = info.NumPending
		st.AckPending = info.NumAckPending
		st.Redelivered = info.NumRedelivered
		st.Backlog = info.NumPending + uint64(max(0, info.NumAckPending))
		st.Paused = info.Paused
		if info.Paused && info.Config.PauseUntil != nil {
			t := *info.Config.PauseUntil
			st.PausedUntil = &t
		}
	}
	if dlq, err := d.js.Stream(ctx, d.bus.DLQStream()); err == nil {
		subj := bus.DeadLetterSubject(tg.durable)
		if info, err := dlq.Info(ctx, jetstream.WithSubjectFilter(subj)); err == nil {
			st.DeadLetters = info.State.Subjects[subj]
		}
	}
	name := tg.cfg.Name
	d.m.backlog.WithLabelValues(name).Set(float64(st.Backlog))
	d.m.paused.WithLabelValues(name).Set(boolFloat(st.Paused))
	d.m.circuit.WithLabelValues(name).Set(boolFloat(st.CircuitOpen))
	return st, nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PauseForever is the pause length Pause uses for a zero until.
const PauseForever = 100 * 365 * 24 * time.Hour

// Pause pauses the named target's consumer until until (zero: until
// Resume). The pause is JetStream state: it holds for every replica and
// across restarts; events keep accumulating as backlog. Deliveries already
// running finish. It returns ErrUnknownTarget, or the server's error
// wrapped (jetstream.ErrConsumerNotFound before any deliverer created the
// consumer).
func (d *Deliverer) Pause(ctx context.Context, name string, until time.Time) (Status, error) {
	tg, err := d.target(name)
	if err != nil {
		return Status{}, err
	}
	if until.IsZero() {
		until = d.now().Add(PauseForever)
	}
	if _, err := d.js.PauseConsumer(ctx, d.stream, tg.durable, until); err != nil {
		return Status{}, fmt.Errorf("deliver: pause %s: %w", name, err)
	}
	tg.log.Info("target paused", zap.Time("until", until))
	return d.status(ctx, tg)
}

// resumeDelay is how far ahead Resume sets the pause deadline; see Resume.
const resumeDelay = 50 * time.Millisecond

// Resume resumes the named target's consumer. It does so by moving the
// pause deadline a moment ahead rather than clearing it: when a deadline
// passes the server wakes the pull requests that waited during the pause,
// while a plain resume leaves them waiting until they expire (seen with
// nats-server 2.15.2). The deadline is set with the local clock; a server
// clock more than resumeDelay ahead makes this a plain resume. It returns ErrUnknownTarget or the server's error wrapped.
func (d *Deliverer) Resume(ctx context.Context, name string) (Status, error) {
	tg, err := d.target(name)
	if err != nil {
		return Status{}, err
	}
	if _, err := d.js.PauseConsumer(ctx, d.stream, tg.durable, time.Now().Add(resumeDelay)); err != nil {
		return Status{}, fmt.Errorf("deliver: resume %s: %w", name, err)
	}
	tg.log.Info("target resumed")
	if !sleepCtx(ctx, resumeDelay) {
		return Status{}, fmt.Errorf("deliver: resume %s: %w", name, ctx.Err())
	}
	return d.status(ctx, tg)
}

// DeadLetters returns up to limit (bus.DefaultListLimit when limit <= 0)
// dead letters of the named target, oldest first. It returns
// ErrUnknownTarget or the errors of bus.ListDeadLetters.
func (d *Deliverer) DeadLetters(ctx context.Context, name string, limit int) ([]DeadLetter, error) {
	tg, err := d.target(name)
	if err != nil {
		return nil, err
	}
	dls, err := d.bus.ListDeadLetters(ctx, tg.durable, limit)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(dls))
	for _, dl := range dls {
		out = append(out, deadLetterView(name, dl))
	}
	return out, nil
}

// deadLetterView describes a dead letter, decoding what it can.
func deadLetterView(target string, dl bus.DeadLetter) DeadLetter {
	v := DeadLetter{
		Seq: dl.Seq, Target: target, Reason: dl.Reason, Subject: dl.Subject,
		StreamSeq: dl.StreamSeq, Deliveries: dl.Deliveries, Time: dl.Time,
	}
	if b, _, err := subject.Parse(dl.Subject); err == nil {
		v.Bucket = b
	}
	e, err := events.EventFromNATS(dl.Headers, dl.Data)
	if err != nil {
		return v
	}
	v.EventID, v.EventType, v.Key = e.ID(), e.Type(), e.Subject()
	if rec, err := events.RecordFromCloudEvent(e); err == nil {
		v.Record = e.Data()
		v.Bucket = rec.Bucket()
	}
	return v
}

// Redrive sends the named target's dead letters with the given sequences
// back to it (and only to it); they are delivered whatever the current
// subscriptions say. It returns how many were redriven, and
// ErrUnknownTarget or the errors of bus.Redrive (bus.ErrDeadLetterNotFound).
func (d *Deliverer) Redrive(ctx context.Context, name string, seqs []uint64) (int, error) {
	tg, err := d.target(name)
	if err != nil {
		return 0, err
	}
	return d.bus.Redrive(ctx, tg.durable, seqs)
}

// RedriveAll redrives every dead letter of the named target. It returns
// how many were redriven, and ErrUnknownTarget or the errors of
// bus.RedriveAll.
func (d *Deliverer) RedriveAll(ctx context.Context, name string) (int, error) {
	tg, err := d.target(name)
	if err != nil {
		return 0, err
	}
	return d.bus.RedriveAll(ctx, tg.durable)
}

// SendTestEvent publishes an s3:TestEvent about bucket to the named target
// alone (see TestEventMsg), with a fresh id, and returns the id. The
// target's consumer is created first when it does not exist yet
// (EnsureTargetConsumer), so the event waits for the target's deliverer. It
// returns ErrUnknownTarget or the errors of EnsureTargetConsumer and
// PublishTestEvent.
func (d *Deliverer) SendTestEvent(ctx context.Context, name, bucket string) (string, error) {
	tg, err := d.target(name)
	if err != nil {
		return "", err
	}
	if err := EnsureTargetConsumer(ctx, d.js, d.stream, tg.cfg); err != nil {
		return "", err
	}
	id := NewEventID("test")
	if err := PublishTestEvent(ctx, d.bus, tg.cfg, bucket, id, d.now()); err != nil {
		return "", err
	}
	return id, nil
}

// NewEventID returns prefix + "-" + 32 random hex digits.
func NewEventID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + "-" + hex.EncodeToString(b[:])
}

// sleepCtx sleeps for d or until ctx ends; it reports whether ctx is
// still alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
