package fs

import (
	"testing"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/locationtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// allFeatures is what the fs driver declares: every key and metadata value.
var allFeatures = location.Features{
	NULKeys:         true,
	BinaryKeys:      true,
	PathLikeKeys:    true,
	NestedKeys:      true,
	UnicodeMetadata: true,
}

// newTestDriver opens a driver on a fresh temp root.
func newTestDriver(t *testing.T, cfg Config) location.Driver {
	t.Helper()
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	d, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

func TestConformance(t *testing.T) {
	locationtest.Run(t, func(t *testing.T) location.Driver {
		return newTestDriver(t, Config{})
	}, allFeatures)
}
