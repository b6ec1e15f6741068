package remote

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/services/location"
)

// Option is one key of location.Config.Options a driver reads: Set parses
// the value into the driver's Config.
type Option struct {
	Key string
	Set func(v string) error
}

// SizeOption sets *dst from a size (see ParseSize).
func SizeOption(key string, dst *int64) Option {
	return Option{key, func(v string) (err error) { *dst, err = ParseSize(v); return err }}
}

// PositiveIntOption sets *dst from a positive decimal integer.
func PositiveIntOption(key string, dst *int) Option {
	return Option{key, func(v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err == nil && n <= 0 {
			err = fmt.Errorf("must be positive")
		}
		*dst = n
		return err
	}}
}

// StringOption sets *dst to the value as it is.
func StringOption(key string, dst *string) Option {
	return Option{key, func(v string) error { *dst = v; return nil }}
}

// ApplyOptions sets a driver's Config from a location's Options, in key
// order, with the driver's known options. It returns an error wrapping
// location.ErrInvalidConfig, naming driver, for an unknown key or a
// malformed value.
func ApplyOptions(driver string, opts map[string]string, known ...Option) error {
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		v := opts[k]
		i := slices.IndexFunc(known, func(o Option) bool { return o.Key == k })
		if i < 0 {
			keys := make([]string, len(known))
			for j, o := range known {
				keys[j] = o.Key
			}
			return fmt.Errorf("%w: %s: unknown option %q (known: %s)", location.ErrInvalidConfig, driver, k, strings.Join(keys, ", "))
		}
		if err := known[i].Set(v); err != nil {
			return fmt.Errorf("%w: %s: option %s=%q: %w", location.ErrInvalidConfig, driver, k, v, err)
		}
	}
	return nil
}

// ParseSize parses a byte count: digits with an optional unit B, KiB, MiB,
// GiB or TiB (powers of 1024), such as "8MiB". The result is positive; a
// malformed or out-of-range size is an error.
func ParseSize(in string) (int64, error) {
	s := strings.TrimSpace(in)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("size %q: want digits with an optional B, KiB, MiB, GiB or TiB", in)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q out of range", in)
	}
	return n * mult, nil
}
