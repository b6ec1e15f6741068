// Package replicator makes every replication destination (S3-compatible
// stores, Azure Blob, Google Cloud Storage: Sluice locations) match the
// current state of the source objects that a bucket's replication rules
// select. It is also meant to be the data mover for lifecycle transitions.
//
// # Rules
//
// s3front validates PutBucketReplication (AWS XML, versioning required),
// maps it to rules.Rule values and calls rules.Store.Put; the rules live in
// the JetStream key-value bucket SLUICE_REPLICATION, one key per bucket
// (rules.KeyFor: the bucket name with bytes outside [A-Za-z0-9_-] as
// "=XX", because key-value keys cannot hold the '%' of
// events/subject.EncodeToken). Every replicator watches the bucket and keeps
// a snapshot; a bucket missing from the snapshot is read from the store, so
// a fresh Put is never missed.
//
// # Consumers
//
// Each destination has its own durable consumer "replicate-<location>" on
// SLUICE_EVENTS, filtering sluice.events.*.ObjectCreated.>,
// ObjectRemoved.>, ObjectTagging.> and its redrive subject
// sluice.redrive.replicate-<location>. Replicas of the replicator share the
// consumers; each destination progresses, backs up, fails and pauses
// alone: a destination that is down only builds its own backlog.
//
// # Level-triggered handling
//
// For each event the handler finds the bucket's enabled rules to its
// destination, then reads the source's CURRENT state through the S3 API of
// the Sluice endpoint and makes the destination match it. One GetObject of
// the current version gives its state and its data together (its headers
// and body describe the same version); GetObjectTagging, pinned to that
// version, follows only when x-amz-tagging-count says it has tags. When
// nothing changed the body is closed unread. Forced comparisons (resync, a
// redo after a checkpoint conflict) ask HeadObject and GetObjectTagging
// first and open the data, pinned to the version id (or to the ETag when
// unversioned), only to copy it. The cases:
//
//   - object present and selected (prefix, tags): stream GetObject into the
//     destination driver's Put (bounded memory; multipart/block uploads are
//     the driver's), with ContentMD5 when the source ETag is an MD5, content
//     type, user metadata, the tags in metadata "sluice-tags" (URL query
//     form) and the source version in "sluice-source-version"; verify size
//     always and MD5 where the ETag is one. For an s3 destination, an object
//     above 8 MiB whose ETag is not an MD5 (a multipart upload) is read
//     twice, first for its MD5: the s3 driver needs it before a multipart
//     upload, and otherwise uploads to a temporary object that it copies
//     server-side;
//   - current version is a delete marker: delete the replica only when the
//     rule says DeleteMarkerReplication (and, as in AWS, does not filter on
//     tags);
//   - object gone entirely: delete the replica.
//
// The destination key is the rule's destination prefix + the key. The
// replicator opens s3 destinations with the driver option replicaMarker
// (unless the location sets it), so that a destination that is itself a
// Sluice endpoint stores the copies as replicas and does not replicate them
// again.
//
// # Checkpoints
//
// The replicator keeps, per (destination, bucket, key), a checkpoint in the
// key-value bucket SLUICE_REPLICATION_STATE: the highest sequencer applied,
// a fingerprint of the source state copied (version, ETag, size, content
// type, metadata, tags) and COMPLETED or FAILED. We chose the replicator's
// own key-value bucket over the replica's metadata because (1) a deleted
// replica has no metadata, yet a stale create after a delete must be
// recognised; (2) reading it costs no round trip to a remote cloud; (3) its
// revision gives a compare-and-set that serialises replicas of the
// replicator working on one key (inside one process a striped lock does);
// (4) listing FAILED operations needs no scan of the destinations; (5) it
// is the replicator's own state, as DESIGN.md asks. An event whose
// sequencer is not above a COMPLETED checkpoint's is skipped (stale or
// duplicate); a source state whose fingerprint equals the checkpoint's is
// not copied again. When the compare-and-set fails (another replica moved
// the checkpoint while this one copied), the copy is redone from the
// source's current state, so the last writer always wrote the newest data.
//
// # Status
//
// Each result is published to sluice.status.replication.<bucket token>
// (stream SLUICE_STATUS, subjects sluice.status.>; package status holds the
// wire format) as a StatusEvent JSON
// {bucket, key, versionId, sequencer, destination, status, error, time,
// lagSeconds}; s3front consumes it and sets x-amz-replication-status.
// AWS events Replication:OperationFailedReplication,
// OperationMissedThreshold (an event older than Config.Threshold when first
// handled) and OperationReplicatedAfterThreshold go out as CloudEvents on
// the normal event subjects, with sluice.location set to the destination.
//
// # Errors
//
// A transient error (destination or network down, 5xx, 429, 412 when the
// source changed during the copy) returns to the bus, which naks with
// exponential backoff. A permanent error (a 4xx from the source other than
// 404, a key or metadata the destination cannot store, an undecodable
// event) or the MaxDeliver-th failure marks the operation FAILED
// (checkpoint, status event, OperationFailedReplication) and dead-letters
// it. RetryFailed redrives the dead letters to the destination's consumer
// only.
//
// # Operations
//
// Pause and Resume persist a flag per destination in
// SLUICE_REPLICATION_STATE; every replica watches it and stops or starts
// its loop. Status reports pending (NumPending+NumAckPending), the
// approximate age of the oldest pending event and dead letters;
// BucketStatus counts COMPLETED and FAILED keys of a bucket per
// destination; Failed lists FAILED keys. Resync lists the source bucket
// (ListObjectsV2) and enqueues synthetic events on the destination's
// redrive subject with the Sluice-Replication-Resync header, which makes
// the handler compare with the replica itself and copy what is missing or
// different. When a bucket's enabled rules to a destination first ask for
// ExistingObjectReplication, one replica (elected by creating a marker key
// in SLUICE_REPLICATION_STATE) runs that resync by itself. The admin API
// is mounted under /admin/replication/ and Client calls it. Metrics, per
// destination: sluice_replication_pending_operations,
// sluice_replication_lag_seconds, sluice_replication_completed_total,
// sluice_replication_failed_total, sluice_replication_bytes_total,
// sluice_replication_events_total (by outcome),
// sluice_replication_copies_in_flight and
// sluice_replication_copy_bytes_in_flight.
package replicator
