package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/crc64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var routeCases = []struct {
	method, target, host string
	bucket, key          string
	op                   Op
}{
	{"GET", "/", "127.0.0.1", "", "", OpListBuckets},
	{"PUT", "/", "127.0.0.1", "", "", OpMethodNotAllowed},
	{"PUT", "/b1", "h", "b1", "", OpCreateBucket},
	{"HEAD", "/b1", "h", "b1", "", OpHeadBucket},
	{"DELETE", "/b1/", "h", "b1", "", OpDeleteBucket},
	{"GET", "/b1", "h", "b1", "", OpListObjects},
	{"GET", "/b1?list-type=2", "h", "b1", "", OpListObjectsV2},
	{"GET", "/b1?versions", "h", "b1", "", OpListObjectVersions},
	{"GET", "/b1?uploads", "h", "b1", "", OpListMultipartUploads},
	{"GET", "/b1?location", "h", "b1", "", OpGetBucketLocation},
	{"PUT", "/b1?versioning", "h", "b1", "", OpPutBucketVersioning},
	{"GET", "/b1?tagging", "h", "b1", "", OpGetBucketTagging},
	{"DELETE", "/b1?lifecycle", "h", "b1", "", OpDeleteBucketLifecycle},
	{"PUT", "/b1?replication", "h", "b1", "", OpPutBucketReplication},
	{"GET", "/b1?notification", "h", "b1", "", OpGetBucketNotification},
	{"GET", "/b1?cors", "h", "b1", "", OpGetBucketUnsupportedNotFound},
	{"PUT", "/b1?policy", "h", "b1", "", OpNotImplemented},
	{"DELETE", "/b1?website", "h", "b1", "", OpDeleteBucketUnsupported},
	{"POST", "/b1?delete", "h", "b1", "", OpDeleteObjects},
	{"POST", "/b1", "h", "b1", "", OpMethodNotAllowed},
	{"POST", "/b1/k", "h", "b1", "k", OpMethodNotAllowed},
	{"PUT", "/b1/k", "h", "b1", "k", OpPutObject},
	{"PUT", "/b1/a/b/c", "h", "b1", "a/b/c", OpPutObject},
	{"PUT", "/b1/k?partNumber=1&uploadId=u", "h", "b1", "k", OpUploadPart},
	{"GET", "/b1/k?uploadId=u", "h", "b1", "k", OpListParts},
	{"POST", "/b1/k?uploads", "h", "b1", "k", OpCreateMultipartUpload},
	{"POST", "/b1/k?uploadId=u", "h", "b1", "k", OpCompleteMultipartUpload},
	{"DELETE", "/b1/k?uploadId=u", "h", "b1", "k", OpAbortMultipartUpload},
	{"GET", "/b1/k?tagging", "h", "b1", "k", OpGetObjectTagging},
	{"DELETE", "/b1/k?tagging", "h", "b1", "k", OpDeleteObjectTagging},
	{"GET", "/b1/k?acl", "h", "b1", "k", OpGetObjectAcl},
	{"POST", "/b1/k?restore", "h", "b1", "k", OpNotImplemented},
	{"PATCH", "/b1/k", "h", "b1", "k", OpMethodNotAllowed},
	{"GET", "/b1/a%2Fb%00c", "h", "b1", "a/b\x00c", OpGetObject},
	{"GET", "/b1/..%2F..%2Fetc", "h", "b1", "../../etc", OpGetObject},
	{"GET", "/b1//lead", "h", "b1", "/lead", OpGetObject},
	// Virtual-host style.
	{"GET", "/", "vb.s3.local", "vb", "", OpListObjects},
	{"GET", "/k/x", "vb.s3.local:9600", "vb", "k/x", OpGetObject},
	{"PUT", "/", "my.dotted.bucket.s3.local", "my.dotted.bucket", "", OpCreateBucket},
	{"GET", "/", "s3.local", "", "", OpListBuckets},
	{"GET", "/b2/k", "other.example", "b2", "k", OpGetObject},
	{"GET", "//k", "h", "", "k", OpUnknown},
}

func TestResolve(t *testing.T) {
	for _, c := range routeCases {
		r := httptest.NewRequest(c.method, c.target, nil)
		r.Host = c.host
		rt := resolve(r, "s3.local")
		if rt.Bucket != c.bucket || rt.Key != c.key || rt.Op != c.op {
			t.Errorf("%s %s (host %s) = %q %q %s, want %q %q %s", c.method, c.target, c.host, rt.Bucket, rt.Key, rt.Op, c.bucket, c.key, c.op)
		}
	}
	r := httptest.NewRequest("PUT", "/b1/k", nil)
	r.Header.Set("X-Amz-Copy-Source", "/src/k")
	if op := resolve(r, "").Op; op != OpCopyObject {
		t.Errorf("copy = %s", op)
	}
	r = httptest.NewRequest("PUT", "/b1/k?partNumber=2&uploadId=u", nil)
	r.Header.Set("X-Amz-Copy-Source", "/src/k")
	if op := resolve(r, "").Op; op != OpUploadPartCopy {
		t.Errorf("part copy = %s", op)
	}
}

func FuzzResolve(f *testing.F) {
	for _, c := range routeCases {
		f.Add(c.method, c.target, c.host)
	}
	f.Fuzz(func(t *testing.T, method, target, host string) {
		r, err := http.NewRequest(method, "http://x"+target, nil)
		if err != nil {
			return
		}
		r.Host = host
		rt := resolve(r, "s3.local")
		if rt.Op == "" {
			t.Fatal("empty op")
		}
		if rt.Bucket == "" && rt.Key != "" && rt.Op != OpUnknown {
			t.Fatalf("key %q without bucket", rt.Key)
		}
	})
}

func TestValidBucketName(t *testing.T) {
	for name, want := range map[string]bool{
		"abc": true, "my-bucket.2026": true, "a1b": true, strings.Repeat("a", 63): true,
		"ab": false, strings.Repeat("a", 64): false, "Upper": false, "-lead": false, "trail-": false,
		"a..b": false, "a.-b": false, "192.168.1.1": false, "xn--abc": false, "abc-s3alias": false, "a_b": false,
	} {
		if got := validBucketName(name); got != want {
			t.Errorf("validBucketName(%q) = %v", name, got)
		}
	}
}

var rangeCases = []struct {
	h          string
	size       int64
	start, len int64
	res        rangeResult
}{
	{"", 10, 0, 0, rangeNone},
	{"bytes=0-0", 10, 0, 1, rangeOK},
	{"bytes=0-9", 10, 0, 10, rangeOK},
	{"bytes=3-", 10, 3, 7, rangeOK},
	{"bytes=-3", 10, 7, 3, rangeOK},
	{"bytes=-30", 10, 0, 10, rangeOK},
	{"bytes=5-100", 10, 5, 5, rangeOK},
	{"bytes=10-", 10, 0, 0, rangeUnsatisfiable},
	{"bytes=10-20", 10, 0, 0, rangeUnsatisfiable},
	{"bytes=0-", 0, 0, 0, rangeUnsatisfiable},
	{"bytes=-0", 10, 0, 0, rangeUnsatisfiable},
	{"bytes=5-3", 10, 0, 0, rangeNone},
	{"bytes=0-1,3-4", 10, 0, 0, rangeNone},
	{"items=0-1", 10, 0, 0, rangeNone},
	{"bytes=x-1", 10, 0, 0, rangeNone},
	{"bytes=-", 10, 0, 0, rangeNone},
	{"bytes=1", 10, 0, 0, rangeNone},
	{"bytes= -1", 10, 0, 0, rangeNone},
	{"bytes=0 -1", 10, 0, 0, rangeNone},
	{"bytes=--1", 10, 0, 0, rangeNone},
	{"bytes=0--1", 10, 0, 0, rangeNone},
	{"bytes=00-01", 10, 0, 2, rangeOK},
	{"bytes=-1", 0, 0, 0, rangeNone},
	{"bytes=0-0", 0, 0, 0, rangeUnsatisfiable},
}

func TestParseRange(t *testing.T) {
	for _, c := range rangeCases {
		br, res := parseRange(c.h, c.size)
		if res != c.res || (res == rangeOK && (br.Start != c.start || br.Length != c.len)) {
			t.Errorf("parseRange(%q, %d) = %+v %v, want %d+%d %v", c.h, c.size, br, res, c.start, c.len, c.res)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, c := range rangeCases {
		f.Add(c.h, c.size)
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return
		}
		br, res := parseRange(h, size)
		if res == rangeOK && (br.Start < 0 || br.Length < 1 || br.Start+br.Length > size) {
			t.Fatalf("parseRange(%q, %d) = %+v outside the object", h, size, br)
		}
		if cr, ok := parseCopySourceRange(h, size); ok && (cr.Start < 0 || cr.Length < 1 || cr.Start+cr.Length > size) {
			t.Fatalf("parseCopySourceRange(%q, %d) = %+v outside the object", h, size, cr)
		}
	})
}

func TestConditions(t *testing.T) {
	lm := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	before := lm.Add(-time.Hour).Format(http.TimeFormat)
	after := lm.Add(time.Hour).Format(http.TimeFormat)
	same := lm.Format(http.TimeFormat)
	cases := []struct {
		c    conditions
		want condResult
	}{
		{conditions{}, condProceed},
		{conditions{IfMatch: `"abc"`}, condProceed},
		{conditions{IfMatch: `"x", "abc"`}, condProceed},
		{conditions{IfMatch: `*`}, condProceed},
		{conditions{IfMatch: `"x"`}, condPreconditionFailed},
		{conditions{IfNoneMatch: `"abc"`}, condNotModified},
		{conditions{IfNoneMatch: `W/"abc"`}, condNotModified},
		{conditions{IfNoneMatch: `"x"`}, condProceed},
		{conditions{IfModifiedSince: before}, condProceed},
		{conditions{IfModifiedSince: same}, condNotModified},
		{conditions{IfModifiedSince: after}, condNotModified},
		{conditions{IfUnmodifiedSince: before}, condPreconditionFailed},
		{conditions{IfUnmodifiedSince: same}, condProceed},
		{conditions{IfUnmodifiedSince: "garbage"}, condProceed},
		{conditions{IfMatch: `"abc"`, IfUnmodifiedSince: before}, condProceed},
		{conditions{IfNoneMatch: `"x"`, IfModifiedSince: after}, condProceed},
		{conditions{IfMatch: `"x"`, IfNoneMatch: `"abc"`}, condPreconditionFailed},
	}
	for _, c := range cases {
		if got := c.c.evaluate("abc", lm); got != c.want {
			t.Errorf("%+v = %v, want %v", c.c, got, c.want)
		}
	}
	if got := (conditions{IfNoneMatch: `"abc"`}).evaluateCopy("abc", lm); got != condPreconditionFailed {
		t.Errorf("copy if-none-match = %v", got)
	}
}

func FuzzConditions(f *testing.F) {
	f.Add(`"abc"`, `*`, "Mon, 02 Jan 2006 15:04:05 GMT", "garbage", "abc")
	f.Fuzz(func(t *testing.T, im, inm, ims, ius, etag string) {
		c := conditions{IfMatch: im, IfNoneMatch: inm, IfModifiedSince: ims, IfUnmodifiedSince: ius}
		switch c.evaluate(etag, time.Unix(1e9, 0)) {
		case condProceed, condNotModified, condPreconditionFailed:
		default:
			t.Fatal("unknown result")
		}
	})
}

var copySourceCases = []struct {
	h                string
	bucket, key, vid string
	ok               bool
}{
	{"src/key", "src", "key", "", true},
	{"/src/a/b%20c", "src", "a/b c", "", true},
	{"src/k%3Fq?versionId=v1", "src", "k?q", "v1", true},
	{"src/%E2%82%AC", "src", "€", "", true},
	{"src", "", "", "", false},
	{"/src/", "", "", "", false},
	{"", "", "", "", false},
	{"src/k?versionId=", "", "", "", false},
	{"src/%zz", "", "", "", false},
}

func TestParseCopySource(t *testing.T) {
	for _, c := range copySourceCases {
		cs, err := parseCopySource(c.h)
		if (err == nil) != c.ok || (c.ok && (cs.Bucket != c.bucket || cs.Key != c.key || cs.VersionID != c.vid)) {
			t.Errorf("parseCopySource(%q) = %+v, %v", c.h, cs, err)
		}
	}
}

func FuzzParseCopySource(f *testing.F) {
	for _, c := range copySourceCases {
		f.Add(c.h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		cs, err := parseCopySource(h)
		if err == nil && (cs.Bucket == "" || cs.Key == "") {
			t.Fatalf("parseCopySource(%q) accepted %+v", h, cs)
		}
	})
}

func TestChecksumSet(t *testing.T) {
	// CRC-64/NVME check value of "123456789".
	tab := crc64.MakeTable(0x9a6c9329ac4bc9b5)
	if got := crc64.Checksum([]byte("123456789"), tab); got != 0xae8b14860a799888 {
		t.Fatalf("crc64nvme check value %x", got)
	}
	h := http.Header{}
	h.Set("X-Amz-Checksum-Crc32", "AAAAAA==")
	if _, err := newChecksumSet(h); err != nil {
		t.Fatalf("valid header rejected: %v", err)
	}
	h.Set("X-Amz-Checksum-Crc32", "not base64")
	if _, err := newChecksumSet(h); err == nil {
		t.Fatal("invalid header accepted")
	}
	h = http.Header{}
	h.Set("X-Amz-Trailer", "x-amz-checksum-sha256")
	cs, err := newChecksumSet(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = cs.Writer().Write([]byte("abc"))
	tr := http.Header{}
	if err := cs.Verify(tr); err == nil {
		t.Fatal("missing trailer accepted")
	}
	tr.Set("X-Amz-Checksum-Sha256", base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if err := cs.Verify(tr); !errors.Is(err, errChecksumMismatch) {
		t.Fatalf("wrong trailer: %v", err)
	}
	tr.Set("X-Amz-Checksum-Sha256", cs.Values()["SHA256"])
	if err := cs.Verify(tr); err != nil {
		t.Fatalf("right trailer: %v", err)
	}
	h = http.Header{}
	h.Set("X-Amz-Sdk-Checksum-Algorithm", "MD7")
	if _, err := newChecksumSet(h); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
}

var policySeeds = []string{
	`{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"],["content-length-range",1,10]]}`,
	`{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","$Content-Type","text/plain"],{"x-amz-meta-a":"1"}]}`,
	`{"conditions":[["content-length-range","x",1],[1,2,3],{"k":5},["unknown","$a","b"],["eq","nodollar","x"]]}`,
	`{"conditions":[[]]}`,
}

func TestCheckPolicy(t *testing.T) {
	form := &postForm{fields: map[string]string{"key": "u/a", "content-type": "text/plain"}, names: []string{"key", "Content-Type"}}
	for i, c := range []struct {
		policy string
		ok     bool
	}{
		{policySeeds[0], false}, // Content-Type is not covered
		{`{"conditions":[{"bucket":"b"},["starts-with","$key","u/"],["starts-with","$content-type","text/"]]}`, true},
		{`{"conditions":[{"bucket":"other"},["starts-with","$key",""],["starts-with","$content-type",""]]}`, false},
		{`{"conditions":[["eq","$key","u/b"],["starts-with","$content-type",""]]}`, false},
		{policySeeds[2], false},
	} {
		var pol postPolicy
		if err := json.Unmarshal([]byte(c.policy), &pol); err != nil {
			t.Fatal(err)
		}
		_, err := checkPolicy(pol, "b", form)
		if (err == nil) != c.ok {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func FuzzCheckPolicy(f *testing.F) {
	for _, s := range policySeeds {
		f.Add(s, "u/a", "text/plain")
	}
	f.Fuzz(func(t *testing.T, policy, key, ctype string) {
		var pol postPolicy
		d := json.NewDecoder(strings.NewReader(policy))
		d.UseNumber()
		if d.Decode(&pol) != nil {
			return
		}
		form := &postForm{fields: map[string]string{"key": key, "content-type": ctype}, names: []string{"key", "Content-Type"}}
		lim, err := checkPolicy(pol, "b", form)
		if err == nil && lim.hasRange && (lim.minSize < 0 || lim.maxSize < lim.minSize) {
			t.Fatalf("accepted bad range %+v", lim)
		}
	})
}

func TestCRCCombine(t *testing.T) {
	a, b := []byte("hello, "), []byte("multipart world")
	whole := append(append([]byte{}, a...), b...)
	for _, algo := range []string{algoCRC32, algoCRC32C, algoCRC64NVME} {
		sum := func(p []byte) string {
			h := newHash(algo)
			h.Write(p)
			return base64.StdEncoding.EncodeToString(h.Sum(nil))
		}
		got, err := combineCRCs(algo, []string{sum(a), sum(b)}, []int64{int64(len(a)), int64(len(b))})
		if err != nil || got != sum(whole) {
			t.Errorf("%s: combined %s (%v), want %s", algo, got, err, sum(whole))
		}
	}
	if _, err := combineCRCs(algoCRC32, []string{"not base64"}, []int64{1}); err == nil {
		t.Error("bad CRC accepted")
	}
}
