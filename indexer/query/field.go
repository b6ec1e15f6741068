package query

import (
	"strings"
)

// FieldKind names what a field refers to.
type FieldKind int

// The fields of the grammar.
const (
	// FieldKey is the object key ("key").
	FieldKey FieldKind = iota + 1
	// FieldContentLength is the object size in bytes ("content-length").
	FieldContentLength
	// FieldContentType is the Content-Type ("content-type").
	FieldContentType
	// FieldLastModified is the last-modified time ("last-modified").
	FieldLastModified
	// FieldMeta is one user metadata field ("x-amz-meta-<name>"); Field.Name
	// holds <name>, lower-cased as S3 stores it.
	FieldMeta
	// FieldTag is one object tag ("tags.<name>"); Field.Name holds <name>
	// as written (tag keys are case-sensitive).
	FieldTag
	// FieldReplicationStatus is the replication status
	// ("replication-status": PENDING, COMPLETED, FAILED, REPLICA).
	FieldReplicationStatus
	// FieldLocation is the Sluice location holding the data ("location",
	// also spelled "x-amz-storage-class": in Sluice a storage class is a
	// location name).
	FieldLocation
	// FieldVersionID is the version id ("version-id"; "null" for the null
	// version).
	FieldVersionID
	// FieldIsDeleteMarker says whether the version is a delete marker
	// ("is-delete-marker").
	FieldIsDeleteMarker
	// FieldBucket is the bucket name ("bucket"); only ParseCatalog accepts
	// it.
	FieldBucket
	// FieldReplicationDest is the replication status of the object at one
	// destination ("replication-status.<destination>": COMPLETED, FAILED,
	// PENDING); Field.Name holds the destination location as written
	// (location names are case-sensitive). Like a metadata field, a
	// comparison on a destination the object has no status for is false.
	FieldReplicationDest
)

// Prefixes of the named fields.
const (
	// MetaPrefix starts a user metadata field.
	MetaPrefix = "x-amz-meta-"
	// TagPrefix starts a tag field.
	TagPrefix = "tags."
	// ReplicationDestPrefix starts the replication status of one
	// destination.
	ReplicationDestPrefix = "replication-status."
)

// ValueType is the type a field's values compare as.
type ValueType int

// Value types.
const (
	// TypeString compares byte-wise (UTF-8 byte order).
	TypeString ValueType = iota + 1
	// TypeNumber compares numerically.
	TypeNumber
	// TypeDate compares as instants in time.
	TypeDate
	// TypeBool allows only = and != with true or false.
	TypeBool
	// TypeDynamic is the type of user metadata and tags: string unless the
	// bucket declares the field int, float or date (see the store).
	TypeDynamic
)

// String returns the type's name.
func (t ValueType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeNumber:
		return "number"
	case TypeDate:
		return "date"
	case TypeBool:
		return "boolean"
	case TypeDynamic:
		return "metadata"
	default:
		return "unknown"
	}
}

var fixedFields = map[string]FieldKind{
	"key":                 FieldKey,
	"content-length":      FieldContentLength,
	"content-type":        FieldContentType,
	"last-modified":       FieldLastModified,
	"replication-status":  FieldReplicationStatus,
	"location":            FieldLocation,
	"x-amz-storage-class": FieldLocation,
	"version-id":          FieldVersionID,
	"is-delete-marker":    FieldIsDeleteMarker,
	"bucket":              FieldBucket,
}

var canonicalNames = map[FieldKind]string{
	FieldKey:               "key",
	FieldContentLength:     "content-length",
	FieldContentType:       "content-type",
	FieldLastModified:      "last-modified",
	FieldReplicationStatus: "replication-status",
	FieldLocation:          "location",
	FieldVersionID:         "version-id",
	FieldIsDeleteMarker:    "is-delete-marker",
	FieldBucket:            "bucket",
}

// Field is a field reference in a where clause.
type Field struct {
	// Kind says which field.
	Kind FieldKind
	// Name is the metadata name (FieldMeta, lower case) or tag key
	// (FieldTag); empty otherwise.
	Name string
	// Pos is the byte offset of the field in the input.
	Pos int
}

// Type returns the type the field's values compare as.
func (f Field) Type() ValueType {
	switch f.Kind {
	case FieldContentLength:
		return TypeNumber
	case FieldLastModified:
		return TypeDate
	case FieldIsDeleteMarker:
		return TypeBool
	case FieldMeta, FieldTag:
		return TypeDynamic
	default:
		return TypeString
	}
}

// String returns the field's canonical name: "key", "x-amz-meta-color",
// "tags.team", "location" (for x-amz-storage-class too).
func (f Field) String() string {
	switch f.Kind {
	case FieldMeta:
		return MetaPrefix + f.Name
	case FieldTag:
		return TagPrefix + f.Name
	case FieldReplicationDest:
		return ReplicationDestPrefix + f.Name
	default:
		return canonicalNames[f.Kind]
	}
}

// LookupField resolves a field name as written in a query (case-insensitive
// except for tag keys and destination names). It reports false for an
// unknown name or an empty metadata, tag or destination name.
func LookupField(name string) (Field, bool) {
	lower := strings.ToLower(name)
	if k, ok := fixedFields[lower]; ok {
		return Field{Kind: k}, true
	}
	if rest, ok := strings.CutPrefix(lower, MetaPrefix); ok && rest != "" {
		return Field{Kind: FieldMeta, Name: rest}, true
	}
	if strings.HasPrefix(lower, TagPrefix) && len(name) > len(TagPrefix) {
		return Field{Kind: FieldTag, Name: name[len(TagPrefix):]}, true
	}
	if strings.HasPrefix(lower, ReplicationDestPrefix) && len(name) > len(ReplicationDestPrefix) {
		return Field{Kind: FieldReplicationDest, Name: name[len(ReplicationDestPrefix):]}, true
	}
	return Field{}, false
}

// TypedField is a metadata or tag field name that a bucket may declare a
// type for: "x-amz-meta-<name>" or "tags.<name>". ParseTypedField accepts
// those forms and returns the Field; anything else reports false.
func ParseTypedField(name string) (Field, bool) {
	f, ok := LookupField(name)
	if !ok || (f.Kind != FieldMeta && f.Kind != FieldTag) {
		return Field{}, false
	}
	return f, true
}
