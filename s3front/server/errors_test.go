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

// TestErrorBodyDetails checks the codes, messages and extra elements of
// error bodies that AWS words in a particular way.
func TestErrorBodyDetails(t *testing.T) {
	e := newEnv(t)
	e.mkBucket(e.alice, "det")
	ctx := context.Background()
	up, err := e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String("det"), Key: aws.String("mp"), ChecksumAlgorithm: "CRC32",
	})
	if err != nil {
		t.Fatal(err)
	}
	complete := "/det/mp?uploadId=" + aws.ToString(up.UploadId)
	part := func(extra string) string {
		return `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag>` + extra + `</Part></CompleteMultipartUpload>`
	}
	cases := []struct {
		name, method, url, body string
		hdr                     http.Header
		payloadHash             string
		status                  int
		code, msg               string
		contains                []string
	}{
		{name: "method not allowed on the service", method: "POST", url: "/", status: 405, code: "MethodNotAllowed",
			contains: []string{"<Method>POST</Method>", "<ResourceType>SERVICE</ResourceType>"}},
		{name: "method not allowed on an upload", method: "PUT", url: "/det/k?uploadId=x", status: 405, code: "MethodNotAllowed",
			contains: []string{"<Method>PUT</Method>", "<ResourceType>UPLOAD</ResourceType>"}},
		{name: "unsigned trailer on a bucket PUT", method: "PUT", url: "/det?tagging", body: "5\r\nabcde\r\n0\r\n\r\n",
			hdr: http.Header{"X-Amz-Decoded-Content-Length": {"5"}}, payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
			status: 400, code: "InvalidRequest", msg: "The value of x-amz-content-sha256 header is invalid."},
		{name: "upload id marker of no upload", method: "GET", url: "/det?uploads&key-marker=mp&upload-id-marker=nope", status: 400,
			code: "InvalidArgument", msg: "Invalid uploadId marker", contains: []string{"<ArgumentName>upload-id-marker</ArgumentName>", "<ArgumentValue>nope</ArgumentValue>"}},
		{name: "part checksum not base64", method: "POST", url: complete, body: part("<ChecksumCRC32>invalid_checksum</ChecksumCRC32>"), status: 400,
			code: "InvalidArgument", msg: "Invalid Base64 or multiple checksums present in request", contains: []string{"<ArgumentValue>invalid_checksum</ArgumentValue>"}},
		{name: "two part checksums", method: "POST", url: complete, body: part("<ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumSHA1>Kq5sNclPz7QV2+lfQIuc6R7oRu0=</ChecksumSHA1>"), status: 400,
			code: "InvalidArgument", contains: []string{"<ArgumentValue>CRC32:AAAAAA==;SHA1:Kq5sNclPz7QV2+lfQIuc6R7oRu0=;</ArgumentValue>"}},
		{name: "part checksum of another algorithm", method: "POST", url: complete, body: part("<ChecksumSHA1>Kq5sNclPz7QV2+lfQIuc6R7oRu0=</ChecksumSHA1>"), status: 400,
			code: "BadDigest", msg: "The sha1 you specified for part 1 did not match what we received."},
		{name: "part checksum missing", method: "POST", url: complete, body: part(""), status: 400,
			code: "InvalidRequest", msg: "The upload was created using a crc32 checksum. The complete request must include the checksum for each part. It was missing for part 1 in the request."},
		{name: "two final checksums", method: "POST", url: complete, body: part("<ChecksumCRC32>AAAAAA==</ChecksumCRC32>"),
			hdr: http.Header{"X-Amz-Checksum-Crc32": {"AAAAAA=="}, "X-Amz-Checksum-Crc32c": {"AAAAAA=="}}, status: 400,
			code: "InvalidRequest", msg: "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."},
		{name: "header section over 8 KiB", method: "GET", url: "/det", hdr: http.Header{"X-Amz-Meta-Big": {strings.Repeat("d", 8<<10)}},
			status: 400, code: "RequestHeaderSectionTooLarge", contains: []string{"<MaxSizeAllowed>8192</MaxSizeAllowed>"}},
		{name: "copy source on a bucket POST", method: "POST", url: "/det?uploadId=x", hdr: http.Header{"X-Amz-Copy-Source": {"det/k"}},
			status: 400, code: "InvalidArgument", contains: []string{"<ArgumentName>x-amz-copy-source</ArgumentName>"}},
		{name: "part number below 1", method: "POST", url: complete, body: `<CompleteMultipartUpload><Part><PartNumber>-4</PartNumber><ETag>"a"</ETag></Part></CompleteMultipartUpload>`,
			status: 400, code: "InvalidArgument", msg: "PartNumber must be >= 1", contains: []string{"<ArgumentValue>-4</ArgumentValue>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.url, []byte(c.body), c.hdr, c.payloadHash)
			if r.Status != c.status || r.Code != c.code || (c.msg != "" && r.Msg != c.msg) {
				t.Fatalf("%d %s %q, want %d %s %q", r.Status, r.Code, r.Msg, c.status, c.code, c.msg)
			}
			for _, s := range c.contains {
				if !strings.Contains(string(r.Body), s) {
					t.Fatalf("body %s lacks %s", r.Body, s)
				}
			}
		})
	}
}
