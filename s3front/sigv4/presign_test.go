package sigv4

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/encoding/httpbinding"
)

func TestVerifyPresignedSDK(t *testing.T) {
	srv := startVerifyServer(t, newTestVerifier(), false)
	for _, key := range oddKeys {
		t.Run("GET "+key, func(t *testing.T) {
			req := sdkPresign(t, "GET", srv.URL, "/bucket/"+httpbinding.EscapePath(key, false)+"?versionId=v%2B1",
				900, nil, sdkCreds(), testRegion, fixedNow.Add(-time.Minute))
			o := srv.do(t, req)
			if o.code() != "OK" {
				t.Fatalf("code = %s (%v)", o.code(), o.verifyErr)
			}
			if !o.res.Presigned || o.res.PayloadMode != PayloadUnsigned ||
				!o.res.Expires.Equal(fixedNow.Add(-time.Minute).Add(900*time.Second)) {
				t.Fatalf("result = %+v", o.res)
			}
		})
	}
	t.Run("PUT with body", func(t *testing.T) {
		body := []byte("presigned upload body")
		req := sdkPresign(t, "PUT", srv.URL, "/bucket/up.txt", 60, body, sdkCreds(), testRegion, fixedNow)
		o := srv.do(t, req)
		if o.code() != "OK" || string(o.body) != string(body) {
			t.Fatalf("code = %s body = %q", o.code(), o.body)
		}
	})
}

func TestVerifyPresignedFailures(t *testing.T) {
	presign := func(expires int, creds aws.Credentials, region string, at time.Time, after func(r *http.Request)) func(t *testing.T, base string) *http.Request {
		return func(t *testing.T, base string) *http.Request {
			r := sdkPresign(t, "GET", base, "/bucket/key?x=1", expires, nil, creds, region, at)
			if after != nil {
				after(r)
			}
			return r
		}
	}
	ok := sdkCreds()
	tests := []struct {
		name  string
		build func(t *testing.T, base string) *http.Request
		code  string
		is    error
	}{
		{"valid", presign(3600, ok, testRegion, fixedNow.Add(-59*time.Minute), nil), "OK", nil},
		{"expired", presign(3600, ok, testRegion, fixedNow.Add(-61*time.Minute), nil), CodeAccessDenied, ErrExpired},
		{"one week valid", presign(MaxPresignExpires, ok, testRegion, fixedNow.Add(-6*24*time.Hour), nil), "OK", nil},
		{"expires too long", presign(MaxPresignExpires+1, ok, testRegion, fixedNow, nil), CodeAuthorizationQueryParametersError, nil},
		{"expires zero", presign(0, ok, testRegion, fixedNow, nil), CodeAuthorizationQueryParametersError, nil},
		{"not valid yet", presign(3600, ok, testRegion, fixedNow.Add(time.Hour), nil), CodeAccessDenied, nil},
		{"wrong secret", presign(60, aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: "bad"}, testRegion, fixedNow, nil),
			CodeSignatureDoesNotMatch, nil},
		{"unknown key", presign(60, aws.Credentials{AccessKeyID: "AKIDNOPE", SecretAccessKey: "bad"}, testRegion, fixedNow, nil),
			CodeInvalidAccessKeyID, nil},
		{"wrong region", presign(60, ok, "ap-south-1", fixedNow, nil), CodeAuthorizationQueryParametersError, nil},
		// Only permanent keys exist: a session token is refused, as AWS
		// refuses one with permanent credentials.
		{"security token", presign(60, aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret,
			SessionToken: "session/token+="}, testRegion, fixedNow, nil), CodeInvalidToken, nil},
		{"tampered query value", presign(60, ok, testRegion, fixedNow, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "x=1", "x=2", 1)
		}), CodeSignatureDoesNotMatch, nil},
		{"added query parameter", presign(60, ok, testRegion, fixedNow, func(r *http.Request) {
			r.URL.RawQuery += "&versionId=2"
		}), CodeSignatureDoesNotMatch, nil},
		{"tampered expires", presign(60, ok, testRegion, fixedNow, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=60", "X-Amz-Expires=600", 1)
		}), CodeSignatureDoesNotMatch, nil},
		{"tampered path", presign(60, ok, testRegion, fixedNow, func(r *http.Request) { r.URL.Path = "/bucket/other" }),
			CodeSignatureDoesNotMatch, nil},
		{"duplicate signature", presign(60, ok, testRegion, fixedNow, func(r *http.Request) {
			r.URL.RawQuery += "&X-Amz-Signature=" + strings.Repeat("0", 64)
		}), CodeAuthorizationQueryParametersError, nil},
		{"missing signed headers", presign(60, ok, testRegion, fixedNow, func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-SignedHeaders=", "X-Amz-Signed=", 1)
		}), CodeAuthorizationQueryParametersError, nil},
		{"unsigned x-amz header", presign(60, ok, testRegion, fixedNow, func(r *http.Request) {
			r.Header.Set("X-Amz-Meta-Extra", "1")
		}), CodeAccessDenied, nil},
		{"plus authorization header", presign(60, ok, testRegion, fixedNow, func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
		}), CodeInvalidArgument, nil},
		{"sigv2 presigned", func(t *testing.T, base string) *http.Request {
			return newRawRequest(t, "GET", base, "/bucket/key?AWSAccessKeyId=AKID&Expires=1&Signature=abc", nil, nil)
		}, CodeInvalidRequest, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startVerifyServer(t, newTestVerifier(), false)
			o := srv.do(t, tc.build(t, srv.URL))
			if o.code() != tc.code {
				t.Fatalf("code = %s (%v), want %s", o.code(), o.verifyErr, tc.code)
			}
			if tc.is != nil && !errors.Is(o.verifyErr, tc.is) {
				t.Fatalf("err = %v, want %v", o.verifyErr, tc.is)
			}
			if tc.is == ErrExpired {
				var e *Error
				if !errors.As(o.verifyErr, &e) || e.Message() != "Request has expired" {
					t.Fatalf("message = %v", o.verifyErr)
				}
			}
		})
	}
}

var presignedQueryCases = []struct {
	name  string
	query string
	code  string // "" when valid
}{
	{"valid", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=" + validSig, ""},
	{"with token and content sha", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok%2B&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Signature=" + validSig, ""},
	{"missing expires", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=" + validSig, CodeAuthorizationQueryParametersError},
	{"bad algorithm", "X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Signature=" + validSig, CodeAuthorizationQueryParametersError},
	{"expires not a number", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1h&X-Amz-SignedHeaders=host&X-Amz-Signature=" + validSig, CodeAuthorizationQueryParametersError},
	{"expires too large", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=99999999999999999999&X-Amz-SignedHeaders=host&X-Amz-Signature=" + validSig, CodeAuthorizationQueryParametersError},
	{"expires negative", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=-1&X-Amz-SignedHeaders=host&X-Amz-Signature=" + validSig, CodeAuthorizationQueryParametersError},
	{"bad date", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=2013-05-24&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Signature=" + validSig, CodeAuthorizationQueryParametersError},
	{"bad credential", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Signature=" + validSig, CodeAuthorizationQueryParametersError},
	{"host not signed", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1&X-Amz-SignedHeaders=range&X-Amz-Signature=" + validSig, CodeAuthorizationQueryParametersError},
	{"bad content sha", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Content-Sha256=STREAMING-AWS4-HMAC-SHA256-PAYLOAD&X-Amz-Signature=" + validSig, CodeInvalidArgument},
	{"duplicate date", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Signature=" + validSig, CodeAuthorizationQueryParametersError},
	{"short signature", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID/20130524/us-east-1/s3/aws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=1&X-Amz-SignedHeaders=host&X-Amz-Signature=abcd", CodeAuthorizationQueryParametersError},
}

func TestParsePresigned(t *testing.T) {
	for _, tc := range presignedQueryCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePresigned(tc.query)
			if tc.code != "" {
				if err == nil || err.Code() != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if p.Credential.AccessKey != "AKID" || p.Expires <= 0 || len(p.Signature) != 32 || p.PayloadHash != payloadUnsigned {
				t.Fatalf("parsed %+v", p)
			}
		})
	}
}
