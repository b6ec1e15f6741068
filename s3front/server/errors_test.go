package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/s3front/server"
)

// rawResponse is a response read fully.
type rawResponse struct {
	Status int
	Header http.Header
	Body   []byte
	Code   string // <Code> of an error body
	Msg    string
}

// do sends a request signed by alice (payloadHash "" means the SHA-256 of body).
func (e *env) do(method, target string, body []byte, hdr http.Header, payloadHash string) rawResponse {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+target, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if payloadHash == "" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: "AKALICE", SecretAccessKey: testUsers["AKALICE"].Secret}
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
		SignHTTP(context.Background(), creds, req, payloadHash, "s3", "us-east-1", time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.raw.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
	var xe struct {
		Code    string
		Message string
	}
	if xml.Unmarshal(b, &xe) == nil {
		out.Code, out.Msg = xe.Code, xe.Message
	}
	return out
}

func TestErrorResponses(t *testing.T) {
	e := newEnv(t)
	e.mkBucket(e.alice, "errs")
	e.put(e.alice, "errs", "k", "v")

	cases := []struct {
		name        string
		method, url string
		body        string
		hdr         http.Header
		status      int
		code        string
	}{
		{"malformed tagging", "PUT", "/errs/k?tagging", "<Tagging><TagSet>", nil, 400, "MalformedXML"},
		{"wrong root element", "PUT", "/errs?versioning", "<Foo/>", nil, 400, "MalformedXML"},
		{"malformed delete", "POST", "/errs?delete", "<Delete><Object>", nil, 400, "MalformedXML"},
		{"malformed lifecycle", "PUT", "/errs?lifecycle", "not xml at all", nil, 400, "MalformedXML"},
		{"malformed create bucket", "PUT", "/errs2", "<CreateBucketConfiguration><LocationConstraint>", nil, 400, "MalformedXML"},
		{"delete objects bad md5", "POST", "/errs?delete", "<Delete><Object><Key>k</Key></Object></Delete>",
			http.Header{"Content-Md5": {"AAAAAAAAAAAAAAAAAAAAAA=="}}, 400, "BadDigest"},
		{"not implemented", "POST", "/errs/k?restore", "", nil, 501, "NotImplemented"},
		{"method not allowed", "PATCH", "/errs/k", "", nil, 405, "MethodNotAllowed"},
		{"post without form or sub-resource", "POST", "/errs", "", nil, 405, "MethodNotAllowed"},
		{"part number without upload id", "PUT", "/errs/k?partNumber=1", "x", nil, 400, "InvalidArgument"},
		{"uploads on a key", "GET", "/errs/k?uploads", "", nil, 400, "InvalidRequest"},
		{"copy source on GET", "GET", "/errs/k", "", http.Header{"X-Amz-Copy-Source": {"errs/k"}}, 400, "InvalidArgument"},
		{"invalid max-keys", "GET", "/errs?list-type=2&max-keys=-1", "", nil, 400, "InvalidArgument"},
		{"invalid encoding", "GET", "/errs?encoding-type=base64", "", nil, 400, "InvalidArgument"},
		{"storage class", "PUT", "/errs/sc", "x", http.Header{"X-Amz-Storage-Class": {"PLATINUM"}}, 400, "InvalidStorageClass"},
		{"bad metadata directive", "PUT", "/errs/c", "", http.Header{"X-Amz-Copy-Source": {"errs/k"}, "X-Amz-Metadata-Directive": {"MOVE"}}, 400, "InvalidArgument"},
		{"bad copy source", "PUT", "/errs/c", "", http.Header{"X-Amz-Copy-Source": {"nokey"}}, 400, "InvalidArgument"},
		{"empty version id", "GET", "/errs/k?versionId=", "", nil, 400, "InvalidArgument"},
		{"checksum header malformed", "PUT", "/errs/c", "x", http.Header{"X-Amz-Checksum-Crc32": {"???"}}, 400, "InvalidRequest"},
		{"key without bucket", "GET", "//k", "", nil, 400, "InvalidURI"},
		{"get other's bucket versioning", "GET", "/nosuch?versioning", "", nil, 404, "NoSuchBucket"},
	}
	for _, c := range cases {
		r := e.do(c.method, c.url, []byte(c.body), c.hdr, "")
		if r.Status != c.status || r.Code != c.code {
			t.Errorf("%s: %d %s (%s), want %d %s", c.name, r.Status, r.Code, r.Msg, c.status, c.code)
		}
		if r.Header.Get("x-amz-request-id") == "" || r.Header.Get("x-amz-id-2") == "" {
			t.Errorf("%s: no request id headers", c.name)
		}
	}
	// Success responses carry the ids too.
	r := e.do("GET", "/errs/k", nil, nil, "")
	if r.Status != 200 || r.Header.Get("x-amz-request-id") == "" || r.Header.Get("x-amz-id-2") == "" {
		t.Fatalf("success without request id: %d %v", r.Status, r.Header)
	}
}

// TestTrailerChecksumMismatch sends an aws-chunked body whose trailing
// checksum is wrong: the upload is refused with BadDigest and nothing stays.
func TestTrailerChecksumMismatch(t *testing.T) {
	e := newEnv(t)
	e.mkBucket(e.alice, "trl")
	payload := "hello trailer"
	good := crc32.ChecksumIEEE([]byte(payload))
	enc := func(v uint32) string {
		return base64.StdEncoding.EncodeToString([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	send := func(key, sum string) rawResponse {
		body := fmt.Sprintf("%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", len(payload), payload, sum)
		hdr := http.Header{
			"Content-Encoding":             {"aws-chunked"},
			"X-Amz-Trailer":                {"x-amz-checksum-crc32"},
			"X-Amz-Decoded-Content-Length": {fmt.Sprint(len(payload))},
		}
		return e.do("PUT", "/trl/"+key, []byte(body), hdr, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	}
	if r := send("good", enc(good)); r.Status != 200 {
		t.Fatalf("good trailer: %d %s %s", r.Status, r.Code, r.Msg)
	}
	if r := send("bad", enc(good+1)); r.Status != 400 || r.Code != "BadDigest" {
		t.Fatalf("bad trailer: %d %s %s", r.Status, r.Code, r.Msg)
	}
	if n := countDataFiles(t, e.dataDir); n != 1 {
		t.Fatalf("%d data files, want 1", n)
	}
	out, err := e.alice.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("trl"), Key: aws.String("good")})
	if got := getBody(t, out, err); got != payload {
		t.Fatalf("stored %q", got)
	}
}

// TestPanicAndInternalErrors: a panicking handler and a failing store are
// answered with InternalError, without details, and the server keeps serving.
func TestPanicAndInternalErrors(t *testing.T) {
	e := newEnv(t)
	e.mkBucket(e.alice, "boom")
	boom := func(op server.Op) {
		if op == server.OpPutObject {
			panic("secret internal detail")
		}
	}
	e.hook.Store(&boom)
	r := e.do("PUT", "/boom/k", []byte("x"), nil, "")
	if r.Status != 500 || r.Code != "InternalError" || strings.Contains(string(r.Body), "secret internal detail") {
		t.Fatalf("panic answered %d %s: %s", r.Status, r.Code, r.Body)
	}
	e.hook.Store(nil)
	if r := e.do("GET", "/boom/k", nil, nil, ""); r.Status != 200 {
		t.Fatalf("server stopped serving after a panic: %d", r.Status)
	}
	// A closed store: every request that needs it is an InternalError.
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/boom/k", nil, nil, "")
	if r.Status != 500 || r.Code != "InternalError" || strings.Contains(string(r.Body), "closed") {
		t.Fatalf("closed store answered %d %s: %s", r.Status, r.Code, r.Body)
	}
}
