package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var keyCases = []struct {
	key, encoded string
}{
	{"HappyFace.jpg", "HappyFace.jpg"},
	{"my photo.jpg", "my+photo.jpg"},
	{"a/b/c.txt", "a/b/c.txt"},
	{"a+b", "a%2Bb"},
	{"100%.txt", "100%25.txt"},
	{"ü", "%C3%BC"},
	{"x=1&y=2", "x%3D1%26y%3D2"},
	{"line\nbreak", "line%0Abreak"},
	{"", ""},
}

func TestEncodeDecodeKey(t *testing.T) {
	for _, c := range keyCases {
		if got := EncodeKey(c.key); got != c.encoded {
			t.Errorf("EncodeKey(%q) = %q, want %q", c.key, got, c.encoded)
		}
		got, err := DecodeKey(c.encoded)
		if err != nil || got != c.key {
			t.Errorf("DecodeKey(%q) = %q, %v; want %q", c.encoded, got, err, c.key)
		}
	}
	// Other encoders' forms decode too.
	for enc, want := range map[string]string{"a%2Fb": "a/b", "a*b": "a*b", "a%20b": "a b", "%7e": "~"} {
		if got, err := DecodeKey(enc); err != nil || got != want {
			t.Errorf("DecodeKey(%q) = %q, %v; want %q", enc, got, err, want)
		}
	}
	for _, bad := range []string{"%", "%zz", "a%4"} {
		if _, err := DecodeKey(bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("DecodeKey(%q) error = %v, want ErrInvalidKey", bad, err)
		}
	}
}

func FuzzKeyRoundTrip(f *testing.F) {
	for _, c := range keyCases {
		f.Add(c.key)
		f.Add(c.encoded)
	}
	f.Add(awkwardKey)
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := DecodeKey(EncodeKey(s)); err != nil || got != s {
			t.Fatalf("DecodeKey(EncodeKey(%q)) = %q, %v", s, got, err)
		}
		if _, err := DecodeKey(s); err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("DecodeKey(%q): unwrapped error %v", s, err)
		}
	})
}

// TestRecordJSONShape pins the AWS field names and formats.
func TestRecordJSONShape(t *testing.T) {
	r := sampleRecord()
	r.GlacierEventData = &GlacierEventData{RestoreEventData: RestoreEventData{
		LifecycleRestorationExpiryTime: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC),
		LifecycleRestoreStorageClass:   "Standard",
	}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	get := func(path string) any {
		var v any = m
		for _, p := range strings.Split(path, ".") {
			mm, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = mm[p]
		}
		return v
	}
	for path, want := range map[string]any{
		"eventVersion":                        "2.1",
		"eventSource":                         "sluice:s3",
		"awsRegion":                           "eu-west-1",
		"eventTime":                           "2024-05-01T12:34:56.789Z",
		"eventName":                           "ObjectCreated:Put",
		"userIdentity.principalId":            "AIDAEXAMPLE",
		"requestParameters.sourceIPAddress":   "127.0.0.1",
		"responseElements.x-amz-request-id":   "C3D13FE58DE4C810",
		"s3.s3SchemaVersion":                  "1.0",
		"s3.configurationId":                  "thumbnails",
		"s3.bucket.name":                      "photos.example",
		"s3.bucket.ownerIdentity.principalId": "A3NL1KOZZKEXAMPLE",
		"s3.bucket.arn":                       "arn:aws:s3:::photos.example",
		"s3.object.key":                       "++photos/2024/my+cat+%281%29+%22%C3%BC%22%2B100%25%0A.jpg+",
		"s3.object.size":                      1024.0,
		"s3.object.eTag":                      "d41d8cd98f00b204e9800998ecf8427e",
		"s3.object.versionId":                 "096fKKXTRTtl3on89fVO.nfljtsv6qko",
		"s3.object.sequencer":                 "0055AED6DCD90281E5",
		"glacierEventData.restoreEventData.lifecycleRestorationExpiryTime": "2024-06-01T00:00:00.000Z",
		"glacierEventData.restoreEventData.lifecycleRestoreStorageClass":   "Standard",
		"sluice.location":            "local-fs",
		"sluice.tags.team":           "imaging",
		"sluice.userMetadata.camera": "x100",
	} {
		if got := get(path); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	// Optional parts disappear when empty.
	r = sampleRecord()
	r.Sluice = nil
	r.S3.Object.VersionID = ""
	b, _ = json.Marshal(r)
	for _, absent := range []string{`"sluice"`, `"glacierEventData"`, `"lifecycleEventData"`, `"versionId"`} {
		if strings.Contains(string(b), absent) {
			t.Errorf("JSON has %s: %s", absent, b)
		}
	}
}

// awsSample is an S3 notification as AWS documents it.
const awsSample = `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-west-2",
"eventTime":"1970-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put",
"userIdentity":{"principalId":"AIDAJDPLRKLG7UEXAMPLE"},
"requestParameters":{"sourceIPAddress":"127.0.0.1"},
"responseElements":{"x-amz-request-id":"C3D13FE58DE4C810","x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
"s3":{"s3SchemaVersion":"1.0","configurationId":"testConfigRule",
"bucket":{"name":"mybucket","ownerIdentity":{"principalId":"A3NL1KOZZKExample"},"arn":"arn:aws:s3:::mybucket"},
"object":{"key":"Happy+Face.jpg","size":1024,"eTag":"d41d8cd98f00b204e9800998ecf8427e","versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko","sequencer":"0055AED6DCD90281E5"}},
"glacierEventData":{"restoreEventData":{"lifecycleRestorationExpiryTime":"1970-01-01T00:00:00.000Z","lifecycleRestoreStorageClass":"Standard"}}}]}`

func TestParseAWSNotification(t *testing.T) {
	var rs Records
	if err := json.Unmarshal([]byte(awsSample), &rs); err != nil {
		t.Fatal(err)
	}
	if len(rs.Records) != 1 {
		t.Fatalf("got %d records", len(rs.Records))
	}
	r := rs.Records[0]
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	key, err := r.ObjectKey()
	if err != nil || key != "Happy Face.jpg" {
		t.Errorf("ObjectKey = %q, %v", key, err)
	}
	if r.EventName != ObjectCreatedPut || r.Bucket() != "mybucket" || r.S3.Object.Size != 1024 ||
		r.ResponseElements.HostID == "" || r.GlacierEventData.RestoreEventData.LifecycleRestoreStorageClass != "Standard" {
		t.Errorf("unexpected record %+v", r)
	}
	// Marshaling back gives AWS's own text for the fields AWS sent.
	b, _ := json.Marshal(rs)
	var back, orig any
	_ = json.Unmarshal(b, &back)
	_ = json.Unmarshal([]byte(awsSample), &orig)
	jsonEqual(t, back, orig)
}

func TestRecordValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Record)
		want   error // nil: valid
	}{
		{"sample", func(*Record) {}, nil},
		{"test event without key", func(r *Record) { r.EventName = TestEvent; r.S3.Object.Key = "" }, nil},
		{"unknown name", func(r *Record) { r.EventName = "ObjectCreated:Bogus" }, ErrUnknownEventName},
		{"s3 prefix in eventName", func(r *Record) { r.EventName = "s3:ObjectCreated:Put" }, ErrUnknownEventName},
		{"version 1", func(r *Record) { r.EventVersion = "1.0" }, ErrInvalidRecord},
		{"no source", func(r *Record) { r.EventSource = "" }, ErrInvalidRecord},
		{"no time", func(r *Record) { r.EventTime = time.Time{} }, ErrInvalidRecord},
		{"year 10000", func(r *Record) { r.EventTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, ErrInvalidRecord},
		{"no bucket", func(r *Record) { r.S3.Bucket.Name = "" }, ErrInvalidRecord},
		{"no key", func(r *Record) { r.S3.Object.Key = "" }, ErrInvalidRecord},
		{"bad key", func(r *Record) { r.S3.Object.Key = "%zz" }, ErrInvalidKey},
		{"negative size", func(r *Record) { r.S3.Object.Size = -1 }, ErrInvalidRecord},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sampleRecord()
			c.mutate(&r)
			err := r.Validate()
			if c.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) || !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("Validate = %v, want %v wrapped in ErrInvalidRecord", err, c.want)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	r := Record{EventName: ObjectRemovedDelete, EventTime: time.Date(2024, 1, 2, 3, 4, 5, 6_789_999, time.FixedZone("x", 3600))}
	r.S3.Bucket.Name = "b"
	r.SetObjectKey("k")
	d := r.WithDefaults()
	if d.EventVersion != DefaultEventVersion || d.EventSource != DefaultEventSource ||
		d.S3.SchemaVersion != DefaultS3SchemaVersion || d.S3.Bucket.ARN != "arn:aws:s3:::b" {
		t.Errorf("defaults not applied: %+v", d)
	}
	if want := time.Date(2024, 1, 2, 2, 4, 5, 6_000_000, time.UTC); !d.EventTime.Equal(want) || d.EventTime.Location() != time.UTC {
		t.Errorf("EventTime = %v, want %v", d.EventTime, want)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	// Given values are kept.
	s := sampleRecord()
	s.EventSource = "aws:s3"
	if got := s.WithDefaults(); got.EventSource != "aws:s3" {
		t.Errorf("EventSource overwritten: %q", got.EventSource)
	}
}

func TestCompareSequencers(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"0055AED6DCD90281E5", "0055AED6DCD90281E5", 0},
		{"0055AED6DCD90281E5", "0055AED6DCD90281E6", -1},
		{"FF", "0100", -1},
		{"100", "FF", 1},
		{"ab", "AB", 0},
		{"", "01", -1},
	} {
		if got := CompareSequencers(c.a, c.b); got != c.want {
			t.Errorf("CompareSequencers(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := CompareSequencers(c.b, c.a); got != -c.want {
			t.Errorf("CompareSequencers(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}
