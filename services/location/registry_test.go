package location_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/fs"
)

var errFactory = errors.New("factory refused")

// closeCount counts fs drivers closed through a wrapping factory.
var closeCount atomic.Int32

type countingDriver struct{ location.Driver }

func (c countingDriver) Close() error {
	closeCount.Add(1)
	return c.Driver.Close()
}

var registerOnce = sync.OnceValue(func() error {
	// A type whose factory always fails, and one that wraps fs to count
	// Close calls.
	return errors.Join(
		location.Register("test-failing", func(context.Context, string, location.Config, *zap.Logger) (location.Driver, error) {
			return nil, errFactory
		}),
		location.Register("test-counting", func(ctx context.Context, _ string, cfg location.Config, logger *zap.Logger) (location.Driver, error) {
			d, err := fs.New(ctx, fs.Config{Root: cfg.Path, Logger: logger})
			if err != nil {
				return nil, err
			}
			return countingDriver{d}, nil
		}))
})

func registerTestTypes(t *testing.T) {
	t.Helper()
	if err := registerOnce(); err != nil {
		t.Fatal(err)
	}
}

func TestRegister(t *testing.T) {
	registerTestTypes(t)
	noop := func(context.Context, string, location.Config, *zap.Logger) (location.Driver, error) { return nil, nil }
	for _, tc := range []struct {
		typ string
		f   location.Factory
	}{{"", noop}, {"x-nil", nil}, {"fs", noop}, {"test-failing", noop}} {
		if err := location.Register(tc.typ, tc.f); err == nil {
			t.Errorf("Register(%q) succeeded", tc.typ)
		}
	}
	if got := location.Types(); !slices.Contains(got, "fs") || !slices.IsSorted(got) || slices.Contains(got, "x-nil") {
		t.Errorf("Types() = %q", got)
	}
}

func TestOpen(t *testing.T) {
	registerTestTypes(t)
	ctx := t.Context()
	tests := []struct {
		name    string
		cfg     location.Config
		wantErr error
	}{
		{"unknown type", location.Config{Type: "tape"}, location.ErrUnknownType},
		{"invalid config", location.Config{Type: "fs"}, location.ErrInvalidConfig},
		{"factory error", location.Config{Type: "test-failing"}, errFactory},
	}
	for _, tc := range tests {
		d, err := location.Open(ctx, "loc", tc.cfg, nil)
		if !errors.Is(err, tc.wantErr) || d != nil {
			t.Errorf("%s: Open = %v, %v; want %v", tc.name, d, err, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), `"loc"`) {
			t.Errorf("%s: error %q does not name the location", tc.name, err)
		}
	}
	d, err := location.Open(ctx, "loc", location.Config{Type: "fs", Path: t.TempDir()}, nil)
	if err != nil {
		t.Fatalf("Open fs with a nil logger: %v", err)
	}
	d.Close()
}

func TestSet(t *testing.T) {
	registerTestTypes(t)
	ctx := t.Context()
	closeCount.Store(0)
	_, err := location.OpenSet(ctx, map[string]location.Config{
		"a": {Type: "test-counting", Path: t.TempDir()},
		"b": {Type: "test-counting", Path: t.TempDir()},
		"c": {Type: "test-failing"},
	}, nil)
	if !errors.Is(err, errFactory) {
		t.Fatalf("OpenSet with a failing location: %v", err)
	}
	if n := closeCount.Load(); n != 2 {
		t.Errorf("OpenSet closed %d of the 2 opened locations after a failure", n)
	}

	s, err := location.OpenSet(ctx, map[string]location.Config{
		"primary": {Type: "fs", Path: t.TempDir()},
		"archive": {Type: "fs", Path: t.TempDir()},
	}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Names(); !slices.Equal(got, []string{"archive", "primary"}) {
		t.Errorf("Names() = %q", got)
	}
	d, err := s.Get("primary")
	if err != nil || d == nil {
		t.Fatalf("Get(primary) = %v, %v", d, err)
	}
	if _, err := s.Get("nowhere"); !errors.Is(err, location.ErrUnknownLocation) {
		t.Errorf("Get(nowhere) error = %v, want ErrUnknownLocation", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := d.Stat(ctx, "k"); !errors.Is(err, location.ErrClosed) {
		t.Errorf("Stat after Set.Close: %v, want ErrClosed", err)
	}
}
