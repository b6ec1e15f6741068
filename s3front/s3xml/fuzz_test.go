package s3xml

import (
	"bytes"
	"testing"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// maxSeed keeps the fuzz corpus small; the oversize cases are covered by
// TestParse.
const maxSeed = 64 << 10

// fuzzParser seeds f with the table cases of parser name and checks the
// parser's contract on arbitrary input: no panic; failures are
// *s3err.Error with a 4xx (or 501) status; a successful parse marshals,
// and the marshalled document parses again to the same bytes.
func fuzzParser(f *testing.F, name string) {
	p := parsers[name]
	for _, c := range parseCases {
		if c.parser == name && len(c.body) <= maxSeed {
			f.Add([]byte(c.body))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := p(bytes.NewReader(data))
		if err != nil {
			e, ok := err.(*s3err.Error)
			if !ok {
				t.Fatalf("error %T is not *s3err.Error: %v", err, err)
			}
			if !e.Code.Known() {
				t.Fatalf("undeclared code %q", e.Code)
			}
			if s := e.Status(); (s < 400 || s > 499) && e.Code != s3err.NotImplemented {
				t.Fatalf("status %d for %v", s, err)
			}
			return
		}
		if v == nil {
			t.Fatal("nil document without error")
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("marshal parsed document: %v", err)
		}
		if name == "CreateBucketConfiguration" && len(bytes.TrimSpace(data)) == 0 {
			return // an empty body has no document to round-trip
		}
		v2, err := p(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-parse of marshalled document failed: %v\ninput: %q\nmarshalled: %s", err, data, out)
		}
		out2, err := Marshal(v2)
		if err != nil {
			t.Fatalf("marshal re-parsed document: %v", err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip not stable:\n%s\n%s", out, out2)
		}
	})
}

func FuzzParseDelete(f *testing.F)                  { fuzzParser(f, "Delete") }
func FuzzParseCompleteMultipartUpload(f *testing.F) { fuzzParser(f, "CompleteMultipartUpload") }
func FuzzParseObjectTagging(f *testing.F)           { fuzzParser(f, "ObjectTagging") }
func FuzzParseBucketTagging(f *testing.F)           { fuzzParser(f, "BucketTagging") }
func FuzzParseVersioning(f *testing.F)              { fuzzParser(f, "Versioning") }
func FuzzParseCreateBucketConfiguration(f *testing.F) {
	fuzzParser(f, "CreateBucketConfiguration")
}
func FuzzParseNotification(f *testing.F) { fuzzParser(f, "Notification") }
func FuzzParseReplication(f *testing.F)  { fuzzParser(f, "Replication") }
func FuzzParseLifecycle(f *testing.F)    { fuzzParser(f, "Lifecycle") }

// FuzzParseTaggingHeader checks that the x-amz-tagging header parser never
// panics, fails only with 4xx *s3err.Error, and round-trips what it accepts.
func FuzzParseTaggingHeader(f *testing.F) {
	for _, s := range []string{"", "a=1", "a=1&b=2", "a=1&a=2", "%zz=1", "project=blue%20sky&team=a%2Bb", tagsHeader(11)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tags, err := ParseTaggingHeader(h)
		if err != nil {
			e, ok := err.(*s3err.Error)
			if !ok || e.Status() != 400 {
				t.Fatalf("bad error %T %v", err, err)
			}
			return
		}
		back, err := ParseTaggingHeader(TaggingHeader(tags))
		if err != nil || len(back) != len(tags) {
			t.Fatalf("round trip failed: %v %v", back, err)
		}
		for i := range tags {
			if back[i] != tags[i] {
				t.Fatalf("round trip changed %v to %v", tags[i], back[i])
			}
		}
	})
}
