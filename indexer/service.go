package indexer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/postgres"
	"github.com/sluice-io/sluice/indexer/store/sqlite"
	"github.com/sluice-io/sluice/services/runtime"
)

// Name is the service's target name.
const Name = "indexer"

// Errors of the service.
var (
	// ErrAlreadyRunning is returned by Run when the service has run; a
	// Service runs once.
	ErrAlreadyRunning = errors.New("indexer: Run called twice")
	// ErrNoJetStream is returned by Run when the settings carry no
	// JetStream context.
	ErrNoJetStream = errors.New("indexer: no JetStream in the settings")
)

// Option changes how New builds the service.
type Option func(*options)

type options struct {
	store store.Store
}

// WithStore makes the service use st instead of opening the store its
// Config names; Run does not close it. Tests use it to share or wrap a
// store.
func WithStore(st store.Store) Option { return func(o *options) { o.store = st } }

// Service is the indexer. Create it with New, run it with Run.
type Service struct {
	cfg     Config
	set     runtime.Settings
	log     *zap.Logger
	metrics *Metrics
	opts    options
	h       *handlers

	ready chan struct{} // closed once the consumer runs (or Run failed early)

	mu  sync.Mutex
	ran bool
	st  store.Store // open while Run runs
}

// New checks cfg, resolves the defaults that depend on set.DataDir,
// registers the metrics, the readiness check and the admin routes
// (RouteSearch, RouteAggregate, RouteBucketSearch, RouteTypes). It opens
// nothing: Run does. It returns an error wrapping config.ErrInvalid for a
// bad cfg, or the registry's error.
func New(cfg Config, set runtime.Settings, opts ...Option) (*Service, error) {
	cfg.resolve(set.DataDir)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("indexer: config: %w", err)
	}
	log := set.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named(Name)
	var reg prometheus.Registerer
	if set.Registry != nil {
		reg = set.Registry
	}
	m, err := NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("indexer: metrics: %w", err)
	}
	s := &Service{cfg: cfg, set: set, log: log, metrics: m, ready: make(chan struct{})}
	for _, o := range opts {
		o(&s.opts)
	}
	s.h = &handlers{store: s.Store, log: log, metrics: m}
	if set.Ready != nil {
		if err := set.Ready.AddCheck(Name+"-index", s.ping); err != nil {
			log.Warn("readiness check not registered", zap.Error(err))
		}
	}
	if set.Admin != nil {
		for _, r := range s.routes() {
			if err := set.Admin.Handle(r.pattern, r.h); err != nil {
				return nil, fmt.Errorf("indexer: admin route: %w", err)
			}
		}
	}
	return s, nil
}

type route struct {
	pattern string
	h       http.HandlerFunc
}

// routes are the admin routes, with their methods.
func (s *Service) routes() []route {
	return []route{
		{"GET " + RouteSearch, func(w http.ResponseWriter, r *http.Request) { s.h.search(w, r, nil) }},
		{"GET " + RouteAggregate, func(w http.ResponseWriter, r *http.Request) { s.h.aggregate(w, r, nil) }},
		{"GET " + RouteBucketSearch, s.h.bucketSearch},
		{"GET " + RouteTypes, s.h.getTypes},
		{"PUT " + RouteTypes, s.h.putTypes},
	}
}

// Handler returns the admin routes (what New mounts on the process
// listener) as one handler, to serve them elsewhere.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		mux.HandleFunc(r.pattern, r.h)
	}
	return mux
}

// CatalogHandler returns the public JSON catalog: GET <any path> searches
// and GET <path ending in /aggregate> aggregates, over the buckets resolve
// returns for the caller (the bucket parameter can only narrow them).
// Parameters: q (where clause with the bucket field), cursor, limit,
// versions, bucket, and by (bucket, location, content-type,
// replication-status) for aggregations. Malformed queries are answered 400
// InvalidArgument with the error position; the caller's authentication is
// resolve's business.
func (s *Service) CatalogHandler(resolve BucketResolver) http.Handler {
	return catalog{h: s.h, resolve: resolve}
}

// Store returns the open index while Run runs, else nil.
func (s *Service) Store() store.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// Ready returns a channel closed once Run consumes events (or has failed
// before that).
func (s *Service) Ready() <-chan struct{} { return s.ready }

func (s *Service) ping(ctx context.Context) error {
	st := s.Store()
	if st == nil {
		return errNotReady
	}
	return st.Ping(ctx)
}

// OpenStore opens the index database cfg names (resolving the default
// SQLite path under dataDir), for tools that work on the index without
// running the service (`sluice index rebuild`). The caller closes it.
func OpenStore(ctx context.Context, cfg Config, dataDir string) (store.Store, error) {
	cfg.resolve(dataDir)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("indexer: config: %w", err)
	}
	switch cfg.Store.Driver {
	case DriverPostgres:
		return postgres.Open(ctx, postgres.Config{DSN: cfg.Store.DSN})
	default:
		if err := os.MkdirAll(filepath.Dir(cfg.Store.Path), 0o750); err != nil {
			return nil, fmt.Errorf("indexer: %w", err)
		}
		return sqlite.Open(ctx, sqlite.Config{Path: cfg.Store.Path})
	}
}

// Run opens the index, ensures the durable consumer (and the events stream
// when it does not exist yet), and indexes events until ctx ends. It then
// drains the consumer (in-flight batches commit and are acked; messages not
// yet handled go back to the stream), closes the store and returns nil. It
// returns an error when the store cannot be opened, the consumer cannot be
// set up, or the consumer loop ends by itself.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ran {
		s.mu.Unlock()
		return ErrAlreadyRunning
	}
	s.ran = true
	s.mu.Unlock()
	readyOnce := sync.OnceFunc(func() { close(s.ready) })
	defer readyOnce()
	if s.set.JetStream == nil {
		return ErrNoJetStream
	}
	st := s.opts.store
	if st == nil {
		var err error
		if st, err = OpenStore(ctx, s.cfg, s.set.DataDir); err != nil {
			return err
		}
		defer func() {
			if err := st.Close(); err != nil {
				s.log.Warn("closing the index", zap.Error(err))
			}
		}()
	}
	b, err := bus.New(s.set.JetStream, bus.Options{Logger: s.log})
	if err != nil {
		return fmt.Errorf("indexer: %w", err)
	}
	if err := s.ensureConsumer(ctx, b); err != nil {
		return err
	}
	now := time.Now
	if s.set.Clock != nil {
		now = s.set.Clock.Now
	}
	bat := newBatcher(st, s.cfg.BatchSize, s.cfg.BatchWait, now, s.log, s.metrics)
	defer bat.close()
	loopCtx, stopLoop := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoop()
	loop, err := b.Consume(loopCtx, bus.ConsumeSpec{
		Stream:   bus.EventsStreamName,
		Consumer: s.cfg.Durable,
		Handler:  func(ctx context.Context, m *bus.Message) error { return s.handle(ctx, bat, m) },
		// Two batches in flight: one fills while the other commits.
		Concurrency: 2 * s.cfg.BatchSize,
		Prefetch:    s.cfg.BatchSize,
		Logger:      s.log,
	})
	if err != nil {
		return fmt.Errorf("indexer: consume: %w", err)
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.st = nil
		s.mu.Unlock()
	}()
	readyOnce()
	s.log.Info("indexer running", zap.String("durable", s.cfg.Durable), zap.String("store", s.cfg.Store.Driver),
		zap.Int("batch_size", s.cfg.BatchSize), zap.Duration("batch_wait", s.cfg.BatchWait))
	select {
	case <-ctx.Done():
		loop.Drain()
		t := time.NewTimer(s.cfg.DrainWait)
		select {
		case <-loop.Done():
		case <-t.C:
			loop.Stop()
			<-loop.Done()
		}
		t.Stop()
		s.log.Info("indexer stopped")
		return nil
	case <-loop.Done():
		if err := loop.Err(); err != nil {
			return fmt.Errorf("indexer: %w", err)
		}
		return nil
	}
}

// ensureConsumer creates the events stream when it does not exist (never
// changing an existing one, which s3front owns) and ensures the durable
// consumer.
func (s *Service) ensureConsumer(ctx context.Context, b *bus.Bus) error {
	if _, err := s.set.JetStream.Stream(ctx, bus.EventsStreamName); errors.Is(err, jetstream.ErrStreamNotFound) {
		spec := bus.EventsStreamSpec()
		if s.set.StreamReplicas > 0 {
			spec.Replicas = s.set.StreamReplicas
		}
		if _, err := b.EnsureStream(ctx, spec); err != nil {
			return fmt.Errorf("indexer: events stream: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("indexer: events stream: %w", err)
	}
	_, err := b.EnsureConsumer(ctx, bus.ConsumerSpec{
		Stream:         bus.EventsStreamName,
		Durable:        s.cfg.Durable,
		Description:    "Sluice indexer: object events into the metadata index",
		FilterSubjects: []string{bus.EventsSubjects},
		AckWait:        s.cfg.AckWait,
		MaxAckPending:  max(defaultMaxAckPends, 4*s.cfg.BatchSize),
	})
	if err != nil {
		return fmt.Errorf("indexer: consumer: %w", err)
	}
	return nil
}

// handle is the consumer handler: decode, then hand the event to the
// batcher and wait for its commit.
func (s *Service) handle(ctx context.Context, bat *batcher, m *bus.Message) error {
	ev, rec, err := decode(m)
	switch {
	case errors.Is(err, ErrUntracked):
		s.metrics.EventsIndexed.WithLabelValues("ignored").Inc()
		return nil
	case err != nil:
		s.metrics.EventsIndexed.WithLabelValues("invalid").Inc()
		return err
	}
	return bat.submit(ctx, ev, rec.EventTime)
}
