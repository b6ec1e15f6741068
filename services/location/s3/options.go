package s3

import (
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// Keys of location.Config.Options an "s3" location reads; each sets the
// Config field of the same name.
const (
	OptionPartSize      = "partSize"      // a size: "8MiB", "16777216"
	OptionConcurrency   = "concurrency"   // a positive integer
	OptionMemoryLimit   = "memoryLimit"   // a size
	OptionChecksumMode  = "checksumMode"  // ChecksumWhenRequired or ChecksumWhenSupported
	OptionReplicaMarker = "replicaMarker" // "true" or "false" (see Config.ReplicaMarker)
)

// applyOptions sets cfg's fields from a location's Options. It returns an
// error wrapping location.ErrInvalidConfig for an unknown key or a
// malformed value.
func (cfg *Config) applyOptions(opts map[string]string) error {
	return remote.ApplyOptions("s3", opts,
		remote.SizeOption(OptionPartSize, &cfg.PartSize),
		remote.PositiveIntOption(OptionConcurrency, &cfg.Concurrency),
		remote.SizeOption(OptionMemoryLimit, &cfg.MemoryLimit),
		remote.StringOption(OptionChecksumMode, &cfg.ChecksumMode),
		remote.Option{Key: OptionReplicaMarker, Set: func(v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			cfg.ReplicaMarker = b
			return err
		}},
	)
}
