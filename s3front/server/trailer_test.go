package server_test

import (
	"context"
	"encoding/base64"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// onlyReader hides Seek, so the SDK must stream the body.
type onlyReader struct{ io.Reader }

// TestTrailingChecksums drives the SDK over TLS, where it sends bodies as
// aws-chunked with STREAMING-UNSIGNED-PAYLOAD-TRAILER and the checksum in
// the trailer.
func TestTrailingChecksums(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewUnstartedServer(e.srv)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	var modes []string
	c := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(ts.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKALICE", testUsers["AKALICE"].Secret, ""),
		HTTPClient:   ts.Client(),
		Retryer:      aws.NopRetryer{},
		APIOptions: []func(*middleware.Stack) error{func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("mode", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if r, ok := in.Request.(*smithyhttp.Request); ok && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/trail/") {
					modes = append(modes, r.Header.Get("X-Amz-Content-Sha256"))
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
		}},
	})
	ctx := context.Background()
	e.mkBucket(c, "trail")
	body := strings.Repeat("trailing checksum payload ", 5000)
	for _, algo := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmCrc64nvme} {
		key := "t-" + string(algo)
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("trail"), Key: aws.String(key),
			Body: onlyReader{strings.NewReader(body)}, ChecksumAlgorithm: algo, ContentLength: aws.Int64(int64(len(body)))}); err != nil {
			t.Fatalf("%s: %v", algo, err)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("trail"), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if got := getBody(t, out, err); got != body {
			t.Fatalf("%s: body of %d bytes", algo, len(got))
		}
	}
	if len(modes) != 5 {
		t.Fatalf("saw %d object PUTs", len(modes))
	}
	for _, m := range modes {
		if m != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
			t.Fatalf("SDK used payload mode %q, want the trailer mode", m)
		}
	}
	want := crc32.ChecksumIEEE([]byte(body))
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("trail"), Key: aws.String("t-CRC32"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(h.ChecksumCRC32); got != base64.StdEncoding.EncodeToString([]byte{byte(want >> 24), byte(want >> 16), byte(want >> 8), byte(want)}) {
		t.Fatalf("stored CRC32 %q", got)
	}
}
