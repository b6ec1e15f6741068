// Package health serves the process listener's endpoints: /healthz
// (liveness), /readyz (readiness checks), /metrics (Prometheus) and the
// /admin/ routes that services mount.
package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// AdminPrefix starts every route mounted with Handle.
const AdminPrefix = "/admin/"

// DefaultCheckTimeout bounds one /readyz evaluation of all checks.
const DefaultCheckTimeout = 2 * time.Second

// ErrBadRoute is returned by Handle for a pattern outside AdminPrefix or one
// that conflicts with a route already mounted.
var ErrBadRoute = errors.New("health: bad admin route")

// ErrDuplicateCheck is returned by AddCheck for a name already registered.
var ErrDuplicateCheck = errors.New("health: duplicate readiness check")

// Check reports whether one dependency is ready; nil means ready. It must
// honour ctx, which carries the readiness timeout.
type Check func(ctx context.Context) error

// Admin mounts admin routes on the process listener.
type Admin interface {
	// Handle mounts h at pattern (net/http ServeMux syntax, optionally with
	// a method: "GET /admin/replication/{bucket}"). The path must start with
	// AdminPrefix. It returns an error wrapping ErrBadRoute for another path
	// or a conflicting pattern.
	Handle(pattern string, h http.Handler) error
}

// Readiness registers readiness checks.
type Readiness interface {
	// AddCheck registers check under name; /readyz fails while it fails. It
	// returns an error wrapping ErrDuplicateCheck if name is taken.
	AddCheck(name string, check Check) error
}

// Options configures New.
type Options struct {
	// CheckTimeout bounds the readiness checks of one /readyz request;
	// default DefaultCheckTimeout.
	CheckTimeout time.Duration
	// Logger receives failed readiness transitions; default no-op.
	Logger *zap.Logger
	// Pprof serves the Go runtime profiles (net/http/pprof) under
	// /debug/pprof/. Off by default: profiles expose internals and a CPU
	// profile costs CPU while it runs.
	Pprof bool
}

// Handler is the process listener's http.Handler. It implements Admin and
// Readiness and is safe for concurrent use.
type Handler struct {
	mux      *http.ServeMux
	log      *zap.Logger
	timeout  time.Duration
	draining atomic.Bool

	mu     sync.Mutex
	checks map[string]Check
	failed map[string]bool // last known failure per check, to log transitions once
}

// New builds a Handler serving reg on /metrics. It registers the Go and
// process collectors on reg (skipping ones already registered) and returns
// an error if reg rejects them for another reason.
func New(reg *prometheus.Registry, opts Options) (*Handler, error) {
	if reg == nil {
		return nil, errors.New("health: nil registry")
	}
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return nil, fmt.Errorf("health: register collector: %w", err)
			}
		}
	}
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = DefaultCheckTimeout
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	h := &Handler{
		mux:     http.NewServeMux(),
		log:     opts.Logger,
		timeout: opts.CheckTimeout,
		checks:  map[string]Check{},
		failed:  map[string]bool{},
	}
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	h.mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(reg,
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorHandling: promhttp.ContinueOnError})))
	if opts.Pprof {
		h.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		h.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		h.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		h.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		h.mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol) // go tool pprof symbolizes with it
		h.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return h, nil
}

// ServeHTTP routes a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Handle implements Admin.
func (h *Handler) Handle(pattern string, handler http.Handler) (err error) {
	path := pattern
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		path = strings.TrimLeft(pattern[i+1:], " \t")
	}
	if !strings.HasPrefix(path, AdminPrefix) || handler == nil {
		return fmt.Errorf("%w: %q must start with %s and have a handler", ErrBadRoute, pattern, AdminPrefix)
	}
	// ServeMux panics on invalid or conflicting patterns; report that as an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %q: %v", ErrBadRoute, pattern, r)
		}
	}()
	h.mux.Handle(pattern, handler)
	return nil
}

// AddCheck implements Readiness.
func (h *Handler) AddCheck(name string, check Check) error {
	if name == "" || check == nil {
		return fmt.Errorf("health: check needs a name and a function")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.checks[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateCheck, name)
	}
	h.checks[name] = check
	return nil
}

// SetDraining makes /readyz answer 503 "draining" from now on, whatever the
// checks say, so load balancers stop sending work before shutdown.
func (h *Handler) SetDraining() { h.draining.Store(true) }

// Status is the /readyz response body.
type Status struct {
	// Status is "ready", "not ready" or "draining".
	Status string `json:"status"`
	// Checks maps each check name to "ok" or its error text.
	Checks map[string]string `json:"checks,omitempty"`
}

// Ready runs every check concurrently, bounded by the check timeout, and
// reports whether all passed with the per-check results.
func (h *Handler) Ready(ctx context.Context) (bool, Status) {
	if h.draining.Load() {
		return false, Status{Status: "draining"}
	}
	h.mu.Lock()
	names := make([]string, 0, len(h.checks))
	checks := make([]Check, 0, len(h.checks))
	for name := range h.checks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		checks = append(checks, h.checks[name])
	}
	h.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Go(func() { errs[i] = runCheck(ctx, check) })
	}
	wg.Wait()

	st := Status{Status: "ready", Checks: make(map[string]string, len(names))}
	ok := true
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, name := range names {
		if errs[i] != nil {
			ok = false
			st.Checks[name] = errs[i].Error()
			if !h.failed[name] {
				h.log.Warn("readiness check failing", zap.String("check", name), zap.Error(errs[i]))
			}
		} else {
			st.Checks[name] = "ok"
			if h.failed[name] {
				h.log.Info("readiness check passing again", zap.String("check", name))
			}
		}
		h.failed[name] = errs[i] != nil
	}
	if !ok {
		st.Status = "not ready"
	}
	return ok, st
}

// runCheck runs check, returning when it does or when ctx ends, whichever
// is first, and turning a panic into an error.
func runCheck(ctx context.Context, check Check) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("check panicked: %v", r)
			}
		}()
		done <- check(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("timed out: %w", ctx.Err())
	}
}

func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ok, st := h.Ready(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if ok {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(st)
}
