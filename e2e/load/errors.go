package load

import "errors"

// Sentinel errors returned by this package. Errors are wrapped with %w, so test them
// with errors.Is.
var (
	// ErrInvalidConfig is wrapped by Config.Validate and Run when a Config field is out of range.
	ErrInvalidConfig = errors.New("load: invalid config")
	// ErrInvalidSize is wrapped by ParseSize when the text is not a size.
	ErrInvalidSize = errors.New("load: invalid size")
	// ErrPrepare is wrapped by Run when the bucket or the key set for a GET or MIXED
	// workload could not be created; nothing was measured.
	ErrPrepare = errors.New("load: prepare failed")
	// ErrContentMismatch is counted as an operation error when a GET returns bytes other
	// than those the tool wrote under that key.
	ErrContentMismatch = errors.New("load: content mismatch")
)
