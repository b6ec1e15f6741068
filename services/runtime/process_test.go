package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/services/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testConfig loads Common the way the root command does, with ephemeral
// ports and a temporary data directory.
func testConfig(t *testing.T, env map[string]string) config.Common {
	t.Helper()
	vars := map[string]string{
		"SLUICE_DATA_DIR":    t.TempDir(),
		"SLUICE_HTTP_LISTEN": "127.0.0.1:0",
		"SLUICE_NATS_LISTEN": "127.0.0.1:0",
	}
	for k, v := range env {
		vars[k] = v
	}
	var c config.Common
	if err := config.LoadFrom("", &c, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	return c
}

func testLogger(t *testing.T) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
}

// startProcess starts a process and makes sure it is shut down.
func startProcess(t *testing.T, cfg config.Common, opts ...Option) (*Process, Settings) {
	t.Helper()
	p, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	set, err := p.Start(ctx)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p, set
}

// httpGet fetches path from the process without keeping connections alive.
func httpGet(addr, path string) (int, string, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// eventually polls f until it returns nil or the deadline passes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func natsHostPort(t *testing.T, p *Process) string {
	t.Helper()
	u, err := url.Parse(p.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestRunUntilCancelled(t *testing.T) {
	storeUp := atomic.Bool{}
	p, set := startProcess(t, testConfig(t, nil), WithLogger(testLogger(t)), WithClock(ClockFunc(func() time.Time {
		return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	})))
	httpAddr, natsAddr := p.HTTPAddr(), natsHostPort(t, p)

	// Settings carry working parts.
	if set.Logger == nil || set.Conn == nil || set.Registry == nil || set.StreamReplicas != 1 || set.DataDir == "" {
		t.Fatalf("incomplete settings: %+v", set)
	}
	if got := set.Clock.Now().Year(); got != 2030 {
		t.Fatalf("injected clock not used: %d", got)
	}
	if _, err := os.Stat(set.DataDir); err != nil {
		t.Fatalf("data dir: %v", err)
	}
	ctx := context.Background()
	if _, err := set.JetStream.CreateStream(ctx, jetstream.StreamConfig{Name: "RUNTIME", Subjects: []string{"runtime.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := set.JetStream.Publish(ctx, "runtime.x", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if err := set.Admin.Handle("GET /admin/echo", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "echo")
	})); err != nil {
		t.Fatal(err)
	}
	if err := set.Ready.AddCheck("store", func(context.Context) error {
		if !storeUp.Load() {
			return errors.New("store still opening")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// /readyz follows the checks.
	if code, body, err := httpGet(httpAddr, "/readyz"); err != nil || code != 503 || !strings.Contains(body, "store still opening") {
		t.Fatalf("readyz with a failing check: %d %q %v", code, body, err)
	}
	storeUp.Store(true)
	eventually(t, "readyz 200", func() error {
		code, body, err := httpGet(httpAddr, "/readyz")
		if err == nil && code != 200 {
			err = errors.New(body)
		}
		return err
	})
	for path, want := range map[string]string{"/healthz": "ok", "/metrics": "go_goroutines", "/admin/echo": "echo"} {
		if code, body, err := httpGet(httpAddr, path); err != nil || code != 200 || !strings.Contains(body, want) {
			t.Fatalf("GET %s: %d %v", path, code, err)
		}
	}

	// The target checks, while it drains, that readiness already failed and
	// the listener still serves.
	runCtx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var drainingStatus atomic.Int64
	target := NewTarget("blocker", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		code, _, err := httpGet(httpAddr, "/readyz")
		if err != nil {
			return err
		}
		drainingStatus.Store(int64(code))
		return ctx.Err()
	})
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(runCtx, target) }()
	<-started
	if err := p.Run(runCtx, target); !errors.Is(err, ErrAlreadyStarted) {
		t.Fatalf("second Run = %v, want ErrAlreadyStarted", err)
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if got := drainingStatus.Load(); got != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining = %d, want 503", got)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown after Run: %v", err)
	}
	if !set.Conn.IsClosed() {
		t.Fatal("NATS connection still open")
	}
	// Both ports are released.
	for _, addr := range []string{httpAddr, natsAddr} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("port %s not released: %v", addr, err)
		}
		ln.Close()
	}
	if _, err := p.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after shutdown = %v, want ErrClosed", err)
	}
}

func TestFailingTargetStopsProcess(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		run     func(ctx context.Context) error
		wantErr error
		want    string
	}{
		{name: "error", run: func(context.Context) error { return boom }, wantErr: boom, want: "target failing: boom"},
		{name: "panic", run: func(context.Context) error { panic("kaput") }, want: "target failing: panic: kaput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := startProcess(t, testConfig(t, nil), WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.FatalLevel))))
			httpAddr := p.HTTPAddr()
			var sawCancel atomic.Bool
			steady := NewTarget("steady", func(ctx context.Context) error {
				<-ctx.Done()
				sawCancel.Store(true)
				return nil
			})
			err := p.Run(context.Background(), steady, NewTarget("failing", tt.run))
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Run = %v, want %v", err, tt.wantErr)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want it to mention %q", err, tt.want)
			}
			if !sawCancel.Load() {
				t.Fatal("the other target was not cancelled")
			}
			ln, err := net.Listen("tcp", httpAddr)
			if err != nil {
				t.Fatalf("http port not released: %v", err)
			}
			ln.Close()
		})
	}
}

func TestShutdownStopsRun(t *testing.T) {
	p, _ := startProcess(t, testConfig(t, nil), WithLogger(testLogger(t)))
	started := make(chan struct{})
	runErr := make(chan error, 1)
	go func() {
		runErr <- p.Run(context.Background(), NewTarget("blocker", func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return nil
		}))
	}()
	<-started
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestLifecycleErrors(t *testing.T) {
	cfg := testConfig(t, nil)
	p, err := New(cfg, WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Run(ctx); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Run before Start = %v", err)
	}
	for range 2 {
		if err := p.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown before Start = %v", err)
		}
	}
	if _, err := p.Start(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Shutdown = %v", err)
	}
	if err := p.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Shutdown = %v", err)
	}
	if p.HTTPAddr() != "" || p.NATSURL() != "" {
		t.Fatal("addresses reported without a start")
	}

	q, _ := startProcess(t, testConfig(t, nil), WithLogger(testLogger(t)))
	if _, err := q.Start(ctx); !errors.Is(err, ErrAlreadyStarted) {
		t.Fatalf("second Start = %v", err)
	}

	bad := testConfig(t, nil)
	bad.HTTP.Listen = ":9601"
	if _, err := New(bad); !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("New with an empty listen host = %v, want ErrInvalid", err)
	}
}

func TestStartFailsWhenPortBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := testConfig(t, map[string]string{"SLUICE_HTTP_LISTEN": busy.Addr().String()})
	p, err := New(cfg, WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.Start(ctx); err == nil || !strings.Contains(err.Error(), "http listener") {
		t.Fatalf("Start on a busy port = %v", err)
	}
	if _, err := p.Start(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after a failed start = %v", err)
	}
	// The embedded server was stopped: the same store opens again.
	cfg.HTTP.Listen = "127.0.0.1:0"
	startProcess(t, cfg, WithLogger(testLogger(t)))
}

func TestShutdownTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	p, _ := startProcess(t, testConfig(t, nil), WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.FatalLevel))),
		WithShutdownTimeout(100*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	stubborn := NewTarget("stubborn", func(context.Context) error {
		<-release // ignores ctx
		return nil
	})
	cancel() // the targets start already told to stop
	if err := p.Run(ctx, stubborn); !errors.Is(err, ErrShutdownTimeout) || !strings.Contains(err.Error(), "stubborn") {
		t.Fatalf("Run = %v, want ErrShutdownTimeout naming the target", err)
	}
}

func TestOwnLoggerLevelRoute(t *testing.T) {
	cfg := testConfig(t, map[string]string{"SLUICE_LOG_LEVEL": "error"})
	p, _ := startProcess(t, cfg)
	code, body, err := httpGet(p.HTTPAddr(), "/admin/loglevel")
	if err != nil || code != 200 {
		t.Fatalf("GET /admin/loglevel: %d %v", code, err)
	}
	var lvl struct{ Level string }
	if err := json.Unmarshal([]byte(body), &lvl); err != nil || lvl.Level != "error" {
		t.Fatalf("level body %q: %v", body, err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestSignalContext(t *testing.T) {
	ctx, stop := SignalContext(context.Background())
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not end the context")
	}
}
