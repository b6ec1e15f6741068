package events

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

const sampleID = "0b5a0f6e-3f5c-4f57-9d8e-2b7f5b1a9c01"

func TestToCloudEventAttributes(t *testing.T) {
	rec := sampleRecord()
	e, err := ToCloudEvent(sampleID, rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ attr, got, want string }{
		{"specversion", e.SpecVersion(), "1.0"},
		{"id", e.ID(), sampleID},
		{"type", e.Type(), "com.amazonaws.s3.ObjectCreated:Put"},
		{"source", e.Source(), "sluice:s3.eu-west-1.photos.example"},
		{"subject", e.Subject(), awkwardKey},
		{"datacontenttype", e.DataContentType(), "application/json"},
		{"sequencer", e.Extensions()[ExtSequencer].(string), "0055AED6DCD90281E5"},
		{"versionid", e.Extensions()[ExtVersionID].(string), "096fKKXTRTtl3on89fVO.nfljtsv6qko"},
		{"location", e.Extensions()[ExtLocation].(string), "local-fs"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.attr, c.got, c.want)
		}
	}
	if !e.Time().Equal(rec.EventTime) {
		t.Errorf("time = %v, want %v", e.Time(), rec.EventTime)
	}
	back, err := RecordFromCloudEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, back, rec)

	// Without optional values the extensions are absent, defaults applied,
	// and a blank key leaves out the subject.
	min := Record{EventName: ObjectRemovedDelete, EventTime: rec.EventTime}
	min.S3.Bucket.Name = "b"
	min.SetObjectKey("   ")
	e, err = ToCloudEvent("id-1", min)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Extensions()) != 0 || e.Subject() != "" || e.Source() != "sluice:s3..b" {
		t.Errorf("minimal event: extensions %v, subject %q, source %q", e.Extensions(), e.Subject(), e.Source())
	}
	back, err = RecordFromCloudEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, back, min.WithDefaults())
}

func TestSource(t *testing.T) {
	for _, c := range []struct{ src, region, bucket, want string }{
		{"sluice:s3", "us-east-1", "photos.example", "sluice:s3.us-east-1.photos.example"},
		{"aws:s3", "eu-west-1", "my-bucket", "aws:s3.eu-west-1.my-bucket"},
		{"sluice:s3", "", "b", "sluice:s3..b"},
		{"minio:s3", "", "a b/%\x7f", "minio:s3..a%20b%2F%25%7F"},
		{"0%", "", "0", "0%25..0"},       // invalid escape in a foreign eventSource
		{"1:s3", "r", "b", "1%3As3.r.b"}, // not a scheme: ':' escaped too
		{"ceph:s3", "zg", "a#b?c", "ceph:s3.zg.a%23b%3Fc"},
	} {
		got := Source(c.src, c.region, c.bucket)
		if got != c.want {
			t.Errorf("Source(%q, %q, %q) = %q, want %q", c.src, c.region, c.bucket, got, c.want)
		}
		if !parsesAs(got) {
			t.Errorf("Source %q does not parse back", got)
		}
	}
}

func TestToCloudEventErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		id     string
		mutate func(*Record)
		want   error
	}{
		{"empty id", "", func(*Record) {}, ErrInvalidEvent},
		{"blank id", "  ", func(*Record) {}, ErrInvalidEvent},
		{"unknown name", "x", func(r *Record) { r.EventName = "Nope" }, ErrUnknownEventName},
		{"no bucket", "x", func(r *Record) { r.S3.Bucket.Name = "" }, ErrInvalidRecord},
		{"bad key", "x", func(r *Record) { r.S3.Object.Key = "%" }, ErrInvalidKey},
	} {
		r := sampleRecord()
		c.mutate(&r)
		if _, err := ToCloudEvent(c.id, r); !errors.Is(err, c.want) {
			t.Errorf("%s: error = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestRecordFromCloudEventErrors(t *testing.T) {
	good := func(t *testing.T) event.Event {
		e, err := ToCloudEvent(sampleID, sampleRecord())
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	cases := []struct {
		name   string
		mutate func(*event.Event)
		want   error
	}{
		{"no context", func(e *event.Event) { e.Context = nil }, ErrSpecVersion},
		{"nil context pointer", func(e *event.Event) { e.Context = (*event.EventContextV1)(nil) }, ErrSpecVersion},
		{"spec 0.3", func(e *event.Event) { e.Context = e.Context.AsV03() }, ErrSpecVersion},
		{"not s3", func(e *event.Event) { e.SetType("com.example.thing") }, ErrNotS3Event},
		{"type disagrees", func(e *event.Event) { e.SetType(Type(ObjectRemovedDelete)) }, ErrInvalidRecord},
		{"subject disagrees", func(e *event.Event) { s := "other"; e.Context.(*event.EventContextV1).Subject = &s }, ErrInvalidRecord},
		{"sequencer disagrees", func(e *event.Event) { e.SetExtension(ExtSequencer, "00") }, ErrInvalidRecord},
		{"versionid disagrees", func(e *event.Event) { e.SetExtension(ExtVersionID, "v2") }, ErrInvalidRecord},
		{"location disagrees", func(e *event.Event) { e.SetExtension(ExtLocation, "elsewhere") }, ErrInvalidRecord},
		{"sequencer not a string", func(e *event.Event) { e.SetExtension(ExtSequencer, 7) }, ErrInvalidRecord},
		{"xml data", func(e *event.Event) { e.SetDataContentType("application/xml") }, ErrInvalidRecord},
		{"no data", func(e *event.Event) { e.DataEncoded = nil }, ErrInvalidRecord},
		{"not json", func(e *event.Event) { e.DataEncoded = []byte("{") }, ErrInvalidRecord},
		{"json array", func(e *event.Event) { e.DataEncoded = []byte("[]") }, ErrInvalidRecord},
		{"json null", func(e *event.Event) { e.DataEncoded = []byte("null") }, ErrInvalidRecord},
		{"records envelope", func(e *event.Event) { e.DataEncoded = []byte(awsSample) }, ErrInvalidRecord},
		{"bad key in data", func(e *event.Event) {
			e.DataEncoded = []byte(strings.Replace(string(e.DataEncoded), `"key":"`, `"key":"%zz`, 1))
		}, ErrInvalidKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := good(t)
			c.mutate(&e)
			if _, err := RecordFromCloudEvent(e); !errors.Is(err, c.want) {
				t.Fatalf("error = %v, want %v", err, c.want)
			}
		})
	}
	// Attributes it does not compare, and a JSON content type with parameters.
	e := good(t)
	e.SetSource("elsewhere")
	e.SetTime(time.Unix(0, 0))
	e.SetDataContentType("application/json; charset=utf-8")
	if _, err := RecordFromCloudEvent(e); err != nil {
		t.Fatalf("lenient fields: %v", err)
	}
}

// FuzzRecordFromCloudEvent feeds arbitrary attributes and data. It must never
// panic, must fail only with a sentinel, and whatever it accepts must survive
// ToCloudEvent and back.
func FuzzRecordFromCloudEvent(f *testing.F) {
	e, err := ToCloudEvent(sampleID, sampleRecord())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(e.Type(), e.Subject(), e.DataContentType(), "0055AED6DCD90281E5", e.Data())
	f.Add(Type(ObjectCreatedPut), "", "", "", []byte(awsSample))
	f.Add(Type(TestEvent), "", "application/json", "", []byte(`{"eventVersion":"2.0","eventSource":"x","eventTime":"2020-01-01T00:00:00Z","eventName":"TestEvent","s3":{"bucket":{"name":"b"}}}`))
	f.Add("com.amazonaws.s3.", " ", "text/plain", "x", []byte("null"))
	f.Fuzz(func(t *testing.T, typ, subject, ct, seq string, data []byte) {
		ec := &event.EventContextV1{ID: "id", Type: typ}
		if subject != "" {
			ec.Subject = &subject
		}
		if ct != "" {
			ec.DataContentType = &ct
		}
		if seq != "" {
			_ = ec.SetExtension(ExtSequencer, seq)
		}
		rec, err := RecordFromCloudEvent(event.Event{Context: ec, DataEncoded: data})
		if err != nil {
			if !wrapsSentinel(err) {
				t.Fatalf("unwrapped error: %v", err)
			}
			return
		}
		again, err := ToCloudEvent("id", rec)
		if err != nil {
			t.Fatalf("accepted record does not re-encode: %v", err)
		}
		back, err := RecordFromCloudEvent(again)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		jsonEqual(t, back, rec.WithDefaults())
	})
}
