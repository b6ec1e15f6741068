package events

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// awkwardKey exercises every encoding layer: spaces at both ends, "+", "%",
// "/", a newline, a quote and non-ASCII.
const awkwardKey = "  photos/2024/my cat (1) \"ü\"+100%\n.jpg "

// sampleRecord returns a fully populated record already in WithDefaults form,
// so round trips must return it unchanged.
func sampleRecord() Record {
	r := Record{
		EventVersion:      "2.1",
		EventSource:       DefaultEventSource,
		AWSRegion:         "eu-west-1",
		EventTime:         time.Date(2024, 5, 1, 12, 34, 56, 789_000_000, time.UTC),
		EventName:         ObjectCreatedPut,
		UserIdentity:      UserIdentity{PrincipalID: "AIDAEXAMPLE"},
		RequestParameters: RequestParameters{SourceIPAddress: "127.0.0.1"},
		ResponseElements:  ResponseElements{RequestID: "C3D13FE58DE4C810", HostID: "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
		S3: S3Entity{
			SchemaVersion:   "1.0",
			ConfigurationID: "thumbnails",
			Bucket: BucketEntity{
				Name:          "photos.example",
				OwnerIdentity: UserIdentity{PrincipalID: "A3NL1KOZZKEXAMPLE"},
				ARN:           "arn:aws:s3:::photos.example",
			},
			Object: ObjectEntity{
				Size:      1024,
				ETag:      "d41d8cd98f00b204e9800998ecf8427e",
				VersionID: "096fKKXTRTtl3on89fVO.nfljtsv6qko",
				Sequencer: "0055AED6DCD90281E5",
			},
		},
		Sluice: &SluiceData{
			Location:          "local-fs",
			ContentType:       "image/jpeg",
			UserMetadata:      map[string]string{"camera": "x100"},
			Tags:              map[string]string{"project": "blue", "team": "imaging"},
			ReplicationStatus: "PENDING",
		},
	}
	r.SetObjectKey(awkwardKey)
	return r
}

// jsonEqual fails t unless a and b marshal to the same JSON (this compares
// times by instant and treats nil and empty maps alike, as the wire does).
func jsonEqual(t *testing.T, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("marshal got: %v", err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("marshal want: %v", err)
	}
	if string(g) != string(w) {
		t.Fatalf("mismatch\n got: %s\nwant: %s", g, w)
	}
}

// sentinels are the errors every failure of this package must wrap one of.
var sentinels = []error{
	ErrUnknownEventName, ErrInvalidKey, ErrInvalidRecord, ErrInvalidEvent,
	ErrNotS3Event, ErrMalformed, ErrMissingAttribute, ErrSpecVersion,
}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
