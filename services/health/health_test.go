package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newHandler(t *testing.T, timeout time.Duration) (*Handler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h, err := New(reg, Options{CheckTimeout: timeout, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return h, reg
}

func get(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Code, string(body)
}

func TestEndpoints(t *testing.T) {
	h, reg := newHandler(t, 0)
	requests := prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_test_requests_total", Help: "test"})
	reg.MustRegister(requests)
	requests.Inc()

	tests := []struct {
		method, path string
		status       int
		contains     []string
	}{
		{"GET", "/healthz", 200, []string{"ok"}},
		{"GET", "/readyz", 200, []string{`"status":"ready"`}},
		{"GET", "/metrics", 200, []string{"go_goroutines", "process_cpu_seconds_total", "sluice_test_requests_total 1"}},
		{"POST", "/healthz", 405, nil},
		{"GET", "/admin/nothing", 404, nil},
		{"GET", "/", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			code, body := get(t, h, tt.method, tt.path)
			if code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", code, tt.status, body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body lacks %q:\n%.500s", c, body)
				}
			}
		})
	}
}

func TestNewTwiceOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 2 {
		if _, err := New(reg, Options{}); err != nil {
			t.Fatalf("New: %v", err)
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

func readyz(t *testing.T, h http.Handler) (int, Status) {
	t.Helper()
	code, body := get(t, h, "GET", "/readyz")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("readyz body %q: %v", body, err)
	}
	return code, st
}

func TestReadiness(t *testing.T) {
	h, _ := newHandler(t, 100*time.Millisecond)
	var storeDown atomic.Bool
	storeDown.Store(true)
	if err := h.AddCheck("nats", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.AddCheck("store", func(context.Context) error {
		if storeDown.Load() {
			return errors.New("sqlite: database is locked")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.AddCheck("nats", func(context.Context) error { return nil }); !errors.Is(err, ErrDuplicateCheck) {
		t.Fatalf("duplicate AddCheck err = %v", err)
	}

	code, st := readyz(t, h)
	if code != http.StatusServiceUnavailable || st.Status != "not ready" ||
		st.Checks["store"] != "sqlite: database is locked" || st.Checks["nats"] != "ok" {
		t.Fatalf("while store is down: %d %+v", code, st)
	}

	storeDown.Store(false)
	if code, st := readyz(t, h); code != http.StatusOK || st.Status != "ready" || st.Checks["store"] != "ok" {
		t.Fatalf("after store recovered: %d %+v", code, st)
	}

	h.SetDraining()
	if code, st := readyz(t, h); code != http.StatusServiceUnavailable || st.Status != "draining" {
		t.Fatalf("while draining: %d %+v", code, st)
	}
	if code, _ := get(t, h, "GET", "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz while draining = %d", code)
	}
}

func TestReadinessCheckTimesOutAndPanics(t *testing.T) {
	tests := []struct {
		name  string
		check Check
		want  string
	}{
		{name: "blocks until ctx ends", check: func(ctx context.Context) error { <-ctx.Done(); return nil }, want: "timed out"},
		{name: "panics", check: func(context.Context) error { panic("boom") }, want: "check panicked: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHandler(t, 50*time.Millisecond)
			if err := h.AddCheck("slow", tt.check); err != nil {
				t.Fatal(err)
			}
			code, st := readyz(t, h)
			if code != http.StatusServiceUnavailable || !strings.Contains(st.Checks["slow"], tt.want) {
				t.Fatalf("%d %+v, want 503 mentioning %q", code, st, tt.want)
			}
		})
	}
}

func TestAdminRoutes(t *testing.T) {
	h, _ := newHandler(t, 0)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "bucket="+r.PathValue("bucket"))
	})
	tests := []struct {
		pattern string
		wantErr bool
	}{
		{"GET /admin/replication/{bucket}", false},
		{"/admin/pause", false},
		{"/admin/pause", true}, // conflicts with the previous one
		{"/metrics/extra", true},
		{"GET /healthz", true},
		{"/admin", true},
		{"GET /admin/{bad", true},
	}
	for _, tt := range tests {
		err := h.Handle(tt.pattern, echo)
		if (err != nil) != tt.wantErr {
			t.Errorf("Handle(%q) = %v, want error %v", tt.pattern, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrBadRoute) {
			t.Errorf("Handle(%q) error %v does not wrap ErrBadRoute", tt.pattern, err)
		}
	}
	if err := h.Handle("/admin/nil", nil); !errors.Is(err, ErrBadRoute) {
		t.Errorf("Handle with nil handler = %v", err)
	}
	if code, body := get(t, h, "GET", "/admin/replication/photos"); code != 200 || body != "bucket=photos" {
		t.Fatalf("admin route: %d %q", code, body)
	}
	if code, _ := get(t, h, "DELETE", "/admin/replication/photos"); code != http.StatusMethodNotAllowed {
		t.Fatalf("admin route with the wrong method: %d", code)
	}
}

func BenchmarkReadyz(b *testing.B) {
	h, err := New(prometheus.NewRegistry(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"nats", "store", "index"} {
		if err := h.AddCheck(name, func(context.Context) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	req := httptest.NewRequest("GET", "/readyz", nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint("pprof=", on), func(t *testing.T) {
			h, err := New(prometheus.NewRegistry(), Options{Pprof: on})
			if err != nil {
				t.Fatal(err)
			}
			want := 404
			if on {
				want = 200
			}
			for _, r := range []struct{ method, path string }{
				{"GET", "/debug/pprof/"}, {"GET", "/debug/pprof/goroutine?debug=1"},
				{"GET", "/debug/pprof/cmdline"}, {"POST", "/debug/pprof/symbol"},
			} {
				if code, body := get(t, h, r.method, r.path); code != want {
					t.Errorf("%s %s = %d, want %d; body %.200s", r.method, r.path, code, want, body)
				}
			}
		})
	}
}
