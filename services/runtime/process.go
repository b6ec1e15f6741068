// Package runtime is a Sluice process: it builds the logger, the NATS
// connection (or embedded server) and the HTTP listener from config.Common,
// hands Settings to the services, runs them as Targets, and shuts everything
// down in order when the context ends.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sluice-io/sluice/services/config"
	"github.com/sluice-io/sluice/services/health"
	"github.com/sluice-io/sluice/services/logging"
	"github.com/sluice-io/sluice/services/natsconn"
)

var (
	// ErrNotStarted is returned by Run before Start succeeded.
	ErrNotStarted = errors.New("runtime: process not started")
	// ErrAlreadyStarted is returned by Start when called twice, and by Run
	// when called twice.
	ErrAlreadyStarted = errors.New("runtime: process already started")
	// ErrClosed is returned by Start and Run after Shutdown (or a failed Start).
	ErrClosed = errors.New("runtime: process shut down")
	// ErrShutdownTimeout is wrapped by Run when targets did not return
	// within the shutdown timeout after the context ended.
	ErrShutdownTimeout = errors.New("runtime: targets did not stop in time")
)

// DefaultShutdownTimeout bounds how long Run waits for targets to drain,
// and then how long the HTTP server and NATS get to close.
const DefaultShutdownTimeout = 30 * time.Second

// SignalContext returns a context that ends on SIGINT or SIGTERM (or when
// parent ends); call stop to release the signal handler. A second signal
// after stop kills the process the usual way.
func SignalContext(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// Option adjusts New.
type Option func(*Process)

// WithLogger makes the process use log instead of building one from
// config; the caller keeps ownership (the process does not sync it).
func WithLogger(log *zap.Logger) Option { return func(p *Process) { p.log = log } }

// WithRegistry makes the process serve reg on /metrics instead of a fresh
// registry.
func WithRegistry(reg *prometheus.Registry) Option { return func(p *Process) { p.reg = reg } }

// WithClock sets Settings.Clock (default SystemClock).
func WithClock(c Clock) Option { return func(p *Process) { p.clock = c } }

// WithName names the process in logs and its NATS connection (default "sluice").
func WithName(name string) Option { return func(p *Process) { p.name = name } }

// WithShutdownTimeout sets the shutdown timeout (default DefaultShutdownTimeout).
func WithShutdownTimeout(d time.Duration) Option {
	return func(p *Process) { p.shutdownTimeout = d }
}

// Process owns the resources every service shares. Its methods are safe for
// concurrent use. The lifecycle is New → Start → Run (→ Shutdown, which Run
// calls itself; calling it again, or before Start, is harmless).
type Process struct {
	cfg             config.Common
	name            string
	clock           Clock
	reg             *prometheus.Registry
	shutdownTimeout time.Duration

	log       *zap.Logger
	ownLogger bool // built by the process: synced on shutdown
	level     zap.AtomicLevel

	mu       sync.Mutex // guards the state below; held through Start and Shutdown
	started  bool
	running  bool
	closed   bool
	closeErr error
	nats     *natsconn.Handle
	health   *health.Handler
	srv      *http.Server
	addr     string
	serveErr chan error    // receives an unexpected Serve error
	served   chan struct{} // closed when Serve returns
	runDone  chan struct{} // closed when Run has shut the process down

	stopOnce sync.Once
	stopReq  chan struct{} // closed by Shutdown to stop a running Run
}

// New checks cfg (config.Validate) and prepares a process; nothing starts
// yet. It returns an error wrapping config.ErrInvalid for a bad cfg.
func New(cfg config.Common, opts ...Option) (*Process, error) {
	if err := config.Validate(&cfg); err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	p := &Process{
		cfg:             cfg,
		name:            "sluice",
		clock:           SystemClock{},
		shutdownTimeout: DefaultShutdownTimeout,
		stopReq:         make(chan struct{}),
	}
	for _, opt := range opts {
		opt(p)
	}
	if p.reg == nil {
		p.reg = prometheus.NewRegistry()
	}
	if p.clock == nil {
		p.clock = SystemClock{}
	}
	if p.shutdownTimeout <= 0 {
		p.shutdownTimeout = DefaultShutdownTimeout
	}
	return p, nil
}

// Start builds the logger, creates the data directory, opens NATS
// (embedded server or connection, per config), and binds and serves the
// HTTP listener at exactly the configured address. It returns the Settings
// for the services. ctx bounds the start (waiting for NATS above all).
//
// On error everything started is stopped again and the process is closed.
// Errors wrap ErrAlreadyStarted, ErrClosed, config.ErrInvalid (logger),
// natsconn.ErrServerStart, or the listen error.
func (p *Process) Start(ctx context.Context) (Settings, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return Settings{}, ErrClosed
	case p.started:
		return Settings{}, ErrAlreadyStarted
	}
	set, err := p.start(ctx)
	if err != nil {
		p.closeErr = p.stop(context.WithoutCancel(ctx))
		p.closed = true
		return Settings{}, err
	}
	p.started = true
	return set, nil
}

func (p *Process) start(ctx context.Context) (Settings, error) {
	if p.log == nil {
		log, level, err := logging.Build(p.cfg.Log, zapcore.Lock(os.Stderr))
		if err != nil {
			return Settings{}, fmt.Errorf("runtime: logger: %w", err)
		}
		p.log, p.level, p.ownLogger = log, level, true
	}
	mode := "embedded"
	if !p.cfg.NATS.UseEmbedded() {
		mode = "connect"
	}
	p.log.Info("process starting",
		zap.String("process", p.name),
		zap.String("data_dir", p.cfg.DataDir),
		zap.String("http_listen", p.cfg.HTTP.Listen),
		zap.String("nats_mode", mode))

	if err := os.MkdirAll(p.cfg.DataDir, 0o750); err != nil {
		return Settings{}, fmt.Errorf("runtime: data dir: %w", err)
	}

	nh, err := natsconn.Open(ctx, p.cfg.NATS, p.log, natsconn.WithName(p.name))
	if err != nil {
		return Settings{}, fmt.Errorf("runtime: nats: %w", err)
	}
	p.nats = nh

	hh, err := health.New(p.reg, health.Options{Logger: p.log.Named("health"), Pprof: p.cfg.HTTP.Pprof})
	if err != nil {
		return Settings{}, fmt.Errorf("runtime: %w", err)
	}
	p.health = hh
	if err := hh.AddCheck("nats", nh.Ping); err != nil {
		return Settings{}, fmt.Errorf("runtime: %w", err)
	}
	if p.ownLogger {
		// GET reports the level, PUT {"level":"debug"} changes it.
		if err := hh.Handle("/admin/loglevel", p.level); err != nil {
			return Settings{}, fmt.Errorf("runtime: %w", err)
		}
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", p.cfg.HTTP.Listen)
	if err != nil {
		return Settings{}, fmt.Errorf("runtime: http listener: %w", err)
	}
	p.addr = ln.Addr().String()
	p.srv = &http.Server{
		Handler:           hh,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(p.log.Named("http")),
	}
	p.serveErr = make(chan error, 1)
	p.served = make(chan struct{})
	go func(srv *http.Server, serveErr chan<- error, served chan<- struct{}) {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- fmt.Errorf("runtime: http server: %w", err)
		}
	}(p.srv, p.serveErr, p.served)

	p.log.Info("process started", zap.String("http", p.addr), zap.String("nats", nh.URL()))
	return Settings{
		Logger:         p.log,
		Conn:           nh.Conn(),
		JetStream:      nh.JetStream(),
		Registry:       p.reg,
		Clock:          p.clock,
		Admin:          hh,
		Ready:          hh,
		DataDir:        p.cfg.DataDir,
		StreamReplicas: p.cfg.NATS.Replicas,
	}, nil
}

// HTTPAddr returns the address the HTTP listener is bound to (with the real
// port when the config said :0), or "" before Start.
func (p *Process) HTTPAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// NATSURL returns the NATS client URL (see natsconn.Handle.URL), or ""
// before Start.
func (p *Process) NATSURL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nats == nil {
		return ""
	}
	return p.nats.URL()
}

// Run runs the targets concurrently until ctx ends, a target fails, or
// every target has returned. Then it shuts down in order: /readyz answers
// 503, the targets are cancelled and awaited (up to the shutdown timeout),
// the HTTP server stops, the NATS connection drains and closes, the
// embedded server stops, and the logger is synced.
//
// Run returns nil after a clean stop caused by ctx. A target's error (or
// panic, or an HTTP server failure) cancels the others and is returned,
// wrapped with the target's name. It also returns errors wrapping
// ErrNotStarted, ErrAlreadyStarted (second Run), ErrClosed,
// ErrShutdownTimeout, and shutdown errors, joined.
func (p *Process) Run(ctx context.Context, targets ...Target) error {
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return ErrClosed
	case !p.started:
		p.mu.Unlock()
		return ErrNotStarted
	case p.running:
		p.mu.Unlock()
		return ErrAlreadyStarted
	}
	p.running = true
	p.runDone = make(chan struct{})
	log, hh, serveErr := p.log, p.health, p.serveErr
	p.mu.Unlock()
	defer close(p.runDone)

	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Name()
	}
	log.Info("running targets", zap.Strings("targets", names))

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		failOnce sync.Once
		failErr  error
	)
	fail := func(err error) {
		failOnce.Do(func() { failErr = err })
		cancel(err)
	}
	live := newLiveSet(names)
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Go(func() {
			err := runTarget(runCtx, t)
			live.done(t.Name())
			switch {
			case err == nil, runCtx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
				log.Info("target stopped", zap.String("target", t.Name()))
			default:
				log.Error("target failed", zap.String("target", t.Name()), zap.Error(err))
				fail(fmt.Errorf("target %s: %w", t.Name(), err))
			}
		})
	}
	allDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(allDone)
	}()

	select {
	case <-runCtx.Done():
	case <-allDone:
	case <-p.stopReq:
		cancel(errors.New("shutdown requested"))
	case err := <-serveErr:
		log.Error("http server failed", zap.Error(err))
		fail(err)
	}
	log.Info("process stopping", zap.NamedError("cause", context.Cause(runCtx)))
	hh.SetDraining()
	cancel(nil)

	var errs []error
	timer := time.NewTimer(p.shutdownTimeout)
	select {
	case <-allDone:
		timer.Stop()
	case <-timer.C:
		stuck := live.names()
		log.Error("targets did not stop in time", zap.Strings("targets", stuck), zap.Duration("timeout", p.shutdownTimeout))
		errs = append(errs, fmt.Errorf("%w: %s", ErrShutdownTimeout, strings.Join(stuck, ", ")))
	}

	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), p.shutdownTimeout)
	defer scancel()
	shutdownErr := p.close(sctx)
	// A target stuck past the timeout may still fail later; the Once makes
	// failErr final from here on.
	failOnce.Do(func() {})
	return errors.Join(append([]error{failErr}, append(errs, shutdownErr)...)...)
}

// runTarget runs t, turning a panic into an error.
func runTarget(ctx context.Context, t Target) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return t.Run(ctx)
}

// Shutdown stops what Start started, in order: /readyz answers 503, the
// HTTP server stops (waiting for requests in flight until ctx ends), NATS
// drains and closes, the embedded server stops, and a logger the process
// built is synced. While Run is running, Shutdown asks it to stop its
// targets first and waits for it (or for ctx, then returning ctx.Err()).
// It is safe before Start and safe to call more than once: later calls
// return the first result.
func (p *Process) Shutdown(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stopReq) })
	p.mu.Lock()
	runDone := p.runDone
	p.mu.Unlock()
	if runDone != nil {
		select {
		case <-runDone:
		case <-ctx.Done():
			return fmt.Errorf("runtime: shutdown: %w", ctx.Err())
		}
	}
	return p.close(ctx)
}

// close runs stop once and returns its result.
func (p *Process) close(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return p.closeErr
	}
	p.closed = true
	p.closeErr = p.stop(ctx)
	return p.closeErr
}

// stop releases everything that is set; p.mu is held.
func (p *Process) stop(ctx context.Context) error {
	var errs []error
	if p.health != nil {
		p.health.SetDraining()
	}
	if p.srv != nil {
		if err := p.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("runtime: http shutdown: %w", err))
			_ = p.srv.Close()
		}
		<-p.served
	}
	if p.nats != nil {
		if err := p.nats.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("runtime: nats close: %w", err))
		}
	}
	if p.log != nil {
		p.log.Info("process stopped", zap.String("process", p.name))
		if p.ownLogger {
			if err := logging.Sync(p.log); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// liveSet tracks which targets are still running, for the timeout report.
type liveSet struct {
	mu  sync.Mutex
	set map[string]int
}

func newLiveSet(names []string) *liveSet {
	s := &liveSet{set: map[string]int{}}
	for _, n := range names {
		s.set[n]++
	}
	return s
}

func (s *liveSet) done(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set[name]--; s.set[name] <= 0 {
		delete(s.set, name)
	}
}

func (s *liveSet) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.set))
	for n := range s.set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
