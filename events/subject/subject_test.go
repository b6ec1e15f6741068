package subject

import (
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"

	"github.com/sluice-io/sluice/events"
)

var tokenCases = []struct{ bucket, token string }{
	{"photos", "photos"},
	{"my-bucket_1", "my-bucket_1"},
	{"photos.2024", "photos%2E2024"},
	{"a*b>c", "a%2Ab%3Ec"},
	{"100%", "100%25"},
	{"has space\tand\ttab", "has%20space%09and%09tab"},
	{"ctl\x00\x7f", "ctl%00%7F"},
	{"ü", "%C3%BC"},
	{"\xff", "%FF"},
	{"$JS", "%24JS"},
	{"UPPER.lower", "UPPER%2Elower"},
}

func TestTokens(t *testing.T) {
	for _, c := range tokenCases {
		tok, err := EncodeToken(c.bucket)
		if err != nil || tok != c.token {
			t.Errorf("EncodeToken(%q) = %q, %v; want %q", c.bucket, tok, err, c.token)
		}
		if b, err := DecodeToken(c.token); err != nil || b != c.bucket {
			t.Errorf("DecodeToken(%q) = %q, %v; want %q", c.token, b, err, c.bucket)
		}
	}
	if _, err := EncodeToken(""); !errors.Is(err, ErrEmptyBucket) {
		t.Errorf("EncodeToken(\"\") error = %v", err)
	}
	if _, err := DecodeToken(""); !errors.Is(err, ErrEmptyBucket) {
		t.Errorf("DecodeToken(\"\") error = %v", err)
	}
	// Non-canonical or broken tokens.
	for _, bad := range []string{"%2e", "%41", "%", "%2", "%GG", "a.b", "a*", ">", "a b", "ü"} {
		if _, err := DecodeToken(bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("DecodeToken(%q) error = %v, want ErrInvalidToken", bad, err)
		}
	}
}

func FuzzTokenRoundTrip(f *testing.F) {
	for _, c := range tokenCases {
		f.Add(c.bucket)
		f.Add(c.token)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := EncodeToken(s)
		if s == "" {
			if !errors.Is(err, ErrEmptyBucket) {
				t.Fatalf("EncodeToken(\"\") = %q, %v", tok, err)
			}
		} else {
			if err != nil {
				t.Fatalf("EncodeToken(%q): %v", s, err)
			}
			if back, err := DecodeToken(tok); err != nil || back != s {
				t.Fatalf("DecodeToken(EncodeToken(%q)) = %q, %v", s, back, err)
			}
			// One token, and a literal subject for the NATS server itself.
			if strings.ContainsAny(tok, ".*> \t\r\n") || !server.IsValidLiteralSubject(Prefix+"."+tok+".ObjectCreated.Put") {
				t.Fatalf("token %q is not a single literal subject token", tok)
			}
		}
		// Decoding arbitrary input: canonical, or a wrapped error.
		if b, err := DecodeToken(s); err == nil {
			if again, _ := EncodeToken(b); again != s {
				t.Fatalf("DecodeToken(%q) = %q, which encodes to %q", s, b, again)
			}
		} else if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrEmptyBucket) {
			t.Fatalf("DecodeToken(%q): unwrapped error %v", s, err)
		}
	})
}

var subjectCases = []struct {
	bucket, name, subject string
}{
	{"photos", "ObjectCreated:Put", "sluice.events.photos.ObjectCreated.Put"},
	{"photos.2024", "ObjectRemoved:DeleteMarkerCreated", "sluice.events.photos%2E2024.ObjectRemoved.DeleteMarkerCreated"},
	{"b", "LifecycleTransition", "sluice.events.b.LifecycleTransition._"},
	{"b", "TestEvent", "sluice.events.b.TestEvent._"},
	{"a b", "Replication:OperationNotTracked", "sluice.events.a%20b.Replication.OperationNotTracked"},
}

func TestForEventAndParse(t *testing.T) {
	for _, c := range subjectCases {
		s, err := ForEvent(c.bucket, c.name)
		if err != nil || s != c.subject {
			t.Errorf("ForEvent(%q, %q) = %q, %v; want %q", c.bucket, c.name, s, err, c.subject)
		}
		b, n, err := Parse(c.subject)
		if err != nil || b != c.bucket || n != c.name {
			t.Errorf("Parse(%q) = %q, %q, %v", c.subject, b, n, err)
		}
	}
	// Every known name has a subject that parses back.
	for _, n := range events.AllEventNames() {
		s, err := ForEvent("x.y", string(n))
		if err != nil {
			t.Fatalf("ForEvent(%q): %v", n, err)
		}
		if _, got, err := Parse(s); err != nil || got != string(n) {
			t.Errorf("Parse(%q) = %q, %v", s, got, err)
		}
	}
	for _, c := range []struct {
		bucket, name string
		want         error
	}{
		{"", "ObjectCreated:Put", ErrEmptyBucket},
		{"b", "s3:ObjectCreated:Put", events.ErrUnknownEventName},
		{"b", "ObjectCreated:*", events.ErrUnknownEventName},
		{"b", "ObjectCreated", events.ErrUnknownEventName},
		{"b", "", events.ErrUnknownEventName},
	} {
		if _, err := ForEvent(c.bucket, c.name); !errors.Is(err, c.want) {
			t.Errorf("ForEvent(%q, %q) error = %v, want %v", c.bucket, c.name, err, c.want)
		}
	}
}

var badSubjects = []string{
	"", "sluice.events", "sluice.events.", "other.events.b.ObjectCreated.Put",
	"sluice.events.b.ObjectCreated", "sluice.events.b.ObjectCreated.Put.x",
	"sluice.events..ObjectCreated.Put", "sluice.events.%2e.ObjectCreated.Put",
	"sluice.events.b.ObjectCreated._", "sluice.events.b.LifecycleTransition.Put",
	"sluice.events.b.ObjectCreated.", "sluice.events.b.ObjectCreated.*", "sluice.events.>",
}

func TestParseErrors(t *testing.T) {
	for _, s := range badSubjects {
		if b, n, err := Parse(s); !errors.Is(err, ErrInvalidSubject) && !errors.Is(err, ErrEmptyBucket) {
			t.Errorf("Parse(%q) = %q, %q, %v; want ErrInvalidSubject", s, b, n, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range subjectCases {
		f.Add(c.subject)
	}
	for _, s := range badSubjects {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, n, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSubject) && !errors.Is(err, ErrEmptyBucket) {
				t.Fatalf("Parse(%q): unwrapped error %v", s, err)
			}
			return
		}
		if again, err := ForEvent(b, n); err != nil || again != s {
			t.Fatalf("Parse(%q) = %q, %q but ForEvent gives %q, %v", s, b, n, again, err)
		}
	})
}

// TestFilters checks each filter against real subjects with the NATS
// server's own matcher.
func TestFilters(t *testing.T) {
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	subj := func(bucket, name string) string { return must(ForEvent(bucket, name)) }
	cases := []struct {
		filter    string
		want      string
		match     []string
		dontMatch []string
	}{
		{All(), "sluice.events.>",
			[]string{subj("a", "ObjectCreated:Put"), subj("b.c", "LifecycleTransition")}, nil},
		{must(Bucket("photos.2024")), "sluice.events.photos%2E2024.>",
			[]string{subj("photos.2024", "ObjectCreated:Put"), subj("photos.2024", "LifecycleTransition")},
			[]string{subj("photos", "ObjectCreated:Put"), subj("photos.2025", "ObjectCreated:Put")}},
		{must(Category("ObjectRemoved")), "sluice.events.*.ObjectRemoved.*",
			[]string{subj("a", "ObjectRemoved:Delete"), subj("b.c", "ObjectRemoved:DeleteMarkerCreated")},
			[]string{subj("a", "LifecycleExpiration:Delete"), subj("a", "ObjectCreated:Put")}},
		{must(BucketCategory("a", "LifecycleTransition")), "sluice.events.a.LifecycleTransition.*",
			[]string{subj("a", "LifecycleTransition")}, []string{subj("b", "LifecycleTransition")}},
		{must(ForPattern("a", "s3:ObjectCreated:*")), "sluice.events.a.ObjectCreated.*",
			[]string{subj("a", "ObjectCreated:Put"), subj("a", "ObjectCreated:CompleteMultipartUpload")},
			[]string{subj("a", "ObjectRemoved:Delete"), subj("b", "ObjectCreated:Put")}},
		{must(ForPattern("a", "ObjectRemoved:Delete")), "sluice.events.a.ObjectRemoved.Delete",
			[]string{subj("a", "ObjectRemoved:Delete")}, []string{subj("a", "ObjectRemoved:DeleteMarkerCreated")}},
		{must(ForPattern("a", "s3:LifecycleTransition")), "sluice.events.a.LifecycleTransition._",
			[]string{subj("a", "LifecycleTransition")}, []string{subj("a", "LifecycleExpiration:Delete")}},
	}
	for _, c := range cases {
		if c.filter != c.want {
			t.Errorf("filter = %q, want %q", c.filter, c.want)
		}
		if !server.IsValidSubject(c.filter) {
			t.Errorf("filter %q is not a valid NATS subject", c.filter)
		}
		for _, s := range c.match {
			if !server.SubjectMatchesFilter(s, c.filter) {
				t.Errorf("%q does not match %q", s, c.filter)
			}
		}
		for _, s := range c.dontMatch {
			if server.SubjectMatchesFilter(s, c.filter) {
				t.Errorf("%q matches %q", s, c.filter)
			}
		}
	}
	for _, f := range []func() (string, error){
		func() (string, error) { return Bucket("") },
		func() (string, error) { return Category("Bogus") },
		func() (string, error) { return BucketCategory("", "ObjectCreated") },
		func() (string, error) { return BucketCategory("a", "objectcreated") },
		func() (string, error) { return ForPattern("", "s3:ObjectCreated:*") },
		func() (string, error) { return ForPattern("a", "s3:*") },
		func() (string, error) { return ForPattern("a", "s3:LifecycleTransition:*") },
	} {
		if s, err := f(); err == nil {
			t.Errorf("want an error, got %q", s)
		} else if !errors.Is(err, ErrEmptyBucket) && !errors.Is(err, events.ErrUnknownEventName) {
			t.Errorf("unexpected error %v", err)
		}
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
