// Package s3 is the location driver for Amazon S3 and S3-compatible stores
// (MinIO, Ceph RGW, ...). It registers itself as location type "s3"; import
// it for its side effect, or call New directly.
//
// # Keys
//
// A location is a bucket, optionally under a key prefix: key k is stored as
// the object Prefix+k, unchanged, so that replicas are readable under their
// own names by any S3 client. Keys must be valid UTF-8 without NUL (S3 has
// no way to list other keys), must not start with "/" (MinIO drops it, so
// "/a" and "a" would be one object) and Prefix+k must fit in 1024 bytes;
// others fail with location.ErrInvalidKey before any request. Keys starting with
// ".sluice-tmp/" are reserved for uploads in progress (see below) and fail
// the same way. Keys the store itself refuses (MinIO refuses "." and ".."
// segments, "//" and segments over 255 bytes) fail with
// location.ErrInvalidKey too.
//
// # Writes
//
// Put streams through part buffers of Config.PartSize bytes, hashing the
// data with MD5 as it goes:
//
//   - A body that fits in one part (known size <= PartSize, or an unknown
//     size that ends within the first part) is sent with one PutObject,
//     with Content-MD5, so the store checks it.
//   - A larger body becomes a multipart upload: one buffer is filled from
//     the reader while up to Concurrency-1 others upload. Each part's
//     integrity rests on the signed payload hash (x-amz-content-sha256), which
//     the store verifies, and the whole body's MD5 is checked before the
//     upload is completed (in ChecksumWhenSupported mode parts also carry
//     their Content-MD5). Memory use is bounded per Put by Concurrency × PartSize
//     and per driver by Config.MemoryLimit, whatever the object size.
//
// Objects appear whole or not at all: S3 publishes an object only when its
// PutObject or CompleteMultipartUpload succeeds. A failed or cancelled Put
// aborts its multipart upload.
//
// # ETags
//
// location.ObjectInfo.ETag is the MD5 of the data. S3's own ETag is that
// MD5 only for single-part, unencrypted objects, so the driver also stores
// the MD5 in the object's metadata (x-amz-meta-sluice--md5) and reads it
// back from there. Metadata is fixed when an upload starts, so a multipart
// Put needs the MD5 up front:
//
//   - with PutOptions.ContentMD5 set, the upload goes straight to the key
//     with that MD5 in its metadata, and the computed MD5 is checked against
//     it before the upload is completed;
//   - without it, the parts go to a temporary object under ".sluice-tmp/",
//     which is then copied server-side (CopyObject, or UploadPartCopy above
//     5 GiB) to the key with the computed MD5, and deleted. The copy costs
//     the store one more pass over the object, but no data passes through
//     Sluice again. Callers that know the MD5 should pass it.
//
// List reads ETags from the listing when they look like an MD5 and asks
// HeadObject for the others (multipart objects).
//
// # Metadata
//
// User metadata travels as x-amz-meta-* headers. Keys must be HTTP header
// tokens; S3 compares them without case and returns them in lower case, so
// keys that differ only in case are rejected. Keys starting with "sluice--"
// are escaped by doubling that prefix, so they cannot be mistaken for the
// driver's own. Values that are not printable ASCII, that start or end
// with a space, or that start with "=?" are stored as RFC 2047 encoded
// words (=?UTF-8?B?...?=) and decoded on the way back, so any value
// round-trips. S3 limits user metadata to 2 KiB; a store's refusal becomes
// location.ErrInvalidArgument.
//
// # Replicas written into Sluice
//
// With Config.ReplicaMarker (location option "replicaMarker": "true") every
// request carries the header "X-Sluice-Replica: 1" (ReplicaHeader). A Sluice
// endpoint then stores what the driver writes (PutObject, the
// CompleteMultipartUpload of a direct upload, and the CopyObject or
// CompleteMultipartUpload that moves a temporary object to its key) with
// x-amz-replication-status REPLICA and marks its events so, and Sluice's
// replicator never replicates them again; other S3 stores ignore the header.
// The replicator turns it on for the destinations it opens; s3front leaves
// it off for its own locations.
package s3
