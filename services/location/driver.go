package location

import (
	"context"
	"io"
	"time"
)

// DefaultListLimit is the page size List uses when called with limit <= 0.
const DefaultListLimit = 1000

// Driver stores objects in one location. Every implementation MUST pass
// locationtest.Run with the Features it declares.
//
// General rules every method MUST follow:
//   - It is safe for concurrent use by multiple goroutines.
//   - It validates the key (see ValidateKey) and returns an error wrapping
//     ErrInvalidKey for a key it cannot store, before doing any I/O.
//   - It honours ctx: once ctx is done it stops and returns an error for
//     which errors.Is(err, ctx.Err()) holds, leaving no partial state.
//   - After Close it returns an error wrapping ErrClosed.
//   - It wraps sentinel errors with %w so that errors.Is works, and never
//     panics on any input.
type Driver interface {
	// Put streams r to key and returns the stored object's info.
	//
	// Put MUST:
	//   - stream: memory use is bounded by a constant buffer, never by the
	//     object's size;
	//   - be atomic: a concurrent or later reader sees either the previous
	//     object (or none) or the complete new one, never a partial one; when
	//     several Puts race on one key, exactly one complete version remains;
	//   - leave neither an object nor garbage behind when it fails, including
	//     when r returns an error (returned wrapped, so errors.Is(err, rErr)
	//     holds) and when ctx is cancelled; a previous object under key then
	//     stays intact;
	//   - return ObjectInfo with Key, Size, ETag (the lowercase hex MD5 of the
	//     data, computed while streaming), ContentType, Metadata and ModTime;
	//   - fail with ErrSizeMismatch when opts.Size >= 0 and r yields fewer or
	//     more bytes, and with ErrBadDigest when opts.ContentMD5 is set and
	//     differs from the data's MD5; in both cases nothing is stored;
	//   - fail with ErrInvalidArgument when opts.Size < -1 or opts.ContentMD5
	//     is neither empty nor 16 bytes.
	//
	// Put cannot interrupt a Read that blocks forever: r should unblock when
	// ctx ends (an HTTP request body does).
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (ObjectInfo, error)

	// Get opens key for reading, whole (rng == nil) or the part rng selects
	// (see Range). The ObjectInfo describes the whole object, whichever
	// range was read; the reader yields exactly the selected bytes from one
	// consistent version of the object, even if it is overwritten or deleted
	// while being read. The caller MUST Close the reader.
	//
	// Get returns ErrNotFound when key holds no object and ErrInvalidRange
	// when rng is malformed or unsatisfiable. Once ctx is done, Read on the
	// returned reader fails with an error wrapping ctx.Err().
	Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, ObjectInfo, error)

	// Stat returns key's ObjectInfo, with the same fields Put returned, or
	// an error wrapping ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)

	// Delete removes key. Deleting a key that holds no object MUST succeed.
	// Once Delete returns nil, Get and Stat return ErrNotFound until the next
	// Put; readers that opened the object before keep reading it.
	Delete(ctx context.Context, key string) error

	// List returns up to limit objects (DefaultListLimit when limit <= 0)
	// whose keys start with prefix and sort strictly after startAfter, in
	// ascending byte order of the key. It returns fewer than limit objects
	// only when no more match, so callers page by passing the last key as
	// the next startAfter. Each ObjectInfo MUST carry Key, Size, ETag and
	// ModTime; ContentType and Metadata MAY be empty. An empty result is not
	// an error. prefix and startAfter may be any byte strings.
	List(ctx context.Context, prefix, startAfter string, limit int) ([]ObjectInfo, error)

	// Close releases the driver's resources. Close MUST be safe to call more
	// than once; later calls return nil. Readers returned by Get before
	// Close stay readable until closed themselves.
	Close() error
}

// Composer is implemented by drivers that can build an object by
// concatenating existing objects, as multipart upload completion does,
// without passing the data through the caller.
type Composer interface {
	// Compose writes to dst the concatenation of srcs, in order, and returns
	// dst's ObjectInfo. srcs may include dst itself and may repeat a key; one
	// source makes a copy. The sources are left unchanged.
	//
	// Compose MUST stream (memory bounded by a constant buffer) and be atomic
	// like Put: if it fails, including with ErrNotFound for a missing source
	// or when ctx ends, dst is left as it was. It returns ErrInvalidArgument
	// for an empty srcs. The returned ETag is driver-defined: the hex MD5 of
	// the whole data when the driver can compute it, otherwise an opaque
	// value that changes when the data does.
	Compose(ctx context.Context, dst string, srcs []string, opts ComposeOptions) (ObjectInfo, error)
}

// PutOptions describes the object a Put stores.
type PutOptions struct {
	// Size is the exact number of bytes r yields, or -1 when unknown. The
	// zero value means an empty object; use -1 when the size is unknown.
	Size int64
	// ContentType is stored as given. A driver MAY store a default (such as
	// "application/octet-stream") when it is empty.
	ContentType string
	// Metadata is user metadata. Keys made of [a-z0-9-] and values of
	// printable ASCII MUST round-trip exactly; other values round-trip where
	// Features.UnicodeMetadata says so. A driver may reject metadata larger
	// than it can store with ErrInvalidArgument (S3 allows 2 KiB).
	Metadata map[string]string
	// ContentMD5, when set, is the 16-byte MD5 the data must have
	// (the decoded Content-MD5 header); a mismatch fails with ErrBadDigest.
	ContentMD5 []byte
}

// ComposeOptions describes the object a Compose stores.
type ComposeOptions struct {
	// ContentType as in PutOptions.
	ContentType string
	// Metadata as in PutOptions.
	Metadata map[string]string
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	// Key is the object's key, byte for byte as given to Put.
	Key string
	// Size is the object's length in bytes.
	Size int64
	// ETag is the lowercase hex MD5 of the data for objects written by Put,
	// without quotes; see Composer for composed objects.
	ETag string
	// ContentType as stored by Put.
	ContentType string
	// Metadata as stored by Put; nil when there is none.
	Metadata map[string]string
	// ModTime is when the object was stored.
	ModTime time.Time
}
