package events

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults applied by Record.WithDefaults (and so by ToCloudEvent).
const (
	// DefaultEventSource is the eventSource of records Sluice produces (AWS
	// writes "aws:s3").
	DefaultEventSource = "sluice:s3"
	// DefaultEventVersion is the record structure version Sluice writes: the
	// AWS 2.1 layout. Readers accept any "2.x".
	DefaultEventVersion = "2.1"
	// DefaultS3SchemaVersion is the s3.s3SchemaVersion AWS writes.
	DefaultS3SchemaVersion = "1.0"
	// TimeLayout is how AWS writes eventTime: UTC, millisecond precision.
	TimeLayout = "2006-01-02T15:04:05.000Z"
)

// Records is the envelope AWS delivers notifications in: {"Records":[...]}.
// Sluice events carry one record each; handlers written for S3 can wrap it
// with Records{Records: []Record{rec}}.
type Records struct {
	Records []Record `json:"Records"`
}

// Record is one S3 event notification record (eventVersion 2.x), with AWS's
// JSON field names, plus Sluice's own fields under "sluice".
//
// As in AWS, S3.Object.Key holds the key URL-encoded (form encoding: a space
// is "+"); use ObjectKey and SetObjectKey to read and write the real key.
// eventTime is written in AWS's layout (TimeLayout), so it keeps millisecond
// precision; WithDefaults truncates it accordingly.
type Record struct {
	EventVersion       string              `json:"eventVersion"`
	EventSource        string              `json:"eventSource"`
	AWSRegion          string              `json:"awsRegion"`
	EventTime          time.Time           `json:"eventTime"`
	EventName          EventName           `json:"eventName"`
	UserIdentity       UserIdentity        `json:"userIdentity"`
	RequestParameters  RequestParameters   `json:"requestParameters"`
	ResponseElements   ResponseElements    `json:"responseElements"`
	S3                 S3Entity            `json:"s3"`
	GlacierEventData   *GlacierEventData   `json:"glacierEventData,omitempty"`
	LifecycleEventData *LifecycleEventData `json:"lifecycleEventData,omitempty"`
	// Sluice holds Sluice's extensions; AWS handlers ignore it.
	Sluice *SluiceData `json:"sluice,omitempty"`
}

// UserIdentity names who caused the event.
type UserIdentity struct {
	PrincipalID string `json:"principalId"`
}

// RequestParameters describes the request that caused the event.
type RequestParameters struct {
	SourceIPAddress string `json:"sourceIPAddress"`
}

// ResponseElements carries the request's ids.
type ResponseElements struct {
	RequestID string `json:"x-amz-request-id"`
	HostID    string `json:"x-amz-id-2"`
}

// S3Entity is the "s3" object of a record.
type S3Entity struct {
	SchemaVersion   string       `json:"s3SchemaVersion"`
	ConfigurationID string       `json:"configurationId"`
	Bucket          BucketEntity `json:"bucket"`
	Object          ObjectEntity `json:"object"`
}

// BucketEntity names the bucket.
type BucketEntity struct {
	Name          string       `json:"name"`
	OwnerIdentity UserIdentity `json:"ownerIdentity"`
	ARN           string       `json:"arn"`
}

// ObjectEntity describes the object. Key is URL-encoded (see Record).
// Sequencer orders events for one key: compare with CompareSequencers.
type ObjectEntity struct {
	Key       string `json:"key"`
	Size      int64  `json:"size,omitempty"`
	ETag      string `json:"eTag,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	Sequencer string `json:"sequencer,omitempty"`
}

// GlacierEventData is present on ObjectRestore:Completed events.
type GlacierEventData struct {
	RestoreEventData RestoreEventData `json:"restoreEventData"`
}

// RestoreEventData says until when a restored copy stays and its class.
type RestoreEventData struct {
	LifecycleRestorationExpiryTime time.Time `json:"lifecycleRestorationExpiryTime"`
	LifecycleRestoreStorageClass   string    `json:"lifecycleRestoreStorageClass"`
}

// LifecycleEventData is present on LifecycleTransition events (AWS 2.3).
type LifecycleEventData struct {
	TransitionEventData TransitionEventData `json:"transitionEventData"`
}

// TransitionEventData names where a transition moved the object. In Sluice the
// storage class is a location name.
type TransitionEventData struct {
	DestinationStorageClass string `json:"destinationStorageClass"`
}

// SluiceData holds Sluice's extensions to the AWS record. Empty maps are
// omitted, so they read back as nil.
type SluiceData struct {
	// Source names the store the event came from: "" for Sluice's own
	// s3front, or an ingest feed name for foreign stores.
	Source string `json:"source,omitempty"`
	// Location is the name of the location holding the object's data.
	Location string `json:"location,omitempty"`
	// ContentType is the object's Content-Type.
	ContentType string `json:"contentType,omitempty"`
	// UserMetadata maps user metadata names (lower case, without the
	// "x-amz-meta-" prefix) to values.
	UserMetadata map[string]string `json:"userMetadata,omitempty"`
	// Tags are the object's tags.
	Tags map[string]string `json:"tags,omitempty"`
	// ReplicationStatus is the S3 replication status (PENDING, COMPLETED,
	// FAILED, REPLICA) if replication applies.
	ReplicationStatus string `json:"replicationStatus,omitempty"`
	// Replication maps each replication destination (a location name) that
	// the object's rules select to its status when the event was made:
	// PENDING for a new version.
	Replication map[string]string `json:"replication,omitempty"`
}

// MarshalJSON writes the record with eventTime in AWS's layout (TimeLayout).
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record // no methods: no recursion
	return json.Marshal(struct {
		plain
		EventTime string `json:"eventTime"` // shadows plain.EventTime
	}{plain(r), FormatTime(r.EventTime)})
}

// MarshalJSON writes the expiry time in AWS's layout (TimeLayout).
func (d RestoreEventData) MarshalJSON() ([]byte, error) {
	type plain RestoreEventData
	return json.Marshal(struct {
		plain
		Expiry string `json:"lifecycleRestorationExpiryTime"`
	}{plain(d), FormatTime(d.LifecycleRestorationExpiryTime)})
}

// FormatTime formats t as AWS writes event times: UTC with milliseconds.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// EncodeKey URL-encodes an object key the way AWS writes it in records: form
// encoding (space as "+", other reserved bytes as %XX) except that "/" is kept.
// DecodeKey(EncodeKey(k)) == k for every string k.
func EncodeKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}

// DecodeKey reverses EncodeKey; it also accepts keys from other encoders
// (MinIO's "%2F", Java's literal "*"). It returns an error wrapping
// ErrInvalidKey for malformed escapes.
func DecodeKey(encoded string) (string, error) {
	k, err := url.QueryUnescape(encoded)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return k, nil
}

// ObjectKey returns the record's real (decoded) object key. It returns an
// error wrapping ErrInvalidKey if the stored key is not valid encoding.
func (r Record) ObjectKey() (string, error) { return DecodeKey(r.S3.Object.Key) }

// SetObjectKey stores key, URL-encoded, in the record.
func (r *Record) SetObjectKey(key string) { r.S3.Object.Key = EncodeKey(key) }

// Bucket returns the bucket name.
func (r Record) Bucket() string { return r.S3.Bucket.Name }

// Location returns the Sluice location of the object's data, or "".
func (r Record) Location() string {
	if r.Sluice == nil {
		return ""
	}
	return r.Sluice.Location
}

// WithDefaults returns a copy of r with empty eventVersion, eventSource,
// s3SchemaVersion and bucket ARN filled in, and eventTime in UTC truncated to
// milliseconds (the precision it is written with).
func (r Record) WithDefaults() Record {
	if r.EventVersion == "" {
		r.EventVersion = DefaultEventVersion
	}
	if r.EventSource == "" {
		r.EventSource = DefaultEventSource
	}
	if r.S3.SchemaVersion == "" {
		r.S3.SchemaVersion = DefaultS3SchemaVersion
	}
	if r.S3.Bucket.ARN == "" && r.S3.Bucket.Name != "" {
		r.S3.Bucket.ARN = "arn:aws:s3:::" + r.S3.Bucket.Name
	}
	r.EventTime = r.EventTime.UTC().Truncate(time.Millisecond)
	return r
}

// Validate checks what every consumer relies on: a known event name, an
// eventVersion "2.x", an eventSource, an eventTime in years 1-9999, a bucket name, a
// well-encoded key (non-empty except for TestEvent) and a non-negative size.
// It returns an error wrapping ErrInvalidRecord, plus ErrUnknownEventName or
// ErrInvalidKey when those are the cause.
func (r Record) Validate() error {
	if !r.EventName.Valid() {
		return fmt.Errorf("%w: %w: %q", ErrInvalidRecord, ErrUnknownEventName, r.EventName)
	}
	if !strings.HasPrefix(r.EventVersion, "2.") {
		return fmt.Errorf("%w: eventVersion %q is not 2.x", ErrInvalidRecord, r.EventVersion)
	}
	if r.EventSource == "" {
		return fmt.Errorf("%w: empty eventSource", ErrInvalidRecord)
	}
	if r.EventTime.IsZero() {
		return fmt.Errorf("%w: missing eventTime", ErrInvalidRecord)
	}
	if y := r.EventTime.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%w: eventTime year %d outside 1-9999", ErrInvalidRecord, y)
	}
	if r.S3.Bucket.Name == "" {
		return fmt.Errorf("%w: empty bucket name", ErrInvalidRecord)
	}
	key, err := r.ObjectKey()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	if key == "" && r.EventName != TestEvent {
		return fmt.Errorf("%w: empty object key", ErrInvalidRecord)
	}
	if r.S3.Object.Size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrInvalidRecord, r.S3.Object.Size)
	}
	return nil
}

// CompareSequencers orders two sequencers of the same object key by their
// hexadecimal value (the greater one is the later event): the shorter is
// left-padded with zeros, then the two are compared as upper-case strings.
// Sluice's own sequencers have a fixed width, so this is plain string order.
// It returns -1, 0 or +1. An empty sequencer sorts first.
func CompareSequencers(a, b string) int {
	if n := len(b) - len(a); n > 0 {
		a = strings.Repeat("0", n) + a
	} else if n < 0 {
		b = strings.Repeat("0", -n) + b
	}
	return strings.Compare(strings.ToUpper(a), strings.ToUpper(b))
}
