package gcs

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/services/location"
)

// Keys of location.Config.Options a "gcs" location reads; each sets the
// Config field of the same name.
const (
	OptionChunkSize   = "chunkSize"   // a size: "8MiB", "16777216"
	OptionMemoryLimit = "memoryLimit" // a size
)

// applyOptions sets cfg's fields from a location's Options. It returns an
// error wrapping location.ErrInvalidConfig for an unknown key or a
// malformed value.
func (cfg *Config) applyOptions(opts map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		v := opts[k]
		var err error
		switch k {
		case OptionChunkSize:
			cfg.ChunkSize, err = parseSize(v)
		case OptionMemoryLimit:
			cfg.MemoryLimit, err = parseSize(v)
		default:
			return fmt.Errorf("%w: gcs: unknown option %q (known: %s, %s)", location.ErrInvalidConfig, k,
				OptionChunkSize, OptionMemoryLimit)
		}
		if err != nil {
			return fmt.Errorf("%w: gcs: option %s=%q: %w", location.ErrInvalidConfig, k, v, err)
		}
	}
	return nil
}

// parseSize parses a byte count: digits with an optional unit B, KiB, MiB,
// GiB or TiB (powers of 1024), such as "8MiB". The result is positive.
func parseSize(in string) (int64, error) {
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
