package sqlcore

import (
	"reflect"
	"testing"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
)

var replicationColumns = []struct {
	name string
	in   string
	want map[string]meta.DestinationStatus
	ok   bool
}{
	{"empty", "", nil, true},
	{"bare statuses (PutObject's form)", `{"east":"PENDING","west":"COMPLETED"}`,
		map[string]meta.DestinationStatus{"east": {Status: "PENDING"}, "west": {Status: "COMPLETED"}}, true},
	{"detail", `{"east":{"status":"FAILED","sequencer":"00000000000000FF","time":1767225600000001,"error":"down"}}`,
		map[string]meta.DestinationStatus{"east": {Status: "FAILED", Sequencer: "00000000000000FF",
			Time: time.Date(2026, 1, 1, 0, 0, 0, 1000, time.UTC), Error: "down"}}, true},
	{"mixed", `{"a":"PENDING","b":{"status":"COMPLETED"}}`,
		map[string]meta.DestinationStatus{"a": {Status: "PENDING"}, "b": {Status: "COMPLETED"}}, true},
	{"not an object", `["PENDING"]`, nil, false},
	{"bad value", `{"a":3}`, nil, false},
	{"truncated", `{"a":{"status":`, nil, false},
}

func TestReplicationColumn(t *testing.T) {
	for _, tc := range replicationColumns {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeReplication(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("decode error %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("decode = %+v, want %+v", got, tc.want)
			}
			if !tc.ok {
				return
			}
			enc, err := encodeReplication(got)
			if err != nil {
				t.Fatal(err)
			}
			back, err := decodeReplication(enc)
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("round trip %q = %+v, %v", enc, back, err)
			}
		})
	}
}

// FuzzDecodeReplication: any column value decodes or fails without
// panicking, and what decodes survives an encode/decode round trip.
func FuzzDecodeReplication(f *testing.F) {
	for _, tc := range replicationColumns {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := decodeReplication(in)
		if err != nil {
			return
		}
		st, err := decodeReplicationStatuses(in)
		if err != nil || len(st) != len(got) {
			t.Fatalf("statuses %v (%v) disagree with %+v", st, err, got)
		}
		enc, err := encodeReplication(got)
		if err != nil {
			return // invalid UTF-8 cannot always be re-encoded as it was
		}
		back, err := decodeReplication(enc)
		if err != nil || len(back) != len(got) {
			t.Fatalf("round trip of %q: %+v, %v", enc, back, err)
		}
		for k, d := range got {
			if back[k].Status != d.Status || back[k].Sequencer != d.Sequencer || back[k].Error != d.Error || !back[k].Time.Equal(d.Time) {
				t.Fatalf("round trip of %q changed %q: %+v → %+v", in, k, d, back[k])
			}
		}
	})
}
