// Package s3front is Sluice's S3 front end as a service: it wires the
// metadata store (meta/sqlite or meta/postgres), the data locations, the
// SigV4 verifier, the S3 HTTP server (package server) and the outbox relay
// that publishes every committed event to the JetStream events stream.
//
// Every object mutation commits its metadata and its event in one store
// transaction; the relay publishes events afterwards, so the S3 path never
// waits on NATS and a NATS outage delays events without losing them.
//
// # Replication status
//
// s3front owns x-amz-replication-status, as DESIGN.md asks ("services never
// write another service's store"):
//
//   - At write time. A new version (PUT, POST, CopyObject,
//     CompleteMultipartUpload) that the bucket's enabled replication rules
//     select (prefix, tags, And) is stored PENDING, with every selected
//     destination PENDING in Object.Replication, in the same transaction as
//     its event, whose record says sluice.replicationStatus PENDING. A delete
//     marker is PENDING for the destinations whose governing rule replicates
//     delete markers (and filters on no tag). The rules come from the
//     bucket's stored configuration, cached by the server for
//     server.DefaultRulesCacheTTL and dropped at once when this server
//     changes it; no NATS round trip per write. Versions written before any
//     rule existed stay "" (as in AWS).
//   - Replicas. A write carrying "X-Sluice-Replica: 1" (server.ReplicaHeader,
//     sent by the s3 location driver with its replicaMarker option, which the
//     replicator sets for its destinations) is stored REPLICA, a delete
//     marker it creates too, and the events of every mutation it makes say
//     REPLICA, which the replicator skips: two Sluices replicating into each
//     other do not loop.
//   - Results. Run consumes the replicator's results (status.Event on
//     sluice.status.replication.<bucket>, stream SLUICE_STATUS) with the
//     durable consumer StatusConsumer, shared by every s3front replica, and
//     applies them in batches (one transaction for whatever results are
//     waiting, meta.ReplicationStore.ApplyReplication), acking each message
//     only after its batch committed. Per (version, destination) the result
//     with the highest sequencer wins, then the later time (a retried FAILED
//     becomes COMPLETED); the version is FAILED if any destination failed,
//     COMPLETED when all completed, PENDING otherwise. Duplicates and
//     reordered results change nothing; results for versions that are gone
//     are acked and dropped; a destination missing from the map is added.
//     Applying never changes the version's sequencer or LastModified and
//     emits no event. A result that names no version and reports a delete
//     applies to the key's current delete marker. Undecodable results go to
//     the dead letters; a store outage retries without limit.
//   - Detail. HEAD and GET answer x-amz-replication-status; the admin route
//     ReplicationStatusPath answers the per-destination state (status,
//     error, time, sequencer) of one version as JSON.
package s3front

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/postgres"
	"github.com/sluice-io/sluice/s3front/meta/sqlite"
	"github.com/sluice-io/sluice/s3front/outbox"
	"github.com/sluice-io/sluice/s3front/server"
	"github.com/sluice-io/sluice/s3front/sigv4"
	"github.com/sluice-io/sluice/services/location"
	_ "github.com/sluice-io/sluice/services/location/fs" // the default location driver
	"github.com/sluice-io/sluice/services/runtime"
)

// Name is the service's target name.
const Name = "s3front"

// ErrNotStarted is returned by Addr-dependent calls before Run has bound
// the listener.
var ErrNotStarted = errors.New("s3front: not started")

// ErrAlreadyRunning is returned by Run when the service is already running
// or has run; a Service runs once.
var ErrAlreadyRunning = errors.New("s3front: Run called twice")

// Hooks are fault-injection points for tests. The zero value injects
// nothing.
type Hooks struct {
	// AfterCommit is called after each metadata commit of an S3 request,
	// before the response is written.
	AfterCommit func(op server.Op)
	// AfterPublish is the outbox relay's hook (see outbox.Config).
	AfterPublish func(ctx context.Context, rows []meta.OutboxRow) error
	// RelayPollInterval overrides the relay's poll interval when non-zero.
	RelayPollInterval time.Duration
}

// Service is the S3 front end. Create it with New, run it with Run.
type Service struct {
	cfg     Config
	set     runtime.Settings
	log     *zap.Logger
	creds   sigv4.StaticCredentials
	hooks   Hooks
	metrics *server.Metrics
	relayM  *outbox.Metrics
	statusM *statusMetrics

	started chan struct{} // closed once the listener is bound (or Run failed early)

	mu      sync.Mutex
	ran     bool
	addr    string
	store   meta.Store
	cancel  context.CancelFunc
	done    chan struct{}
	runErr  error
	closing bool
}

// New checks cfg, resolves the defaults that depend on set.DataDir, and
// registers the service's metrics and readiness check. It opens nothing:
// Run does. It returns an error when cfg is invalid or a metric cannot be
// registered.
func New(cfg Config, set runtime.Settings) (*Service, error) {
	return NewWithHooks(cfg, set, Hooks{})
}

// NewWithHooks is New with fault-injection hooks, for tests.
func NewWithHooks(cfg Config, set runtime.Settings, hooks Hooks) (*Service, error) {
	cfg.resolve(set.DataDir)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("s3front: config: %w", err)
	}
	for name, lc := range cfg.Locations {
		if err := lc.Validate(); err != nil {
			return nil, fmt.Errorf("s3front: location %q: %w", name, err)
		}
	}
	log := set.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named(Name)
	s := &Service{
		cfg:     cfg,
		set:     set,
		log:     log,
		creds:   sigv4.StaticCredentials{},
		hooks:   hooks,
		started: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if cfg.RootAccessKey != "" {
		s.creds[cfg.RootAccessKey] = sigv4.StaticKey{Secret: cfg.RootSecretKey, Principal: RootPrincipal}
	}
	for _, u := range cfg.Users {
		s.creds[u.AccessKey] = sigv4.StaticKey{Secret: u.SecretKey, Principal: u.Name}
	}
	if len(s.creds) == 0 {
		log.Warn("no S3 users configured: every request will be denied (set root_access_key/root_secret_key or s3.users)")
	}
	var reg prometheus.Registerer
	if set.Registry != nil { // a nil *Registry must not become a non-nil interface
		reg = set.Registry
	}
	var err error
	if s.metrics, err = server.NewMetrics(reg); err != nil {
		return nil, err
	}
	if set.Registry != nil {
		if s.relayM, err = outbox.NewMetrics(set.Registry); err != nil {
			// A second service on one registry (tests rebuilding it) keeps
			// the first one's relay metrics.
			log.Warn("outbox metrics not registered", zap.Error(err))
			s.relayM = nil
		}
	}
	if s.statusM, err = newStatusMetrics(reg); err != nil {
		// As for the relay: a second service on one registry keeps the
		// first one's counters.
		log.Warn("replication result metrics not registered", zap.Error(err))
		s.statusM = nil
	}
	if set.Admin != nil {
		if err := s.Mount(set.Admin); err != nil {
			return nil, err
		}
	}
	if set.Ready != nil {
		if err := set.Ready.AddCheck(Name+"-metadata", s.ping); err != nil {
			log.Warn("readiness check not registered", zap.Error(err))
		}
	}
	return s, nil
}

// ping is the readiness check: the metadata store answers.
func (s *Service) ping(ctx context.Context) error {
	s.mu.Lock()
	st := s.store
	s.mu.Unlock()
	if st == nil {
		return ErrNotStarted
	}
	return st.Ping(ctx)
}

// Started returns a channel closed once Run has bound its listener, or
// has failed before that.
func (s *Service) Started() <-chan struct{} { return s.started }

// Addr returns the bound S3 address (useful with "127.0.0.1:0"), or ""
// before the listener is bound.
func (s *Service) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Store returns the open metadata store while Run is serving, else nil.
// Tests use it to inspect the outbox.
func (s *Service) Store() meta.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store
}

// Run opens the metadata store and the locations, ensures the events
// stream, starts the outbox relay and the consumer of replication results
// (StatusConsumer; both retry in the background while NATS is unreachable)
// and serves S3 on cfg.Listen until ctx ends (or Close is called). It then
// shuts the HTTP server down gracefully, stops the relay and the consumer
// (un-acked results go back to the stream), closes the store and the
// locations, and returns nil. It returns an error when something cannot be
// opened or bound, or the HTTP server fails. A Service runs once.
func (s *Service) Run(ctx context.Context) (err error) {
	s.mu.Lock()
	if s.ran || s.closing {
		s.mu.Unlock()
		return ErrAlreadyRunning
	}
	s.ran = true
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.mu.Unlock()
	defer cancel()
	defer close(s.done)
	startedOnce := sync.OnceFunc(func() { close(s.started) })
	defer startedOnce()

	store, err := s.openStore(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil {
			s.log.Warn("closing metadata store", zap.Error(cerr))
		}
	}()
	locs, err := location.OpenSet(ctx, s.cfg.Locations, s.log)
	if err != nil {
		return fmt.Errorf("s3front: open locations: %w", err)
	}
	defer func() {
		if cerr := locs.Close(); cerr != nil {
			s.log.Warn("closing locations", zap.Error(cerr))
		}
	}()
	drivers := make(map[string]location.Driver)
	for _, name := range locs.Names() {
		d, _ := locs.Get(name)
		drivers[name] = d
	}
	now := time.Now
	if s.set.Clock != nil {
		now = s.set.Clock.Now
	}
	var (
		evBus *bus.Bus
		ntf   *notifier
		repl  *replication
	)
	if s.set.JetStream != nil {
		if evBus, err = bus.New(s.set.JetStream, bus.Options{Logger: s.log}); err != nil {
			return fmt.Errorf("s3front: bus: %w", err)
		}
		ntf = &notifier{js: s.set.JetStream, pub: evBus, cfg: s.cfg.Events, replicas: s.set.StreamReplicas, log: s.log, now: now}
		repl = &replication{js: s.set.JetStream, replicas: s.set.StreamReplicas, log: s.log, isLocation: func(name string) bool {
			_, ok := drivers[name]
			return ok
		}}
	}
	srvOpts := server.Options{
		Store:           store,
		Locations:       drivers,
		DefaultLocation: s.cfg.DefaultLocation,
		Auth: &sigv4.Verifier{
			Region:      s.cfg.Region,
			Credentials: s.creds,
			MaxSkew:     s.cfg.MaxSkew,
			Now:         now,
		},
		Credentials: s.creds,
		Region:      s.cfg.Region,
		Domain:      s.cfg.Domain,
		Logger:      s.log,
		Clock:       now,
		Metrics:     s.metrics,
		AfterCommit: s.hooks.AfterCommit,
		Events:      s.cfg.Events,
	}
	if ntf != nil {
		srvOpts.Notify = ntf.apply
	}
	if repl != nil {
		srvOpts.Replicate = repl.apply
	}
	if srvOpts.Search, err = s.cfg.searchHandler(); err != nil {
		return err
	}
	srv, err := server.New(srvOpts)
	if err != nil {
		return fmt.Errorf("s3front: %w", err)
	}

	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("s3front: listen on %s: %w", s.cfg.Listen, err)
	}
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.store = store
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.store = nil
		s.mu.Unlock()
	}()
	startedOnce()

	// The relay runs beside the HTTP server; the S3 path never waits on it.
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	relayDone := make(chan error, 1)
	if err := s.startRelay(relayCtx, store, evBus, ntf, repl, relayDone); err != nil {
		stopRelay()
		_ = ln.Close()
		return err
	}

	// Replication results are applied beside the HTTP server too.
	statusCtx, stopStatus := context.WithCancel(context.WithoutCancel(ctx))
	statusDone := make(chan struct{})
	if evBus != nil {
		go func() {
			defer close(statusDone)
			s.runStatus(statusCtx, store, evBus)
		}()
	} else {
		close(statusDone)
	}

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	s.log.Info("s3 endpoint listening", zap.String("addr", ln.Addr().String()),
		zap.String("region", s.cfg.Region), zap.String("domain", s.cfg.Domain),
		zap.String("metadata", s.cfg.Metadata.Driver), zap.Strings("locations", locs.Names()))

	var runErr error
	relayRunning := true
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err := <-serveErr:
			if !errors.Is(err, http.ErrServerClosed) {
				runErr = fmt.Errorf("s3front: serve: %w", err)
			}
			break wait
		case err := <-relayDone:
			relayRunning = false
			if err != nil {
				// Only a fault hook ends the relay early.
				runErr = fmt.Errorf("s3front: outbox relay: %w", err)
				break wait
			}
			relayDone = nil // no relay (no JetStream): keep serving
		}
	}

	sctx, scancel := context.WithTimeout(context.Background(), defaultShutdownTimeout)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("graceful HTTP shutdown incomplete", zap.Error(err))
		_ = hs.Close()
	}
	stopStatus()
	stopRelay()
	<-statusDone
	if relayRunning && relayDone != nil {
		if err := <-relayDone; err != nil && runErr == nil {
			runErr = fmt.Errorf("s3front: outbox relay: %w", err)
		}
	}
	s.log.Info("s3 endpoint stopped")
	return runErr
}

// openStore opens the configured metadata store.
func (s *Service) openStore(ctx context.Context) (meta.Store, error) {
	var now func() time.Time
	if s.set.Clock != nil {
		now = s.set.Clock.Now
	}
	switch s.cfg.Metadata.Driver {
	case DriverPostgres:
		st, err := postgres.Open(ctx, postgres.Config{DSN: s.cfg.Metadata.DSN, Now: now})
		if err != nil {
			return nil, fmt.Errorf("s3front: open postgres metadata: %w", err)
		}
		return st, nil
	default:
		if err := os.MkdirAll(filepath.Dir(s.cfg.Metadata.Path), 0o750); err != nil {
			return nil, fmt.Errorf("s3front: metadata directory: %w", err)
		}
		st, err := sqlite.Open(ctx, sqlite.Config{Path: s.cfg.Metadata.Path, Now: now})
		if err != nil {
			return nil, fmt.Errorf("s3front: open sqlite metadata: %w", err)
		}
		return st, nil
	}
}

// startRelay ensures the events stream (retrying in the background while
// NATS is unreachable), then syncs the notification subscriptions (ntf)
// and the replication rules (repl), both retried in the background, and runs the outbox relay until ctx ends. The
// relay's result (nil when ctx ended) is sent on done exactly once, after
// the sync has ended too.
func (s *Service) startRelay(ctx context.Context, store meta.Store, b *bus.Bus, ntf *notifier, repl *replication, done chan<- error) error {
	if s.set.JetStream == nil || b == nil {
		s.log.Warn("no JetStream: events stay in the outbox until a relay with NATS runs")
		done <- nil
		return nil
	}
	relay, err := outbox.New(outbox.Config{
		Store:        store,
		Publisher:    s.set.JetStream,
		Logger:       s.log,
		Metrics:      s.relayM,
		PollInterval: s.hooks.RelayPollInterval,
		AfterPublish: s.hooks.AfterPublish,
	})
	if err != nil {
		return fmt.Errorf("s3front: outbox relay: %w", err)
	}
	spec := bus.EventsStreamSpec()
	if s.set.StreamReplicas > 0 {
		spec.Replicas = s.set.StreamReplicas
	}
	go func() {
		var runErr error
		defer func() { done <- runErr }()
		wait := 100 * time.Millisecond
		for {
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := b.EnsureStream(actx, spec)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("events stream not ensured yet; retrying", zap.Error(err), zap.Duration("wait", wait))
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 5*time.Second)
		}
		var wg sync.WaitGroup
		syncCtx, stopSync := context.WithCancel(ctx)
		if ntf != nil {
			wg.Go(func() { s.syncNotifications(syncCtx, store, ntf) })
		}
		if repl != nil {
			wg.Go(func() {
				s.retrySync(syncCtx, "replication rules", func(ctx context.Context) error { return repl.sync(ctx, store) })
			})
		}
		runErr = relay.Run(ctx)
		stopSync()
		wg.Wait()
	}()
	return nil
}

// syncNotifications copies every stored notification configuration into
// the subscriptions key-value bucket, retrying with backoff until it
// succeeds or ctx ends.
func (s *Service) syncNotifications(ctx context.Context, store meta.Store, ntf *notifier) {
	wait := 100 * time.Millisecond
	for {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := ntf.sync(sctx, store)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Warn("notification subscriptions not synced yet; retrying", zap.Error(err), zap.Duration("wait", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// retrySync runs sync with a 30s timeout, retrying with backoff until it
// succeeds or ctx ends.
func (s *Service) retrySync(ctx context.Context, what string, sync func(context.Context) error) {
	wait := 100 * time.Millisecond
	for {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := sync(sctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Warn(what+" not synced yet; retrying", zap.Error(err), zap.Duration("wait", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// Close stops a running Run and waits for it to return; before Run it
// makes a later Run fail with ErrAlreadyRunning. It is safe to call more
// than once and from any goroutine. It returns nil.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closing = true
	cancel, ran := s.cancel, s.ran
	s.mu.Unlock()
	if !ran {
		return nil
	}
	if cancel != nil {
		cancel()
	}
	<-s.done
	return nil
}

// Target returns the service as a runtime.Target.
func (s *Service) Target() runtime.Target { return runtime.NewTarget(Name, s.Run) }
