package events

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// CloudEvents mapping, per the CloudEvents "AWS S3 adapter".
const (
	// TypePrefix starts the type of every S3 CloudEvent; the event name
	// follows: "com.amazonaws.s3.ObjectCreated:Put".
	TypePrefix = "com.amazonaws.s3."
	// DataContentType is the datacontenttype of Sluice events: the data is
	// one record as JSON.
	DataContentType = "application/json"
	// SpecVersion is the only CloudEvents version Sluice reads and writes.
	SpecVersion = event.CloudEventsVersionV1

	// ExtSequencer is the extension attribute holding s3.object.sequencer.
	ExtSequencer = "sequencer"
	// ExtVersionID is the extension attribute holding s3.object.versionId.
	ExtVersionID = "versionid"
	// ExtLocation is the extension attribute holding sluice.location.
	ExtLocation = "location"
)

// Type returns the CloudEvents type for an event name.
func Type(name EventName) string { return TypePrefix + string(name) }

// Source returns the CloudEvents source for a record's origin:
// eventSource + "." + region + "." + bucket ("sluice:s3.us-east-1.photos").
// Bytes a URI reference cannot hold (possible only in foreign values) are
// percent-encoded, so the result always parses as a URI reference and
// survives every wire form unchanged; S3 bucket names and regions never need
// it.
func Source(eventSource, region, bucket string) string {
	s := eventSource + "." + region + "." + bucket
	if e := escapeSource(s, true); parsesAs(e) {
		return e
	}
	return escapeSource(s, false) // no ':' left: a plain relative reference
}

// escapeSource percent-encodes every byte of s that is not unreserved in
// RFC 3986 (nor ':' when keepColon).
func escapeSource(s string, keepColon bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (keepColon && c == ':') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}

// parsesAs reports whether s parses as a URI reference that prints as s.
func parsesAs(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.String() == s
}

// ToCloudEvent wraps one record into a CloudEvent (spec 1.0). id is the
// event's unique id: it becomes the CloudEvents id and, on NATS, the
// Nats-Msg-Id used for de-duplication, so a retried publish of the same
// event must reuse it.
//
// The record is first completed with Record.WithDefaults; the event's data is
// that completed record, so RecordFromCloudEvent returns exactly it. Attributes:
// type = TypePrefix + eventName, source = Source(eventSource, awsRegion,
// bucket), subject = the decoded object key (omitted if it is only
// whitespace, which CloudEvents forbids), time = eventTime, datacontenttype =
// DataContentType, and the extensions ExtSequencer, ExtVersionID and
// ExtLocation when the record has them.
//
// It returns an error wrapping ErrInvalidRecord (see Record.Validate) or
// ErrInvalidEvent (empty id, a source that is not a URI reference).
func ToCloudEvent(id string, rec Record) (event.Event, error) {
	if strings.TrimSpace(id) == "" {
		return event.Event{}, fmt.Errorf("%w: empty event id", ErrInvalidEvent)
	}
	rec = rec.WithDefaults()
	if err := rec.Validate(); err != nil {
		return event.Event{}, err
	}
	key, _ := rec.ObjectKey() // Validate checked it decodes.
	data, err := json.Marshal(rec)
	if err != nil {
		return event.Event{}, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	src, err := url.Parse(Source(rec.EventSource, rec.AWSRegion, rec.Bucket()))
	if err != nil {
		return event.Event{}, fmt.Errorf("%w: source: %w", ErrInvalidEvent, err)
	}
	ct := DataContentType
	ec := &event.EventContextV1{
		ID:              id,
		Source:          types.URIRef{URL: *src},
		Type:            Type(rec.EventName),
		DataContentType: &ct,
		Time:            &types.Timestamp{Time: rec.EventTime},
	}
	// Set directly: EventContextV1.SetSubject would trim the key.
	if strings.TrimSpace(key) != "" {
		ec.Subject = &key
	}
	for name, v := range map[string]string{
		ExtSequencer: rec.S3.Object.Sequencer,
		ExtVersionID: rec.S3.Object.VersionID,
		ExtLocation:  rec.Location(),
	} {
		if v != "" {
			if err := ec.SetExtension(name, v); err != nil {
				return event.Event{}, fmt.Errorf("%w: extension %s: %w", ErrInvalidEvent, name, err)
			}
		}
	}
	e := event.Event{Context: ec, DataEncoded: data}
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return e, nil
}

// RecordFromCloudEvent returns the record an S3 CloudEvent carries. The data
// is authoritative; the attributes must agree with it where they overlap:
// type must be TypePrefix + eventName, and subject (when present) the decoded
// key, and the extensions ExtSequencer, ExtVersionID and ExtLocation (when
// present) the record's values. Source and time are not compared.
//
// It never panics. It returns an error wrapping ErrSpecVersion (not 1.0),
// ErrNotS3Event (type without TypePrefix), or ErrInvalidRecord (no data,
// non-JSON content type or data, a record failing Record.Validate, or a
// disagreement with the attributes).
func RecordFromCloudEvent(e event.Event) (Record, error) {
	if !hasContext(e) {
		return Record{}, fmt.Errorf("%w: %w: no context", ErrInvalidRecord, ErrSpecVersion)
	}
	if v := e.SpecVersion(); v != SpecVersion {
		return Record{}, fmt.Errorf("%w: %q", ErrSpecVersion, v)
	}
	name, ok := strings.CutPrefix(e.Type(), TypePrefix)
	if !ok {
		return Record{}, fmt.Errorf("%w: type %q", ErrNotS3Event, e.Type())
	}
	if mt := e.DataMediaType(); mt != "" && !isJSONMediaType(mt) {
		return Record{}, fmt.Errorf("%w: datacontenttype %q is not JSON", ErrInvalidRecord, mt)
	}
	data := e.Data()
	if len(data) == 0 {
		return Record{}, fmt.Errorf("%w: event has no data", ErrInvalidRecord)
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return Record{}, fmt.Errorf("%w: data: %w", ErrInvalidRecord, err)
	}
	if err := rec.Validate(); err != nil {
		return Record{}, err
	}
	if string(rec.EventName) != name {
		return Record{}, fmt.Errorf("%w: type %q disagrees with eventName %q", ErrInvalidRecord, e.Type(), rec.EventName)
	}
	key, _ := rec.ObjectKey() // Validate checked it decodes.
	if s := e.Subject(); s != "" && s != key {
		return Record{}, fmt.Errorf("%w: subject %q disagrees with object key %q", ErrInvalidRecord, s, key)
	}
	exts := e.Extensions()
	for _, x := range []struct{ name, want string }{
		{ExtSequencer, rec.S3.Object.Sequencer},
		{ExtVersionID, rec.S3.Object.VersionID},
		{ExtLocation, rec.Location()},
	} {
		v, ok := exts[x.name]
		if !ok {
			continue
		}
		got, err := types.Format(v)
		if err != nil || got != x.want {
			return Record{}, fmt.Errorf("%w: extension %s=%v disagrees with record value %q", ErrInvalidRecord, x.name, v, x.want)
		}
	}
	return rec, nil
}

// isJSONMediaType reports whether a media type (already without parameters)
// is JSON: application/json or any "+json" type.
func isJSONMediaType(mt string) bool {
	mt = strings.ToLower(mt)
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// hasContext reports whether e has a usable context: not nil, and not a nil
// pointer, whose methods would panic.
func hasContext(e event.Event) bool {
	switch c := e.Context.(type) {
	case nil:
		return false
	case *event.EventContextV1:
		return c != nil
	case *event.EventContextV03:
		return c != nil
	default:
		return true
	}
}
