package gcs

import (
	"context"
	"testing"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/emulators"
	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote/remotetest"
	"github.com/sluice-io/sluice/services/location/locationtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeGCSFeatures is what the driver can store on fake-gcs-server (in
// memory): a flat namespace where "a" and "a/b" live side by side, any
// UTF-8 metadata. Path-like keys are left out because GCS refuses "." and
// "..". A Put of a large object holds one 8 MiB chunk, well within the
// quarter of 64 MiB the suite allows.
var fakeGCSFeatures = location.Features{NestedKeys: true, UnicodeMetadata: true, LargeObjectSize: 64 << 20}

// newTestDriver opens a driver on cfg, closed when t ends.
func newTestDriver(t testing.TB, cfg Config) location.Driver {
	t.Helper()
	return remotetest.Open(t, func(ctx context.Context, logger *zap.Logger) (location.Driver, error) {
		if cfg.Logger == nil {
			cfg.Logger = logger
		}
		return New(ctx, cfg)
	})
}

// fakeConfig returns a driver config for bucket on f under prefix.
func fakeConfig(f *emulators.FakeGCS, bucket, prefix string) Config {
	return Config{GCSConfig: *f.Config(bucket, prefix).GCS}
}

func TestConformance(t *testing.T) {
	f := emulators.StartFakeGCS(t)
	locationtest.Run(t, func(t *testing.T) location.Driver {
		// No prefix: the suite stores keys of 1024 bytes. TestPrefixes
		// covers prefixes.
		return newTestDriver(t, fakeConfig(f, f.NewBucket(t), ""))
	}, fakeGCSFeatures)
}
