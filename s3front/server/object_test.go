package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func getBody(t *testing.T, out *s3.GetObjectOutput, err error) string {
	t.Helper()
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func TestPutGetHeadDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "objs")
	e.drainOutbox()
	b := aws.String("objs")

	body := "hello, sluice"
	put, err := e.alice.PutObject(ctx, &s3.PutObjectInput{
		Bucket:             b,
		Key:                aws.String("dir/hello.txt"),
		Body:               strings.NewReader(body),
		ContentType:        aws.String("text/plain"),
		ContentDisposition: aws.String("attachment"),
		CacheControl:       aws.String("max-age=60"),
		Metadata:           map[string]string{"color": "blue", "Shape": "round"},
		Tagging:            aws.String("env=test&team=storage"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.ETag) != `"`+md5hex(body)+`"` {
		t.Fatalf("ETag = %s", aws.ToString(put.ETag))
	}
	if put.VersionId != nil {
		t.Fatalf("unversioned bucket returned version %q", aws.ToString(put.VersionId))
	}

	got, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")})
	if s := getBody(t, got, err); s != body {
		t.Fatalf("body = %q", s)
	}
	checks := map[string][2]string{
		"ContentType":        {aws.ToString(got.ContentType), "text/plain"},
		"ContentDisposition": {aws.ToString(got.ContentDisposition), "attachment"},
		"CacheControl":       {aws.ToString(got.CacheControl), "max-age=60"},
		"meta color":         {got.Metadata["color"], "blue"},
		"meta shape":         {got.Metadata["shape"], "round"},
		"ETag":               {aws.ToString(got.ETag), `"` + md5hex(body) + `"`},
	}
	for what, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", what, c[0], c[1])
		}
	}
	if aws.ToInt32(got.TagCount) != 2 {
		t.Errorf("TagCount = %d", aws.ToInt32(got.TagCount))
	}
	if aws.ToInt64(got.ContentLength) != int64(len(body)) {
		t.Errorf("ContentLength = %d", aws.ToInt64(got.ContentLength))
	}

	head, err := e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ContentType) != "text/plain" {
		t.Fatalf("head = %+v", head)
	}

	// Errors.
	_, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("missing")})
	wantCode(t, "get missing", err, "NoSuchKey")
	_, err = e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("missing")})
	wantCode(t, "head missing", err, "NotFound")
	_, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k")})
	wantCode(t, "get in missing bucket", err, "NoSuchBucket")
	_, err = e.bob.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")})
	wantCode(t, "bob reads alice's object", err, "AccessDenied")
	_, err = e.bob.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("x"), Body: strings.NewReader("x")})
	wantCode(t, "bob writes alice's bucket", err, "AccessDenied")

	// Delete: 204 even when missing.
	if _, err := e.alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")})
	wantCode(t, "get deleted", err, "NoSuchKey")

	// Events: one Put, one Delete, in order, with increasing sequencers.
	evs := e.outbox()
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2: %+v", len(evs), evs)
	}
	wantEvent(t, evs[0], "objs", "dir/hello.txt", "ObjectCreated:Put")
	wantEvent(t, evs[1], "objs", "dir/hello.txt", "ObjectRemoved:Delete")
	r := evs[0].Record
	if r.S3.Object.Size != int64(len(body)) || r.S3.Object.ETag != md5hex(body) || r.UserIdentity.PrincipalID != "alice" ||
		r.AWSRegion != "us-east-1" || r.EventSource != "sluice:s3" || r.EventVersion != "2.1" ||
		r.S3.Bucket.ARN != "arn:aws:s3:::objs" || r.RequestParameters.SourceIPAddress != "127.0.0.1" ||
		r.ResponseElements.RequestID == "" || r.Sluice == nil || r.Sluice.Location != "local" ||
		r.Sluice.ContentType != "text/plain" || r.Sluice.UserMetadata["color"] != "blue" || r.Sluice.Tags["team"] != "storage" {
		t.Fatalf("put record = %+v / %+v", r, r.Sluice)
	}
	if !(evs[0].Record.S3.Object.Sequencer < evs[1].Record.S3.Object.Sequencer) {
		t.Fatalf("sequencers not increasing: %s, %s", evs[0].Record.S3.Object.Sequencer, evs[1].Record.S3.Object.Sequencer)
	}
}

// wantEvent checks an outbox event's type, subject and key.
func wantEvent(t *testing.T, ev outboxEvent, bucket, key, name string) {
	t.Helper()
	if ev.Type != "com.amazonaws.s3."+name {
		t.Fatalf("event type %q, want %s", ev.Type, name)
	}
	cat, act, _ := strings.Cut(name, ":")
	if want := "sluice.events." + bucket + "." + cat + "." + act; ev.Subject != want {
		t.Fatalf("subject %q, want %q", ev.Subject, want)
	}
	if k, _ := ev.Record.ObjectKey(); k != key || ev.Record.Bucket() != bucket {
		t.Fatalf("event for %s/%s, want %s/%s", ev.Record.Bucket(), k, bucket, key)
	}
	if ev.Record.S3.Object.Sequencer == "" || ev.ID == "" {
		t.Fatalf("event without sequencer or id: %+v", ev)
	}
}

func TestPutIntegrity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "integ")
	b := aws.String("integ")
	body := "integrity matters"
	good := md5.Sum([]byte(body))
	bad := md5.Sum([]byte("something else"))

	// Content-MD5.
	if _, err := e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("md5-ok"), Body: strings.NewReader(body),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(good[:]))}); err != nil {
		t.Fatal(err)
	}
	_, err := e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("md5-bad"), Body: strings.NewReader(body),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(bad[:]))})
	wantCode(t, "wrong Content-MD5", err, "BadDigest")
	_, err = e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("md5-invalid"), Body: strings.NewReader(body),
		ContentMD5: aws.String("not-base64!")})
	wantCode(t, "malformed Content-MD5", err, "InvalidDigest")

	// Checksums computed by the SDK (trailer mode over aws-chunked) for every algorithm.
	for _, algo := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmCrc64nvme} {
		key := "sum-" + string(algo)
		if _, err := e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(key),
			Body: strings.NewReader(body), ChecksumAlgorithm: algo}); err != nil {
			t.Fatalf("%s: %v", algo, err)
		}
		out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if s := getBody(t, out, err); s != body {
			t.Fatalf("%s: body %q", algo, s)
		}
	}
	// A wrong precomputed value in the header.
	_, err = e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("sum-bad"),
		Body: strings.NewReader(body), ChecksumCRC32: aws.String("AAAAAA==")})
	wantCode(t, "wrong crc32", err, "BadDigest")
	_, err = e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("sum-bad"),
		Body: strings.NewReader(body), ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(make([]byte, 32)))})
	wantCode(t, "wrong sha256", err, "BadDigest")
	_, err = e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("sum-bad")})
	wantCode(t, "object after bad digest", err, "NotFound")

	// Metadata limit.
	_, err = e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("big-meta"), Body: strings.NewReader(body),
		Metadata: map[string]string{"big": strings.Repeat("x", 2100)}})
	wantCode(t, "metadata too large", err, "MetadataTooLarge")
	_, err = e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("bad-tag"), Body: strings.NewReader(body),
		Tagging: aws.String("aws:x=1")})
	wantCode(t, "reserved tag", err, "InvalidTag")

	// No data is left behind by the failed writes: only the successful objects' files exist.
	lo, err := e.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	if n := countDataFiles(t, e.dataDir); n != len(lo.Contents) {
		t.Fatalf("%d data files for %d objects", n, len(lo.Contents))
	}
}

func TestRangeAndConditionals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "rng")
	b, k := aws.String("rng"), aws.String("digits")
	body := "0123456789"
	put := e.put(e.alice, "rng", "digits", body)
	etag := aws.ToString(put.ETag)

	for _, c := range []struct{ rng, want, cr string }{
		{"bytes=0-3", "0123", "bytes 0-3/10"},
		{"bytes=7-", "789", "bytes 7-9/10"},
		{"bytes=-2", "89", "bytes 8-9/10"},
		{"bytes=5-100", "56789", "bytes 5-9/10"},
	} {
		out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, Range: aws.String(c.rng)})
		if got := getBody(t, out, err); got != c.want || aws.ToString(out.ContentRange) != c.cr {
			t.Fatalf("%s: %q %q", c.rng, got, aws.ToString(out.ContentRange))
		}
	}
	_, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, Range: aws.String("bytes=10-")})
	wantCode(t, "range past end", err, "InvalidRange")
	if httpStatus(err) != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("status %d", httpStatus(err))
	}

	past := time.Now().Add(-time.Hour)
	future := time.Now().Add(time.Hour)
	for _, c := range []struct {
		name string
		in   s3.GetObjectInput
		code string
	}{
		{"if-match ok", s3.GetObjectInput{IfMatch: aws.String(etag)}, ""},
		{"if-match fails", s3.GetObjectInput{IfMatch: aws.String(`"nope"`)}, "PreconditionFailed"},
		{"if-none-match hits", s3.GetObjectInput{IfNoneMatch: aws.String(etag)}, "NotModified"},
		{"if-none-match misses", s3.GetObjectInput{IfNoneMatch: aws.String(`"nope"`)}, ""},
		{"if-modified-since future", s3.GetObjectInput{IfModifiedSince: aws.Time(future)}, "NotModified"},
		{"if-modified-since past", s3.GetObjectInput{IfModifiedSince: aws.Time(past)}, ""},
		{"if-unmodified-since past", s3.GetObjectInput{IfUnmodifiedSince: aws.Time(past)}, "PreconditionFailed"},
		{"if-match wins over if-unmodified-since", s3.GetObjectInput{IfMatch: aws.String(etag), IfUnmodifiedSince: aws.Time(past)}, ""},
		{"if-none-match wins over if-modified-since", s3.GetObjectInput{IfNoneMatch: aws.String(`"nope"`), IfModifiedSince: aws.Time(future)}, ""},
	} {
		in := c.in
		in.Bucket, in.Key = b, k
		out, err := e.alice.GetObject(ctx, &in)
		if c.code == "" {
			getBody(t, out, err)
			continue
		}
		wantCode(t, c.name, err, c.code)
	}

	// response-* overrides.
	out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k,
		ResponseContentType: aws.String("application/x-test"), ResponseContentDisposition: aws.String("inline"),
		ResponseCacheControl: aws.String("no-cache")})
	getBody(t, out, err)
	if aws.ToString(out.ContentType) != "application/x-test" || aws.ToString(out.ContentDisposition) != "inline" || aws.ToString(out.CacheControl) != "no-cache" {
		t.Fatalf("overrides not applied: %+v", out)
	}

	// HEAD carries the same headers; errors are status only.
	_, err = e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k, IfMatch: aws.String(`"nope"`)})
	if httpStatus(err) != http.StatusPreconditionFailed {
		t.Fatalf("head if-match: %v", err)
	}
	h, err := e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k, Range: aws.String("bytes=2-4")})
	if err != nil || aws.ToInt64(h.ContentLength) != 3 || aws.ToString(h.ContentRange) != "bytes 2-4/10" {
		t.Fatalf("head range: %+v %v", h, err)
	}

	// partNumber=1 of a simple object is the whole object.
	out, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, PartNumber: aws.Int32(1)})
	if got := getBody(t, out, err); got != body {
		t.Fatalf("part 1 = %q", got)
	}
	_, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, PartNumber: aws.Int32(2)})
	wantCode(t, "part 2 of a simple object", err, "InvalidPartNumber")

	// Conditional writes.
	_, err = e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("x"), IfNoneMatch: aws.String("*")})
	wantCode(t, "if-none-match * on existing", err, "PreconditionFailed")
	if _, err := e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("fresh"), Body: strings.NewReader("x"), IfNoneMatch: aws.String("*")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("x"), IfMatch: aws.String(`"nope"`)})
	wantCode(t, "if-match on put", err, "PreconditionFailed")
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "auth")
	e.put(e.alice, "auth", "k", "secret data")

	// Anonymous.
	resp, err := e.raw.Get(e.url + "/auth/k")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var xe struct {
		Code      string
		RequestID string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(raw, &xe); err != nil || resp.StatusCode != http.StatusForbidden || xe.Code != "AccessDenied" {
		t.Fatalf("anonymous: %d %s", resp.StatusCode, raw)
	}
	if rid := resp.Header.Get("x-amz-request-id"); rid == "" || rid != xe.RequestID || resp.Header.Get("x-amz-id-2") == "" {
		t.Fatalf("request id header %q body %q", rid, xe.RequestID)
	}
	if bytes.Contains(raw, []byte("secret data")) {
		t.Fatal("anonymous read leaked data")
	}

	// Wrong secret, unknown key.
	wrong := e.clientWith(func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("AKALICE", "not-the-secret", "")
	})
	_, err = wrong.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("auth"), Key: aws.String("k")})
	wantCode(t, "wrong secret", err, "SignatureDoesNotMatch")
	unknown := e.clientWith(func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("AKNOBODY", "whatever-secret", "")
	})
	_, err = unknown.ListBuckets(ctx, &s3.ListBucketsInput{})
	wantCode(t, "unknown key", err, "InvalidAccessKeyId")

	// Presigned GET and PUT.
	ps := s3.NewPresignClient(e.alice)
	pget, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("auth"), Key: aws.String("k")},
		s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = e.raw.Get(pget.URL)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(raw) != "secret data" {
		t.Fatalf("presigned get: %d %s", resp.StatusCode, raw)
	}
	pput, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("auth"), Key: aws.String("uploaded")},
		s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, pput.URL, strings.NewReader("via presigned put"))
	for k, vs := range pput.SignedHeader {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err = e.raw.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned put: %d", resp.StatusCode)
	}
	out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("auth"), Key: aws.String("uploaded")})
	if got := getBody(t, out, err); got != "via presigned put" {
		t.Fatalf("presigned put stored %q", got)
	}
	// A tampered presigned URL fails.
	resp, err = e.raw.Get(strings.Replace(pget.URL, "/auth/k", "/auth/uploaded", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("tampered presigned url: %d", resp.StatusCode)
	}
}

func TestVirtualHostStyle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.vhost.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vhost-bucket")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.vhost.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vhost-bucket"), Key: aws.String("a/b c"),
		Body: strings.NewReader("vh")}); err != nil {
		t.Fatal(err)
	}
	// Path style sees the same object.
	out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("vhost-bucket"), Key: aws.String("a/b c")})
	if got := getBody(t, out, err); got != "vh" {
		t.Fatalf("got %q", got)
	}
	lo, err := e.vhost.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("vhost-bucket")})
	if err != nil || len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].Key) != "a/b c" {
		t.Fatalf("list = %+v, %v", lo, err)
	}
	ps := s3.NewPresignClient(e.vhost)
	pget, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("vhost-bucket"), Key: aws.String("a/b c")})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, pget.URL, nil)
	resp, err := e.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(raw) != "vh" {
		t.Fatalf("vhost presigned get: %d %s", resp.StatusCode, raw)
	}
}

func TestDeleteObjectConditions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "cond")
	past := time.Now().AddDate(-1, 0, 0)
	tests := []struct {
		name   string
		match  *string
		size   *int64
		mod    *time.Time // nil: none; &time.Time{}: the object's own
		code   string
		exists bool
	}{
		{name: "no conditions", exists: false},
		{name: "etag matches", match: aws.String("*"), exists: false},
		{name: "size matches", size: aws.Int64(5), exists: false},
		{name: "modified time matches", mod: &time.Time{}, exists: false},
		{name: "etag differs", match: aws.String(`"incorrect"`), code: "PreconditionFailed", exists: true},
		{name: "size differs", size: aws.Int64(23234), code: "PreconditionFailed", exists: true},
		{name: "modified time differs", mod: &past, code: "PreconditionFailed", exists: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.put(e.alice, "cond", "k", "hello")
			head, err := e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cond"), Key: aws.String("k")})
			if err != nil {
				t.Fatal(err)
			}
			in := &s3.DeleteObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), IfMatch: tc.match, IfMatchSize: tc.size}
			if tc.match != nil && *tc.match == "*" {
				in.IfMatch = head.ETag
			}
			if tc.mod != nil {
				in.IfMatchLastModifiedTime = tc.mod
				if tc.mod.IsZero() {
					in.IfMatchLastModifiedTime = head.LastModified
				}
			}
			_, err = e.alice.DeleteObject(ctx, in)
			if tc.code != "" {
				wantCode(t, tc.name, err, tc.code)
			} else if err != nil {
				t.Fatal(err)
			}
			_, err = e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cond"), Key: aws.String("k")})
			if exists := err == nil; exists != tc.exists {
				t.Fatalf("object exists = %v, want %v", exists, tc.exists)
			}
		})
	}
}
