package status

import (
	"errors"
	"testing"
)

var statusCases = []struct {
	name, in string
	ok       bool
}{
	{"completed", `{"bucket":"b","key":"k","destination":"aws","status":"COMPLETED","time":"2026-01-01T00:00:00Z","lagSeconds":0.2}`, true},
	{"failed", `{"bucket":"b","key":"k","destination":"aws","status":"FAILED","error":"boom","time":"2026-01-01T00:00:00Z","lagSeconds":1}`, true},
	{"pending is not a result", `{"bucket":"b","key":"k","destination":"aws","status":"PENDING"}`, false},
	{"no key", `{"bucket":"b","destination":"aws","status":"FAILED"}`, false},
	{"not json", `{"bucket"`, false},
}

func TestDecodeStatus(t *testing.T) {
	for _, tc := range statusCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in))
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("DecodeStatus = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func FuzzDecodeStatus(f *testing.F) {
	for _, tc := range statusCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err == nil && (s.Bucket == "" || s.Key == "" || s.Destination == "") {
			t.Fatalf("accepted incomplete status %+v", s)
		}
	})
}

func TestSubject(t *testing.T) {
	tests := []struct{ bucket, want string }{
		{"photos", "sluice.status.replication.photos"},
		{"photos.2024", "sluice.status.replication.photos%2E2024"},
	}
	for _, tc := range tests {
		got, err := Subject(tc.bucket)
		if err != nil || got != tc.want {
			t.Fatalf("Subject(%q) = %q, %v; want %q", tc.bucket, got, err, tc.want)
		}
	}
	if _, err := Subject(""); err == nil {
		t.Fatal("empty bucket accepted")
	}
	if err := StreamSpec(0).Validate(); err != nil {
		t.Fatalf("StreamSpec: %v", err)
	}
}
