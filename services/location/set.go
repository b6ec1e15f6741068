package location

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"
)

// Set is a group of open locations addressed by name, as a service holds
// them after reading its config. It is safe for concurrent use; it is
// immutable once opened.
type Set struct {
	drivers map[string]Driver
}

// OpenSet opens every location in cfgs with Open, in name order. If one
// fails, the ones already opened are closed and the error is returned.
func OpenSet(ctx context.Context, cfgs map[string]Config, logger *zap.Logger) (*Set, error) {
	s := &Set{drivers: make(map[string]Driver, len(cfgs))}
	for _, name := range slices.Sorted(maps.Keys(cfgs)) {
		d, err := Open(ctx, name, cfgs[name], logger)
		if err != nil {
			return nil, errors.Join(err, s.Close())
		}
		s.drivers[name] = d
	}
	return s, nil
}

// Get returns the location called name or an error wrapping
// ErrUnknownLocation.
func (s *Set) Get(name string) (Driver, error) {
	d, ok := s.drivers[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownLocation, name)
	}
	return d, nil
}

// Names returns the names of the locations, sorted.
func (s *Set) Names() []string {
	return slices.Sorted(maps.Keys(s.drivers))
}

// Close closes every location and returns their errors joined. It is safe
// to call more than once, because Driver.Close is.
func (s *Set) Close() error {
	var errs []error
	for _, name := range s.Names() {
		if err := s.drivers[name].Close(); err != nil {
			errs = append(errs, fmt.Errorf("close location %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
