// Package azure is the location driver for Azure Blob Storage (and
// Azurite). It registers itself as location type "azure"; import it for
// its side effect, or call New directly.
//
// # Keys
//
// A location is a container, optionally under a name prefix: key k is
// stored as the block blob Prefix+k, unchanged, so replicas keep their
// names. Keys must be valid UTF-8 without control characters (which
// listings cannot carry); must not start with "/", hold "//" or segments
// ending in "." (URL paths fold them: "a/./b" is "a/b", and Azure drops a
// segment's trailing dots); must not hold "\" (Azure turns it into "/");
// and Prefix+k must fit in 1024 bytes. Other keys fail with
// location.ErrInvalidKey before any request.
//
// # Writes
//
// Put streams through block buffers of Config.BlockSize bytes, hashing the
// data with MD5 as it goes:
//
//   - A body that fits in one block is sent with one Put Blob.
//   - A larger body is staged block by block (Put Block, each with its
//     Content-MD5) while the next block fills, then committed with Put
//     Block List. Memory use is bounded per Put by Concurrency × BlockSize
//     and per driver by Config.MemoryLimit, whatever the object size.
//
// Either way the blob's Content-MD5 property is set to the MD5 of the
// whole body, which is location.ObjectInfo.ETag; the size and PutOptions'
// ContentMD5 are checked before anything is committed. Azure publishes a
// blob only when Put Blob or Put Block List succeeds, so readers see the old
// blob or the new one. Blocks staged by a Put that fails stay uncommitted
// and invisible until Azure discards them (after a week); block IDs are
// unique per Put, so concurrent Puts to one key never mix their blocks,
// though the one that commits second may fail with ErrBlocksDiscarded and
// must be retried.
//
// # Metadata
//
// Azure metadata names must be C# identifiers and are compared without
// case, so user keys are encoded: a key made of a lower-case letter
// followed by lower-case letters and digits is stored as it is; any other
// key is stored as "x_" followed by the key with every byte outside
// [a-z0-9] written as "_" and two hex digits ("owner-id" becomes
// "x_owner_2did"). Values that are not printable ASCII, that start or end
// with a space, or that start with "=?" are stored as RFC 2047 encoded
// words (=?UTF-8?B?...?=). Both are decoded on the way back, so any key and
// value round-trip.
package azure
