package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAccessKey = "AKIDSLUICETEST"
	testSecret    = "sluice/secret+key=example"
	testPrincipal = "alice"
	testRegion    = "us-east-1"
)

func testCredentials() StaticCredentials {
	return StaticCredentials{
		testAccessKey: {Secret: testSecret, Principal: testPrincipal},
		"AKIDOTHER":   {Secret: "other-secret", Principal: "bob"},
	}
}

func sdkCreds() aws.Credentials {
	return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}
}

// fixedClock is the verifier clock of the tests that sign with an explicit
// time.
var fixedNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func newTestVerifier() *Verifier {
	return &Verifier{
		Region:      testRegion,
		Credentials: testCredentials(),
		Now:         func() time.Time { return fixedNow },
	}
}

// outcome is what the test server saw for one request.
type outcome struct {
	res       Result
	verifyErr error
	body      []byte
	readErr   error
	trailer   http.Header
	host      string
}

// code returns "OK" or the S3 code of the first error.
func (o outcome) code() string {
	err := o.verifyErr
	if err == nil {
		err = o.readErr
	}
	if err == nil {
		return "OK"
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return "internal: " + err.Error()
}

// verifyServer is an httptest server on 127.0.0.1 that runs Verify on every
// request, reads the decoded body and reports what it saw.
type verifyServer struct {
	*httptest.Server
	results chan outcome
}

func startVerifyServer(t *testing.T, v *Verifier, useTLS bool) *verifyServer {
	t.Helper()
	s := &verifyServer{results: make(chan outcome, 16)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var o outcome
		o.host = r.Host
		res, body, err := v.Verify(r)
		o.res, o.verifyErr = res, err
		if err == nil {
			o.body, o.readErr = io.ReadAll(body)
			_ = body.Close()
			o.trailer = res.Trailer()
		}
		status := http.StatusOK
		if e := (*Error)(nil); errors.As(err, &e) || errors.As(o.readErr, &e) {
			status = e.HTTPStatus()
		}
		w.WriteHeader(status)
		s.results <- o
	})
	if useTLS {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// do sends req and returns the server's outcome.
func (s *verifyServer) do(t *testing.T, req *http.Request) outcome {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	select {
	case o := <-s.results:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome from the server")
		return outcome{}
	}
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// newRawRequest builds a request to base+target with body and headers.
func newRawRequest(t testing.TB, method, base, target string, body []byte, headers map[string]string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, base+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// sdkSign signs req with the real aws-sdk-go-v2 signer configured as the S3
// client configures it (no second path escaping). payloadHash "" means the
// hex SHA-256 of body.
func sdkSign(t testing.TB, req *http.Request, body []byte, payloadHash string, creds aws.Credentials,
	region string, at time.Time) {
	t.Helper()
	if payloadHash == "" {
		payloadHash = hexSHA256(body)
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), creds, req, payloadHash, "s3", region, at); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
}

// sdkPresign presigns method base+target with the real signer and returns a
// request for the presigned URL carrying the headers the signer says must be
// sent.
func sdkPresign(t testing.TB, method, base, target string, expires int, body []byte, creds aws.Credentials,
	region string, at time.Time) *http.Request {
	t.Helper()
	req := newRawRequest(t, method, base, target, nil, nil)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(expires))
	req.URL.RawQuery = q.Encode()
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	signed, hdr, err := signer.PresignHTTP(context.Background(), creds, req, payloadUnsigned, "s3", region, at)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	u, err := url.Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	out, err := http.NewRequest(method, u.String(), rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if http.CanonicalHeaderKey(k) == "Host" {
			continue
		}
		for _, v := range vs {
			out.Header.Add(k, v)
		}
	}
	return out
}

// isSigv4Error reports whether err is (or wraps) an *Error.
func isSigv4Error(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
