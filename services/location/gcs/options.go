package gcs

import "github.com/sluice-io/sluice/services/location/internal/remote"

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
	return remote.ApplyOptions("gcs", opts,
		remote.SizeOption(OptionChunkSize, &cfg.ChunkSize),
		remote.SizeOption(OptionMemoryLimit, &cfg.MemoryLimit),
	)
}
