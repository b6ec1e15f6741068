package meta

import (
	"context"
	"fmt"
	"time"
)

// Versioning states of a bucket, as S3 spells them.
const (
	VersioningUnset     = ""          // versioning was never enabled
	VersioningEnabled   = "Enabled"   // every write creates a new version id
	VersioningSuspended = "Suspended" // writes replace the "null" version
)

// NullVersion is the version id of objects written while versioning is unset or
// suspended. S3 omits x-amz-version-id for such objects in never-versioned buckets.
const NullVersion = "null"

// Bucket config kinds accepted by PutBucketConfig and friends. The store keeps each
// as an opaque document; the S3 server owns its format.
const (
	ConfigTagging      = "tagging"
	ConfigNotification = "notification"
	ConfigReplication  = "replication"
	ConfigLifecycle    = "lifecycle"
	ConfigCORS         = "cors"
	ConfigPolicy       = "policy"
)

// ConfigKinds lists every valid bucket config kind.
var ConfigKinds = []string{ConfigTagging, ConfigNotification, ConfigReplication, ConfigLifecycle, ConfigCORS, ConfigPolicy}

// ValidConfigKind reports whether kind is one of ConfigKinds.
func ValidConfigKind(kind string) bool {
	for _, k := range ConfigKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Bucket is a bucket's metadata.
type Bucket struct {
	Name       string
	Owner      string    // principal (access key owner id) that created the bucket
	Location   string    // Sluice location name: the CreateBucket LocationConstraint
	CreatedAt  time.Time // set by the store when zero
	Versioning string    // VersioningUnset, VersioningEnabled or VersioningSuspended
}

// DataRef names stored bytes: a key inside a Sluice location. The store never
// touches data; it returns DataRefs the caller should delete after the commit.
type DataRef struct {
	Location string
	Key      string
}

// Part is one part of a multipart upload, and of an object completed from one.
type Part struct {
	PartNumber   int               // 1..10000
	Size         int64             // bytes
	ETag         string            // hex MD5, without quotes
	Checksums    map[string]string // algorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) → base64
	Location     string            // location holding the bytes ("" = the upload's/object's)
	DataKey      string            // key of the bytes inside Location
	LastModified time.Time         // set by the store when zero
}

// Object is one version of an object (or a delete marker).
type Object struct {
	Bucket string
	Key    string
	// VersionID is assigned by the store: NullVersion for writes while versioning
	// is unset or suspended, otherwise a unique id whose byte order is creation order.
	VersionID      string
	IsLatest       bool
	IsDeleteMarker bool
	Size           int64
	ETag           string // without quotes; "hex-N" for multipart objects
	ContentType    string
	// Headers holds the stored system headers: Content-Encoding, Content-Disposition,
	// Content-Language, Cache-Control, Expires, x-amz-website-redirect-location, ...
	Headers      map[string]string
	UserMetadata map[string]string // x-amz-meta-* without the prefix, lower-case names
	Tags         map[string]string
	Checksums    map[string]string // algorithm → base64 (full-object or composite)
	StorageClass string
	Location     string // Sluice location holding the bytes
	DataKey      string // key of the bytes inside Location ("" if only Parts hold data)
	Owner        string
	LastModified time.Time // set by the store when zero; stored with µs precision
	// Sequencer is assigned by the store on every mutation of this version (creation,
	// tag change, permanent deletion): 16 upper-case hex digits from one database-wide
	// counter, so lexical order is mutation order.
	Sequencer         string
	ReplicationStatus string            // "", PENDING, COMPLETED, FAILED, REPLICA
	Replication       map[string]string // per-destination status detail
	PartsCount        int               // number of parts (multipart objects), else 0
	Parts             []Part            // parts of a multipart object, in part order
}

// DataRefs returns every data reference held by the object version: its DataKey and
// the data keys of its parts, with part locations defaulting to o.Location.
func (o *Object) DataRefs() []DataRef {
	var refs []DataRef
	if o.DataKey != "" {
		refs = append(refs, DataRef{Location: o.Location, Key: o.DataKey})
	}
	for _, p := range o.Parts {
		if p.DataKey == "" || (p.DataKey == o.DataKey && (p.Location == "" || p.Location == o.Location)) {
			continue
		}
		loc := p.Location
		if loc == "" {
			loc = o.Location
		}
		refs = append(refs, DataRef{Location: loc, Key: p.DataKey})
	}
	return refs
}

// ChangeKind says what a mutation did to an object.
type ChangeKind string

// Change kinds reported to an EventFunc and in DeleteResult.
const (
	ChangeNone                ChangeKind = ""                    // nothing changed (EventFunc is not called)
	ChangeCreated             ChangeKind = "Created"             // a new version was written (PutObject, CompleteUpload)
	ChangeDeleted             ChangeKind = "Deleted"             // a version was removed for good
	ChangeDeleteMarkerCreated ChangeKind = "DeleteMarkerCreated" // a delete marker was written
	ChangeTagsPut             ChangeKind = "TagsPut"             // a version's tag set was replaced
	ChangeTagsDeleted         ChangeKind = "TagsDeleted"         // a version's tag set was removed
)

// Change is what an EventFunc sees: the kind of mutation and the resulting object
// version, with VersionID, Sequencer and LastModified already assigned. For
// ChangeDeleted, Object is the removed version carrying a fresh Sequencer.
type Change struct {
	Kind   ChangeKind
	Object Object
}

// OutboxMsg is one event to publish on NATS, produced by an EventFunc.
type OutboxMsg struct {
	ID      string              // event id; published as Nats-Msg-Id; unique
	Subject string              // NATS subject
	Headers map[string][]string // NATS headers (CloudEvents ce-* attributes, ...)
	Body    []byte
}

// OutboxRow is a committed, not yet published outbox message.
type OutboxRow struct {
	RowID int64 // monotonic row id, assigned at insert; rows are returned in RowID order
	OutboxMsg
	CreatedAt time.Time
}

// EventFunc builds the outbox messages for a mutation. The store calls it INSIDE the
// mutation's transaction, after the version id and sequencer are assigned, and
// inserts the returned messages in the same transaction. If it returns an error the
// whole mutation is rolled back and the error is returned (wrapped) to the caller.
// It must not call the Store. It is not called when nothing changed. A nil
// EventFunc writes no outbox rows.
type EventFunc func(ctx context.Context, ch Change) ([]OutboxMsg, error)

// PutResult is the outcome of PutObject and CompleteUpload.
type PutResult struct {
	Object Object // the stored version, with VersionID, Sequencer, LastModified set
	// Displaced lists data no longer referenced by any version (the replaced "null"
	// version, unused parts of a completed upload). Delete it after the call returns.
	Displaced []DataRef
}

// DeleteResult is the outcome of DeleteObject.
type DeleteResult struct {
	// Kind is ChangeDeleteMarkerCreated, ChangeDeleted, or ChangeNone when the key or
	// version did not exist (S3 still answers 204).
	Kind ChangeKind
	// VersionID is the id of the created delete marker or of the removed version
	// (x-amz-version-id); "" for ChangeNone.
	VersionID string
	// DeleteMarker is true when a delete marker was created, or when the removed
	// version was a delete marker (x-amz-delete-marker: true).
	DeleteMarker bool
	// Object is the created delete marker or the removed version.
	Object Object
	// Displaced lists data no longer referenced; delete it after the call returns.
	Displaced []DataRef
}

// ListObjectsInput selects latest, non-delete-marker versions in key order.
type ListObjectsInput struct {
	Bucket    string
	Prefix    string
	Delimiter string
	// StartAfter lists keys strictly greater than it (ListObjects marker, V2
	// start-after or the decoded continuation token; a common prefix works too).
	StartAfter string
	MaxKeys    int // maximum Objects+CommonPrefixes returned; <= 0 returns nothing
}

// ListObjectsResult is one page of ListObjects.
type ListObjectsResult struct {
	Objects        []Object // latest versions, in UTF-8 byte order of Key
	CommonPrefixes []string // in byte order, interleaved in key order with Objects
	IsTruncated    bool
	// NextMarker is the last key or common prefix returned when IsTruncated; pass it
	// as StartAfter to get the next page.
	NextMarker string
}

// ListVersionsInput selects versions and delete markers in key order, newest first
// within a key.
type ListVersionsInput struct {
	Bucket          string
	Prefix          string
	Delimiter       string
	KeyMarker       string // start after this key (or, with VersionIDMarker, within it)
	VersionIDMarker string // start after this version of KeyMarker
	MaxKeys         int    // maximum Versions+CommonPrefixes; <= 0 returns nothing
}

// ListVersionsResult is one page of ListObjectVersions.
type ListVersionsResult struct {
	Versions            []Object // versions and delete markers (IsDeleteMarker)
	CommonPrefixes      []string
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string // "" when the page ended on a common prefix
}

// Upload is an in-progress multipart upload.
type Upload struct {
	ID                string // assigned by the store when empty
	Bucket            string
	Key               string
	Owner             string
	ContentType       string
	Headers           map[string]string
	UserMetadata      map[string]string
	Tags              map[string]string
	ChecksumAlgorithm string // "" or CRC32, CRC32C, CRC64NVME, SHA1, SHA256
	ChecksumType      string // "" or COMPOSITE, FULL_OBJECT
	StorageClass      string
	Location          string    // where parts are written
	Initiated         time.Time // set by the store when zero
}

// ListPartsResult is one page of ListParts.
type ListPartsResult struct {
	Parts                []Part // in part-number order
	IsTruncated          bool
	NextPartNumberMarker int
}

// ListUploadsInput selects in-progress uploads in key order, then initiation order.
type ListUploadsInput struct {
	Bucket         string
	Prefix         string
	Delimiter      string
	KeyMarker      string // start after this key (or, with UploadIDMarker, within it)
	UploadIDMarker string // start after this upload of KeyMarker
	MaxUploads     int    // maximum Uploads+CommonPrefixes; <= 0 returns nothing
}

// ListUploadsResult is one page of ListMultipartUploads.
type ListUploadsResult struct {
	Uploads            []Upload
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// OutboxStats summarizes the pending outbox.
type OutboxStats struct {
	Pending int64     // rows not yet published
	Oldest  time.Time // CreatedAt of the oldest pending row; zero when Pending == 0
}

// OutboxHandler publishes claimed rows and returns the RowIDs that were acknowledged
// (their PubAck arrived). Only those are deleted. A returned error still deletes the
// acknowledged RowIDs.
type OutboxHandler func(ctx context.Context, rows []OutboxRow) (acked []int64, err error)

// FormatSequencer renders a sequencer value as 16 upper-case hex digits.
func FormatSequencer(v uint64) string { return fmt.Sprintf("%016X", v) }
