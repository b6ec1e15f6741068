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
	"github.com/sluice-io/sluice/events/replication/status"
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
// (RouteSearch, RouteAggregate, RouteBucketSearch, RouteTypes, RouteCatalog,
// RouteCatalogAggregate). It opens nothing: Run does. It returns an error wrapping config.ErrInvalid for a
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
		{"GET " + RouteCatalog, s.CatalogHandler(HeaderBucketResolver).ServeHTTP},
		{"GET " + RouteCatalogAggregate, s.CatalogHandler(HeaderBucketResolver).ServeHTTP},
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
	return openStore(ctx, cfg, dataDir, nil)
}

// openStore is OpenStore with the clock tombstone ages are measured with
// (time.Now when nil).
func openStore(ctx context.Context, cfg Config, dataDir string, now func() time.Time) (store.Store, error) {
	cfg.resolve(dataDir)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("indexer: config: %w", err)
	}
	switch cfg.Store.Driver {
	case DriverPostgres:
		return postgres.Open(ctx, postgres.Config{DSN: cfg.Store.DSN, Now: now})
	default:
		if err := os.MkdirAll(filepath.Dir(cfg.Store.Path), 0o750); err != nil {
			return nil, fmt.Errorf("indexer: %w", err)
		}
		return sqlite.Open(ctx, sqlite.Config{Path: cfg.Store.Path, Now: now})
	}
}

// Run opens the index, ensures the durable consumers (and the events and
// status streams when they do not exist yet), indexes object events and
// replication results until ctx ends, and purges expired tombstones every
// CleanupInterval. It then drains the consumers (in-flight batches commit
// and are acked; messages not yet handled go back to the streams), closes
// the store and returns nil. It returns an error when the store cannot be
// opened, a consumer cannot be set up, or a consumer loop ends by itself.
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
	now := time.Now
	if s.set.Clock != nil {
		now = s.set.Clock.Now
	}
	st := s.opts.store
	if st == nil {
		var err error
		if st, err = openStore(ctx, s.cfg, s.set.DataDir, now); err != nil {
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
	if err := s.ensureConsumers(ctx, b); err != nil {
		return err
	}
	bat := newBatcher(st, s.cfg.BatchSize, s.cfg.MaxBatchSize, s.cfg.BatchWait, now, s.log, s.metrics)
	defer bat.close()
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	// Two batches in flight (one fills while the other commits), each up
	// to MaxBatchSize in a burst.
	concurrency := 2 * s.cfg.MaxBatchSize
	consume := func(stream, durable string, h func(context.Context, *batcher, *bus.Message) error) (*bus.Loop, error) {
		return b.Consume(loopCtx, bus.ConsumeSpec{
			Stream:      stream,
			Consumer:    durable,
			Handler:     func(ctx context.Context, m *bus.Message) error { return h(ctx, bat, m) },
			Concurrency: concurrency,
			Prefetch:    s.cfg.BatchSize,
			Logger:      s.log,
		})
	}
	events, err := consume(bus.EventsStreamName, s.cfg.Durable, s.handle)
	if err != nil {
		return fmt.Errorf("indexer: consume: %w", err)
	}
	results, err := consume(status.StreamName, s.cfg.StatusDurable, s.handleStatus)
	if err != nil {
		events.Stop()
		<-events.Done()
		return fmt.Errorf("indexer: consume replication results: %w", err)
	}
	loops := []*bus.Loop{events, results}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.st = nil
		s.mu.Unlock()
	}()
	cleanupDone := make(chan struct{})
	go func() {
		defer close(cleanupDone)
		s.cleanup(loopCtx, st, now)
	}()
	defer func() {
		stopLoops()
		<-cleanupDone
	}()
	readyOnce()
	s.log.Info("indexer running", zap.String("durable", s.cfg.Durable), zap.String("status_durable", s.cfg.StatusDurable),
		zap.String("store", s.cfg.Store.Driver), zap.Int("batch_size", s.cfg.BatchSize), zap.Int("max_batch_size", s.cfg.MaxBatchSize),
		zap.Duration("batch_wait", s.cfg.BatchWait), zap.Duration("tombstone_retention", s.cfg.TombstoneRetention))
	select {
	case <-ctx.Done():
		for _, l := range loops {
			l.Drain()
		}
		t := time.NewTimer(s.cfg.DrainWait)
		for _, l := range loops {
			select {
			case <-l.Done():
			case <-t.C:
			}
		}
		t.Stop()
		for _, l := range loops {
			l.Stop()
			<-l.Done()
		}
		s.log.Info("indexer stopped")
		return nil
	case <-events.Done():
	case <-results.Done():
	}
	var errs []error
	for _, l := range loops {
		l.Stop()
		<-l.Done()
		if err := l.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("indexer: %w", err)
	}
	return nil
}

// cleanup purges the tombstones older than the retention, at once and then
// every CleanupInterval, until ctx ends. A failed purge is logged and
// retried at the next tick.
func (s *Service) cleanup(ctx context.Context, st store.Store, now func() time.Time) {
	t := time.NewTicker(s.cfg.CleanupInterval)
	defer t.Stop()
	for {
		start := time.Now()
		n, err := st.PurgeTombstones(ctx, now().Add(-s.cfg.TombstoneRetention))
		s.metrics.TombstonesPurged.Add(float64(n))
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			s.metrics.CleanupRuns.WithLabelValues("error").Inc()
			s.log.Warn("purging tombstones", zap.Int64("purged", n), zap.Error(err))
		default:
			s.metrics.CleanupRuns.WithLabelValues("ok").Inc()
			if n > 0 {
				s.log.Info("purged tombstones", zap.Int64("purged", n), zap.Duration("took", time.Since(start)))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ensureConsumers creates the events and status streams when they do not
// exist (never changing an existing one: s3front and the replicator own
// them) and ensures the durable consumers.
func (s *Service) ensureConsumers(ctx context.Context, b *bus.Bus) error {
	for _, spec := range []bus.StreamSpec{bus.EventsStreamSpec(), status.StreamSpec(s.set.StreamReplicas)} {
		if _, err := s.set.JetStream.Stream(ctx, spec.Name); errors.Is(err, jetstream.ErrStreamNotFound) {
			if s.set.StreamReplicas > 0 {
				spec.Replicas = s.set.StreamReplicas
			}
			if _, err := b.EnsureStream(ctx, spec); err != nil {
				return fmt.Errorf("indexer: stream %s: %w", spec.Name, err)
			}
		} else if err != nil {
			return fmt.Errorf("indexer: stream %s: %w", spec.Name, err)
		}
	}
	pending := max(defaultMaxAckPends, 4*s.cfg.MaxBatchSize)
	for _, spec := range []bus.ConsumerSpec{{
		Stream:         bus.EventsStreamName,
		Durable:        s.cfg.Durable,
		Description:    "Sluice indexer: object events into the metadata index",
		FilterSubjects: []string{bus.EventsSubjects},
		AckWait:        s.cfg.AckWait,
		MaxAckPending:  pending,
	}, {
		Stream:         status.StreamName,
		Durable:        s.cfg.StatusDurable,
		Description:    "Sluice indexer: replication results into the metadata index",
		FilterSubjects: []string{status.ReplicationPrefix + ">"},
		AckWait:        s.cfg.AckWait,
		MaxAckPending:  pending,
		NoRedrive:      true, // SLUICE_STATUS does not capture sluice.redrive.>
	}} {
		if _, err := b.EnsureConsumer(ctx, spec); err != nil {
			return fmt.Errorf("indexer: consumer %s: %w", spec.Durable, err)
		}
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

// handleStatus is the handler of replication results.
func (s *Service) handleStatus(ctx context.Context, bat *batcher, m *bus.Message) error {
	ev, at, err := decodeStatus(m)
	switch {
	case errors.Is(err, ErrUntracked):
		s.metrics.EventsIndexed.WithLabelValues("ignored").Inc()
		return nil
	case err != nil:
		s.metrics.EventsIndexed.WithLabelValues("invalid").Inc()
		return err
	}
	return bat.submit(ctx, ev, at)
}
