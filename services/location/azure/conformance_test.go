package azure

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

// azuriteFeatures is what the driver can store on Azurite: a flat
// namespace where "a" and "a/b" live side by side, without the path-like
// keys URLs fold ("." and ".." segments, "//", a leading "/"), and any
// metadata value (encoded). The large object is 128 MiB: a Put holds two 8
// MiB block buffers, and the suite allows a quarter of the object's size.
var azuriteFeatures = location.Features{NestedKeys: true, UnicodeMetadata: true, LargeObjectSize: 128 << 20}

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

// azuriteConfig returns a driver config for container on a under prefix.
func azuriteConfig(a *emulators.Azurite, container, prefix string) Config {
	return Config{AzureConfig: *a.Config(container, prefix).Azure}
}

func TestConformance(t *testing.T) {
	a := emulators.StartAzurite(t)
	locationtest.Run(t, func(t *testing.T) location.Driver {
		// No prefix: the suite stores keys of 1024 bytes. TestPrefixes
		// covers prefixes.
		return newTestDriver(t, azuriteConfig(a, a.NewContainer(t), ""))
	}, azuriteFeatures)
}
