// Package gcs is the location driver for Google Cloud Storage (and
// fake-gcs-server). It registers itself as location type "gcs"; import it
// for its side effect, or call New directly.
//
// # Keys
//
// A location is a bucket, optionally under a name prefix: key k is stored
// as the object Prefix+k, unchanged, so replicas keep their names. GCS
// takes any UTF-8 name of up to 1024 bytes except "." and "..", names
// holding a carriage return or line feed, and names under
// ".well-known/acme-challenge/". The driver also refuses NUL and keys
// that are not valid UTF-8; all these fail with location.ErrInvalidKey
// before any request.
//
// # Writes
//
// Put streams through a storage.Writer, hashing the data with MD5 as it
// goes:
//
//   - A body that ends within the first 256 KiB is checked (size, MD5) and
//     then sent in one request.
//   - A larger body goes up as a resumable upload in chunks of
//     Config.ChunkSize bytes (smaller for a smaller known size), each
//     retried on its own when it fails. The writer buffers one chunk, so
//     memory use is bounded per Put by ChunkSize (and a 256 KiB copy
//     buffer) and per driver by Config.MemoryLimit, whatever the object
//     size.
//
// GCS publishes a resumable upload only when it is finalized, when Put
// closes the writer after checking the size and PutOptions' ContentMD5; a
// Put that fails or is cancelled abandons the upload, so readers see the
// old object or the new one. The MD5 is sent to GCS too when it is known
// up front, and the MD5 GCS computed is compared with the driver's after
// every upload. location.ObjectInfo.ETag is the object's MD5.
//
// # Reads
//
// Get reads the object's attributes and then the data of exactly that
// generation, so the info and the bytes always belong together, even when
// the key is overwritten in between (the read is then retried on the new
// generation, or fails with location.ErrNotFound when the key was
// deleted).
//
// # Metadata
//
// GCS metadata takes any UTF-8 keys and values, so user metadata is
// stored as it is; keys must be non-empty and valid UTF-8, values valid
// UTF-8, or Put fails with location.ErrInvalidArgument.
package gcs
