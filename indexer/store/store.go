// Package store is the metadata index: one record per object version, kept
// in step with object events, searchable with query expressions.
//
// Implementations (store/sqlite, store/postgres) all pass the conformance
// suite in store/storetest. Their guarantees:
//
//   - Apply is idempotent and order-safe. Events of one version are ordered
//     by their sequencer (events.CompareSequencers; when both sequencers are
//     empty, by event time). An event that is not newer than the state the
//     index holds for its version changes nothing, so duplicates and stale
//     redeliveries are harmless, and applying a set of events in any order
//     yields the same index.
//   - A permanently removed version leaves a tombstone carrying the removal's
//     sequencer, so a late, older event cannot bring it back. PurgeTombstones
//     drops tombstones once they are older than any event that could still
//     be in flight for their version (the service keeps them a retention
//     period, 24 hours by default).
//   - An update that arrives before its version's creation is kept aside
//     (the creation, when it comes, takes it into account), but a version
//     known only from updates is never a search result.
//   - Replication status is kept per destination, each destination ordered
//     by the events that set it; the overall status is derived from them
//     (ReplicationOverall).
//   - The latest version of a key is the live version created last (by the
//     sequencer of its creation, then last-modified time, then version id).
//   - One Apply call is one transaction: all of it is visible, or none.
package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-io/sluice/indexer/query"
)

// Sentinel errors. Errors returned by a Store wrap one of these, a
// *query.Error (a query that cannot run), a context error, or a database
// error (transient: retry).
var (
	// ErrInvalidEvent: an event cannot be indexed (missing bucket or key,
	// invalid UTF-8 or NUL bytes, a value over the size limits, unknown
	// Op). Retrying cannot fix it.
	ErrInvalidEvent = errors.New("store: invalid event")
	// ErrInvalidCursor: a pagination cursor is not one the store issued.
	ErrInvalidCursor = errors.New("store: invalid cursor")
	// ErrInvalidInput: a search, aggregation or type declaration is
	// malformed (unknown group, unknown field type, bad limit).
	ErrInvalidInput = errors.New("store: invalid input")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// Size limits of indexed values, in bytes. S3 itself stays well inside them;
// they keep every value indexable by both databases.
const (
	MaxBucketLen    = 255
	MaxKeyLen       = 1024
	MaxVersionIDLen = 1024
	MaxNameLen      = 128  // metadata name, tag key, replication destination
	MaxValueLen     = 2048 // metadata value, tag value, replication status
	MaxTextLen      = 1024 // ETag, content type, location, source
	MaxSequencerLen = 32   // hexadecimal digits
)

// NullVersion is the version id of the null version; an empty VersionID in
// an Event means it.
const NullVersion = "null"

// Op says what an event did to an object version.
type Op uint8

// The operations.
const (
	// OpPut: the version was written (created, or the null version
	// replaced); the event carries its full state and its creation time.
	OpPut Op = iota + 1
	// OpUpdate: the state of an existing version changed (tags,
	// replication, location); Event.Set says which fields the event
	// carries. Last-modified does not change.
	OpUpdate
	// OpDeleteMarker: a delete marker was created as the version.
	OpDeleteMarker
	// OpRemove: the version was permanently removed.
	OpRemove
	// OpReplication: replication results. Replication maps destinations
	// to the version's status there; nothing else is read. The Sequencer
	// is that of the object event the results report on: a result orders
	// after every event with its sequencer (whatever the clocks of the
	// hosts involved), and results with one sequencer order by Time.
	OpReplication
)

// String names the operation.
func (o Op) String() string {
	switch o {
	case OpPut:
		return "put"
	case OpUpdate:
		return "update"
	case OpDeleteMarker:
		return "delete-marker"
	case OpRemove:
		return "remove"
	case OpReplication:
		return "replication"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Fields selects the state fields an OpUpdate event carries.
type Fields uint16

// The fields an update can set.
const (
	SetTags        Fields = 1 << iota // Tags
	SetMetadata                       // UserMetadata
	SetContentType                    // ContentType
	SetLocation                       // Location
	// SetReplication: ReplicationStatus, when not empty, replaces the
	// object's own status, and each entry of Replication replaces that
	// destination's status; destinations the event does not name keep
	// theirs.
	SetReplication
	SetSize // Size and ETag
	// SetAll is every field: an update carrying the version's full state
	// (except its last-modified time).
	SetAll = SetTags | SetMetadata | SetContentType | SetLocation | SetReplication | SetSize
)

// Event is one change to one object version, in the store's terms.
type Event struct {
	Op        Op
	Bucket    string
	Key       string
	VersionID string // "" or NullVersion: the null version
	// Sequencer orders the events of one version by hexadecimal value
	// (greater is later), as events.CompareSequencers does; at most
	// MaxSequencerLen hexadecimal digits; "" sorts first.
	Sequencer string
	// Time is when the event happened; for OpPut and OpDeleteMarker it is
	// the version's last-modified time.
	Time time.Time
	// Set lists the fields an OpUpdate carries; ignored for other ops.
	Set Fields
	// Source names the store the event came from ("sluice:s3", an ingest
	// feed).
	Source string

	Size         int64
	ETag         string
	ContentType  string
	Location     string
	UserMetadata map[string]string // lower-case names, without x-amz-meta-
	Tags         map[string]string
	// ReplicationStatus is the object's own replication status, as its
	// source reports it (x-amz-replication-status: PENDING, REPLICA...).
	ReplicationStatus string
	// Replication maps a destination location to the object's status
	// there (COMPLETED, FAILED, PENDING). Each destination is ordered on
	// its own: an entry changes a destination's status only when the
	// event is newer than the one that last set it (for a put, the
	// destinations it does not name and that no newer event set are
	// dropped: they described older content).
	Replication map[string]string
}

// Replication statuses, as in x-amz-replication-status.
const (
	ReplicationPending   = "PENDING"
	ReplicationCompleted = "COMPLETED"
	ReplicationFailed    = "FAILED"
)

// ReplicationOverall is the overall replication status of a version whose
// own status is base and whose per-destination statuses are dest: base when
// dest is empty; else FAILED when any destination failed, COMPLETED when
// every destination completed, PENDING otherwise. It is the rule s3front
// applies to x-amz-replication-status (see events/replication/status).
func ReplicationOverall(base string, dest map[string]string) string {
	if len(dest) == 0 {
		return base
	}
	all := true
	for _, st := range dest {
		if st == ReplicationFailed {
			return ReplicationFailed
		}
		all = all && st == ReplicationCompleted
	}
	if all {
		return ReplicationCompleted
	}
	return ReplicationPending
}

// Validate checks that e can be indexed. It returns an error wrapping
// ErrInvalidEvent.
func (e *Event) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
	}
	switch e.Op {
	case OpPut, OpDeleteMarker, OpRemove:
	case OpUpdate:
		if e.Set&SetAll == 0 || e.Set&^SetAll != 0 {
			return bad("update without fields or with unknown ones")
		}
	case OpReplication:
		if len(e.Replication) == 0 {
			return bad("replication results without a destination")
		}
	default:
		return bad("unknown op %d", int(e.Op))
	}
	if e.Bucket == "" || e.Key == "" {
		return bad("empty bucket or key")
	}
	if e.Size < 0 {
		return bad("negative size")
	}
	if e.Time.IsZero() {
		return bad("zero time")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"bucket", e.Bucket, MaxBucketLen},
		{"key", e.Key, MaxKeyLen},
		{"version id", e.VersionID, MaxVersionIDLen},
		{"source", e.Source, MaxTextLen},
		{"etag", e.ETag, MaxTextLen},
		{"content type", e.ContentType, MaxTextLen},
		{"location", e.Location, MaxTextLen},
		{"replication status", e.ReplicationStatus, MaxValueLen},
	} {
		if err := checkText(f.v, f.max); err != nil {
			return bad("%s: %v", f.name, err)
		}
	}
	if len(e.Sequencer) > MaxSequencerLen || strings.Trim(e.Sequencer, "0123456789abcdefABCDEF") != "" {
		return bad("sequencer %.40q is not at most %d hexadecimal digits", e.Sequencer, MaxSequencerLen)
	}
	for _, m := range []struct {
		name string
		m    map[string]string
	}{{"metadata", e.UserMetadata}, {"tag", e.Tags}, {"replication", e.Replication}} {
		for k, v := range m.m {
			if k == "" {
				return bad("empty %s name", m.name)
			}
			if err := checkText(k, MaxNameLen); err != nil {
				return bad("%s name: %v", m.name, err)
			}
			if err := checkText(v, MaxValueLen); err != nil {
				return bad("%s %q value: %v", m.name, k, err)
			}
		}
	}
	return nil
}

func checkText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return errors.New("invalid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("contains a NUL byte")
	}
	return nil
}

// Record is the indexed state of one object version.
type Record struct {
	Bucket         string            `json:"bucket"`
	Key            string            `json:"key"`
	VersionID      string            `json:"versionId"`
	IsLatest       bool              `json:"isLatest"`
	IsDeleteMarker bool              `json:"isDeleteMarker"`
	Size           int64             `json:"size"`
	ETag           string            `json:"etag,omitempty"`
	ContentType    string            `json:"contentType,omitempty"`
	LastModified   time.Time         `json:"lastModified"`
	Location       string            `json:"location,omitempty"`
	UserMetadata   map[string]string `json:"userMetadata,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	// ReplicationStatus is the overall status (ReplicationOverall of the
	// object's own status and Replication).
	ReplicationStatus string `json:"replicationStatus,omitempty"`
	// Replication is the status per destination.
	Replication map[string]string `json:"replication,omitempty"`
	Source      string            `json:"source,omitempty"`
	Sequencer   string            `json:"sequencer,omitempty"`
}

// Cursor is a position in the (bucket, key, version id) order of search
// results. A search with After set returns what comes strictly after it;
// with an empty VersionID, after every version of Key.
type Cursor struct {
	Bucket    string `json:"b"`
	Key       string `json:"k"`
	VersionID string `json:"v,omitempty"`
}

// Encode returns the cursor as an opaque URL-safe token.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a token made by Cursor.Encode. It returns an error
// wrapping ErrInvalidCursor for anything else.
func DecodeCursor(token string) (Cursor, error) {
	if len(token) > 4*(MaxBucketLen+MaxKeyLen+MaxVersionIDLen) {
		return Cursor{}, fmt.Errorf("%w: too long", ErrInvalidCursor)
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Cursor{}, fmt.Errorf("%w: %w", ErrInvalidCursor, err)
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return Cursor{}, fmt.Errorf("%w: %w", ErrInvalidCursor, err)
	}
	for _, s := range []string{c.Bucket, c.Key, c.VersionID} {
		if checkText(s, MaxKeyLen+MaxVersionIDLen) != nil {
			return Cursor{}, fmt.Errorf("%w: bad text", ErrInvalidCursor)
		}
	}
	return c, nil
}

// Search limits.
const (
	// DefaultLimit is the page size when SearchInput.Limit is zero.
	DefaultLimit = 1000
	// MaxLimit is the largest page size.
	MaxLimit = 10000
	// MaxBuckets is the largest bucket list a search may name.
	MaxBuckets = 1000
)

// Scope selects which versions a search or aggregation sees.
type Scope struct {
	// Buckets limits the search to these buckets; nil means every bucket.
	// An empty, non-nil list matches nothing.
	Buckets []string
	// Prefix limits the search to keys starting with it.
	Prefix string
	// Where filters the versions; nil matches everything.
	Where query.Expr
	// Versions includes every stored version and delete marker; without it
	// only current objects are seen (latest versions that are not delete
	// markers), as ListObjects shows them.
	Versions bool
}

// SearchInput asks for one page of search results.
type SearchInput struct {
	Scope
	// After continues a previous search (its SearchResult.Next).
	After *Cursor
	// Limit is the page size: 1..MaxLimit, zero means DefaultLimit.
	Limit int
}

// SearchResult is one page of results in (bucket, key, version id) order.
type SearchResult struct {
	Records []Record
	// Next is set when more results may follow; pass it as After.
	Next *Cursor
}

// GroupBy names the dimension of an aggregation.
type GroupBy string

// The aggregation dimensions.
const (
	GroupBucket            GroupBy = "bucket"
	GroupLocation          GroupBy = "location"
	GroupContentType       GroupBy = "content-type"
	GroupReplicationStatus GroupBy = "replication-status"
)

// ParseGroupBy accepts the name of a dimension. It returns an error
// wrapping ErrInvalidInput otherwise.
func ParseGroupBy(s string) (GroupBy, error) {
	switch g := GroupBy(strings.ToLower(s)); g {
	case GroupBucket, GroupLocation, GroupContentType, GroupReplicationStatus:
		return g, nil
	}
	return "", fmt.Errorf("%w: unknown group %q (want bucket, location, content-type or replication-status)", ErrInvalidInput, s)
}

// AggregateInput asks for counts and bytes per group.
type AggregateInput struct {
	Scope
	By GroupBy
}

// Group is one group of an aggregation.
type Group struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
	Bytes int64  `json:"bytes"`
}

// FieldType is the declared type of a metadata or tag field.
type FieldType string

// Field types a bucket can declare.
const (
	TypeString FieldType = "string"
	TypeInt    FieldType = "int"
	TypeFloat  FieldType = "float"
	TypeDate   FieldType = "date"
)

// ParseFieldType accepts int, float, date or string (any case). It returns
// an error wrapping ErrInvalidInput otherwise.
func ParseFieldType(s string) (FieldType, error) {
	switch t := FieldType(strings.ToLower(s)); t {
	case TypeString, TypeInt, TypeFloat, TypeDate:
		return t, nil
	}
	return "", fmt.Errorf("%w: unknown field type %q (want int, float, date or string)", ErrInvalidInput, s)
}

// ApplyStats counts what one Apply did.
type ApplyStats struct {
	// Applied events changed the index.
	Applied int
	// Skipped events were stale or duplicates.
	Skipped int
}

// Store is the index. It is safe for concurrent use; several processes may
// share one database.
type Store interface {
	// Apply applies events in one transaction (see the package
	// guarantees). It returns an error wrapping ErrInvalidEvent, naming
	// the first invalid event, before touching the database.
	Apply(ctx context.Context, events []Event) (ApplyStats, error)
	// Search returns one page of the versions in scope matching the
	// query, in (bucket, key, version id) order. It returns a *query.Error
	// when the query cannot run (a literal that does not fit a declared
	// type), ErrInvalidInput for a bad limit or bucket list.
	Search(ctx context.Context, in SearchInput) (SearchResult, error)
	// Aggregate counts the versions in scope matching the query, and sums
	// their sizes, per group, in group order. Errors as for Search.
	Aggregate(ctx context.Context, in AggregateInput) ([]Group, error)
	// DeclareTypes sets the types of metadata and tag fields of a bucket
	// ("x-amz-meta-year": TypeInt, "tags.due": TypeDate); TypeString
	// resets a field to the default. The declaration applies at once to
	// every record, existing and future: the index keeps the numeric and
	// date reading of every value that has one. It returns
	// ErrInvalidInput for an unknown field name or an empty bucket.
	DeclareTypes(ctx context.Context, bucket string, types map[string]FieldType) error
	// FieldTypes returns the declared (non-string) field types of bucket.
	FieldTypes(ctx context.Context, bucket string) (map[string]FieldType, error)
	// ResetBucket removes every record and tombstone of bucket (before a
	// rebuild). Declared types stay.
	ResetBucket(ctx context.Context, bucket string) error
	// PurgeTombstones removes the tombstones of removed versions, and the
	// versions known only from updates, that were last written before
	// before (by the store's clock), in several short transactions. Live
	// versions and delete markers are never removed, nor is a tombstone
	// written again since before (a re-created null version removed
	// anew). It returns how many it removed, with ErrClosed, a context
	// error or a database error; what it removed before an error stays
	// removed.
	PurgeTombstones(ctx context.Context, before time.Time) (int64, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database. Calls after Close return ErrClosed.
	Close() error
}
