package location

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"go.uber.org/zap"
)

// Factory opens a driver for the location called name. It returns an error
// wrapping ErrInvalidConfig when cfg does not suit the driver.
type Factory func(ctx context.Context, name string, cfg Config, logger *zap.Logger) (Driver, error)

var registry struct {
	sync.RWMutex
	factories map[string]Factory
}

// Register makes a driver available to Open under typ. Drivers call it from
// an init function. It returns an error if typ is empty, f is nil or typ is
// already registered; the registered factory is then left unchanged.
func Register(typ string, f Factory) error {
	if typ == "" || f == nil {
		return fmt.Errorf("location: register %q: empty type or nil factory", typ)
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.factories == nil {
		registry.factories = make(map[string]Factory)
	}
	if _, dup := registry.factories[typ]; dup {
		return fmt.Errorf("location: driver type %q registered twice", typ)
	}
	registry.factories[typ] = f
	return nil
}

// Types returns the registered driver types, sorted.
func Types() []string {
	registry.RLock()
	defer registry.RUnlock()
	types := make([]string, 0, len(registry.factories))
	for t := range registry.factories {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// Open validates cfg and opens the location called name with the driver
// registered for cfg.Type. A nil logger discards logs. It returns errors
// wrapping ErrInvalidConfig, ErrUnknownType (is the driver's package
// imported?) or the driver's own errors.
func Open(ctx context.Context, name string, cfg Config, logger *zap.Logger) (Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("location %q: %w", name, err)
	}
	registry.RLock()
	f := registry.factories[cfg.Type]
	registry.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("location %q: %w %q (registered: %v)", name, ErrUnknownType, cfg.Type, Types())
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	d, err := f(ctx, name, cfg, logger.With(zap.String("location", name), zap.String("type", cfg.Type)))
	if err != nil {
		return nil, fmt.Errorf("location %q: %w", name, err)
	}
	return d, nil
}
