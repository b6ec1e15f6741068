// Package meta defines the s3front metadata store: buckets, object versions,
// multipart uploads and the transactional outbox of events.
//
// Implementations live in meta/sqlite (embedded default) and meta/postgres (shared by
// several s3front replicas); both pass the conformance suite in meta/metatest.
//
// Every method is one database transaction. Every mutating method that takes an
// EventFunc inserts the returned outbox rows in that same transaction, so an object
// change and its events commit together or not at all. The store never touches
// object data: it stores DataRefs and returns the ones that became unreferenced.
//
// Replication results reach the versions through ReplicationStore, which
// changes only their replication status (never their sequencer, LastModified or
// outbox); see DestinationStatus.Supersedes for the rule.
package meta

import (
	"context"
	"time"
)

// Store is the whole metadata store. It is safe for concurrent use.
type Store interface {
	BucketStore
	ObjectStore
	MultipartStore
	OutboxStore
	ReplicationStore

	// Ping checks that the database answers (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the database. Calls after Close return ErrClosed.
	Close() error
}

// BucketStore manages buckets and their configuration documents.
type BucketStore interface {
	// CreateBucket creates b. CreatedAt is set when zero; Versioning is stored as given
	// (normally VersioningUnset). Returns ErrBucketExists if the name is taken, by
	// anyone; ErrInvalidArgument for an empty name or bad Versioning.
	CreateBucket(ctx context.Context, b Bucket) (Bucket, error)
	// GetBucket returns the bucket, or ErrNoSuchBucket.
	GetBucket(ctx context.Context, name string) (Bucket, error)
	// ListBuckets returns owner's buckets ("" = all buckets) ordered by name.
	ListBuckets(ctx context.Context, owner string) ([]Bucket, error)
	// DeleteBucket removes an empty bucket and its config documents. Returns
	// ErrNoSuchBucket, or ErrBucketNotEmpty if any version, delete marker or
	// in-progress multipart upload exists.
	DeleteBucket(ctx context.Context, name string) error
	// SetVersioning sets the bucket's versioning status to VersioningEnabled or
	// VersioningSuspended. Returns ErrNoSuchBucket, or ErrInvalidArgument for any
	// other status (a bucket can never return to VersioningUnset).
	SetVersioning(ctx context.Context, bucket, status string) error

	// PutBucketConfig stores doc as the bucket's config of the given kind (one of
	// ConfigKinds), replacing any previous one. Returns ErrNoSuchBucket or
	// ErrInvalidArgument (unknown kind).
	PutBucketConfig(ctx context.Context, bucket, kind string, doc []byte) error
	// GetBucketConfig returns the stored document. Returns ErrNoSuchBucket,
	// ErrNoSuchConfig when none is stored, or ErrInvalidArgument (unknown kind).
	GetBucketConfig(ctx context.Context, bucket, kind string) ([]byte, error)
	// DeleteBucketConfig removes the document; removing a missing one is not an
	// error. Returns ErrNoSuchBucket or ErrInvalidArgument (unknown kind).
	DeleteBucketConfig(ctx context.Context, bucket, kind string) error
}

// ObjectStore manages object versions.
type ObjectStore interface {
	// PutObject writes a new version of obj.Bucket/obj.Key and makes it the latest.
	// The store assigns VersionID, Sequencer and IsLatest (and LastModified when
	// zero), ignoring the caller's values. With versioning Enabled the version gets a
	// fresh id and the previous latest stays as a noncurrent version; otherwise it
	// gets NullVersion and replaces any existing "null" version, whose data is
	// returned in Displaced. fn is called with ChangeCreated inside the transaction.
	// Returns ErrNoSuchBucket, ErrInvalidArgument (empty key), or fn's error.
	PutObject(ctx context.Context, obj Object, fn EventFunc) (PutResult, error)
	// GetObject returns a version: the latest when versionID is "". Returns
	// ErrNoSuchBucket; ErrNoSuchKey when the key has no versions; ErrNoSuchVersion when
	// versionID names no version; a *DeleteMarkerError when the addressed version is a
	// delete marker (matching ErrNoSuchKey only when versionID was "").
	GetObject(ctx context.Context, bucket, key, versionID string) (Object, error)
	// DeleteObject deletes like S3 DeleteObject:
	//   - versionID "" and versioning Enabled: adds a delete marker with a fresh id
	//     (even when the key has no versions);
	//   - versionID "" and Suspended: adds a delete marker with NullVersion, replacing
	//     the "null" version (Displaced);
	//   - versionID "" and never enabled: removes the "null" version, if any;
	//   - versionID set: removes that version for good; when it was the latest, the
	//     next newest version (possibly a delete marker) becomes the latest.
	// A missing key or version is not an error: the result has Kind ChangeNone and fn
	// is not called. Otherwise fn is called inside the transaction with
	// ChangeDeleteMarkerCreated or ChangeDeleted. Returns ErrNoSuchBucket or fn's error.
	//
	// opts apply to the delete marker the call creates, if it creates one
	// (WithMarkerReplication); they are ignored otherwise.
	DeleteObject(ctx context.Context, bucket, key, versionID string, fn EventFunc, opts ...DeleteOption) (DeleteResult, error)
	// PutObjectTags replaces the tag set of a version (latest when versionID is ""),
	// gives it a new Sequencer, and calls fn with ChangeTagsPut. LastModified does not
	// change. Returns the updated version, or the errors of GetObject, or fn's error.
	PutObjectTags(ctx context.Context, bucket, key, versionID string, tags map[string]string, fn EventFunc) (Object, error)
	// DeleteObjectTags removes the tag set like PutObjectTags, with ChangeTagsDeleted.
	DeleteObjectTags(ctx context.Context, bucket, key, versionID string, fn EventFunc) (Object, error)
	// ListObjects lists latest non-delete-marker versions in UTF-8 byte order of key,
	// grouping keys that contain Delimiter after Prefix into CommonPrefixes. Returns
	// ErrNoSuchBucket.
	ListObjects(ctx context.Context, in ListObjectsInput) (ListObjectsResult, error)
	// ListObjectVersions lists all versions and delete markers in key byte order,
	// newest first within a key. Returns ErrNoSuchBucket.
	ListObjectVersions(ctx context.Context, in ListVersionsInput) (ListVersionsResult, error)
}

// MultipartStore manages multipart uploads.
type MultipartStore interface {
	// CreateUpload records a new upload (ID assigned when empty, Initiated set when
	// zero) and returns it. Returns ErrNoSuchBucket, or ErrInvalidArgument (invalid
	// key, or a caller-chosen ID that already exists).
	CreateUpload(ctx context.Context, u Upload) (Upload, error)
	// GetUpload returns the upload. Returns ErrNoSuchUpload when no upload with that
	// id exists for bucket/key.
	GetUpload(ctx context.Context, bucket, key, uploadID string) (Upload, error)
	// PutPart records a part (LastModified set when zero). Re-uploading a part number
	// replaces it; the replaced part's data is returned. Returns ErrNoSuchUpload, or
	// ErrInvalidArgument for a part number outside 1..10000.
	PutPart(ctx context.Context, bucket, key, uploadID string, p Part) (replaced []DataRef, err error)
	// ListParts lists parts with numbers greater than marker, at most max (<= 0:
	// none), in part-number order. Returns ErrNoSuchUpload.
	ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (ListPartsResult, error)
	// ListUploads lists in-progress uploads in key byte order, then initiation order.
	// Returns ErrNoSuchBucket.
	ListUploads(ctx context.Context, in ListUploadsInput) (ListUploadsResult, error)
	// CompleteUpload turns the upload into a new object version exactly as PutObject
	// would (obj.Bucket and obj.Key must match the upload; obj.Parts lists the parts
	// used, already validated by the caller against ListParts), then deletes the upload
	// and its parts. Displaced holds the data of uploaded parts not used plus the
	// replaced "null" version, if any. fn is called with ChangeCreated. Returns
	// ErrNoSuchUpload, ErrInvalidPart (a listed part number was never uploaded or its
	// DataKey differs), ErrNoSuchBucket, or fn's error.
	CompleteUpload(ctx context.Context, uploadID string, obj Object, fn EventFunc) (PutResult, error)
	// AbortUpload deletes the upload and its parts and returns the parts' data.
	// Returns ErrNoSuchUpload.
	AbortUpload(ctx context.Context, bucket, key, uploadID string) ([]DataRef, error)
}

// OutboxStore reads and trims the transactional outbox. Rows are written only by
// the mutating methods above, in the mutation's transaction.
type OutboxStore interface {
	// OutboxPending returns up to limit committed rows in RowID order, without
	// claiming them.
	OutboxPending(ctx context.Context, limit int) ([]OutboxRow, error)
	// OutboxDelete deletes rows by RowID; unknown ids are ignored.
	OutboxDelete(ctx context.Context, rowIDs ...int64) error
	// OutboxClaim claims up to limit pending rows, in RowID order, that no other
	// claimer currently holds, hands them to h, and deletes the RowIDs h reports as
	// acknowledged. Claims are exclusive among concurrent callers (PostgreSQL: SELECT
	// ... FOR UPDATE SKIP LOCKED held while h runs; SQLite: an in-process lock), and
	// are released when h returns or the process dies. Returns the number of rows
	// handed to h (0 when none are pending, in which case h is not called) and h's
	// error, if any.
	OutboxClaim(ctx context.Context, limit int, h OutboxHandler) (int, error)
	// OutboxStats counts pending rows.
	OutboxStats(ctx context.Context) (OutboxStats, error)
	// OutboxNotify returns a channel that receives a value (coalesced, never blocking
	// the writer) after a transaction in this process commits outbox rows. Rows
	// written by other processes are not signalled: poll at OutboxPollHint too.
	OutboxNotify() <-chan struct{}
}

// ReplicationStore applies replication results to object versions. It is how
// results of the replicator (events/replication/status) reach the metadata
// that s3front owns.
type ReplicationStore interface {
	// ApplyReplication applies updates in one transaction and returns one
	// outcome per update, in order. For each update it keeps, per (bucket, key,
	// version, destination), the result that supersedes the others
	// (DestinationStatus.Supersedes); a destination not yet in the version's
	// map is added. The version's ReplicationStatus becomes
	// OverallReplicationStatus of its destinations, and Replication maps each
	// destination to its status. It changes nothing else: not the version's
	// Sequencer, LastModified or IsLatest, and it writes no outbox rows.
	// Updates for versions that do not exist, or that are REPLICAs, change
	// nothing (ReplicationNoVersion, ReplicationStale); malformed updates are
	// ReplicationInvalid. Applying an update twice is harmless, and any order
	// of the same updates ends in the same state. It returns an error only
	// when the transaction fails (then nothing was applied).
	ApplyReplication(ctx context.Context, updates []ReplicationUpdate) ([]ReplicationOutcome, error)
	// GetReplication returns the replication state of a version (the latest
	// when versionID is ""), delete markers included. Returns ErrNoSuchBucket,
	// ErrNoSuchKey (no versions) or ErrNoSuchVersion.
	GetReplication(ctx context.Context, bucket, key, versionID string) (ReplicationInfo, error)
}

// DeleteOption adjusts one DeleteObject call.
type DeleteOption func(*DeleteOptions)

// DeleteOptions are what DeleteOption values set.
type DeleteOptions struct {
	// MarkerReplicationStatus and MarkerReplication are stored on the delete
	// marker the call creates (as Object.ReplicationStatus and
	// Object.Replication), so that its event carries them.
	MarkerReplicationStatus string
	MarkerReplication       map[string]string
}

// WithMarkerReplication makes a delete marker created by DeleteObject carry
// the replication status (PENDING with the destinations that replicate delete
// markers, or REPLICA for a delete made by a replicator).
func WithMarkerReplication(status string, dests map[string]string) DeleteOption {
	return func(o *DeleteOptions) {
		o.MarkerReplicationStatus = status
		o.MarkerReplication = dests
	}
}

// OutboxPollHint is a sensible polling interval for rows written by other processes.
const OutboxPollHint = time.Second
