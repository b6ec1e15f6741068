package azure

import "github.com/sluice-io/sluice/services/location/internal/remote"

// Keys of location.Config.Options an "azure" location reads; each sets the
// Config field of the same name.
const (
	OptionBlockSize   = "blockSize"   // a size: "8MiB", "16777216"
	OptionConcurrency = "concurrency" // a positive integer
	OptionMemoryLimit = "memoryLimit" // a size
)

// applyOptions sets cfg's fields from a location's Options. It returns an
// error wrapping location.ErrInvalidConfig for an unknown key or a
// malformed value.
func (cfg *Config) applyOptions(opts map[string]string) error {
	return remote.ApplyOptions("azure", opts,
		remote.SizeOption(OptionBlockSize, &cfg.BlockSize),
		remote.PositiveIntOption(OptionConcurrency, &cfg.Concurrency),
		remote.SizeOption(OptionMemoryLimit, &cfg.MemoryLimit),
	)
}
