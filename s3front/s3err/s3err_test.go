package s3err_test

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sluice-io/sluice/s3front/s3err"
)

func TestCodeStatuses(t *testing.T) {
	tests := []struct {
		code   s3err.ErrorCode
		s3     string
		status int
	}{
		{s3err.AccessDenied, "AccessDenied", 403},
		{s3err.AccountProblem, "AccountProblem", 403},
		{s3err.BadDigest, "BadDigest", 400},
		{s3err.BucketAlreadyExists, "BucketAlreadyExists", 409},
		{s3err.BucketAlreadyOwnedByYou, "BucketAlreadyOwnedByYou", 409},
		{s3err.BucketNotEmpty, "BucketNotEmpty", 409},
		{s3err.EntityTooLarge, "EntityTooLarge", 400},
		{s3err.EntityTooSmall, "EntityTooSmall", 400},
		{s3err.IllegalVersioningConfigurationException, "IllegalVersioningConfigurationException", 400},
		{s3err.IncompleteBody, "IncompleteBody", 400},
		{s3err.InternalError, "InternalError", 500},
		{s3err.InvalidAccessKeyID, "InvalidAccessKeyId", 403},
		{s3err.InvalidArgument, "InvalidArgument", 400},
		{s3err.InvalidBucketName, "InvalidBucketName", 400},
		{s3err.InvalidDigest, "InvalidDigest", 400},
		{s3err.InvalidLocationConstraint, "InvalidLocationConstraint", 400},
		{s3err.InvalidObjectState, "InvalidObjectState", 403},
		{s3err.InvalidPart, "InvalidPart", 400},
		{s3err.InvalidPartOrder, "InvalidPartOrder", 400},
		{s3err.InvalidRange, "InvalidRange", 416},
		{s3err.InvalidRequest, "InvalidRequest", 400},
		{s3err.InvalidStorageClass, "InvalidStorageClass", 400},
		{s3err.InvalidTag, "InvalidTag", 400},
		{s3err.InvalidURI, "InvalidURI", 400},
		{s3err.KeyTooLongError, "KeyTooLongError", 400},
		{s3err.MalformedXML, "MalformedXML", 400},
		{s3err.MalformedPOSTRequest, "MalformedPOSTRequest", 400},
		{s3err.MaxMessageLengthExceeded, "MaxMessageLengthExceeded", 400},
		{s3err.MetadataTooLarge, "MetadataTooLarge", 400},
		{s3err.MethodNotAllowed, "MethodNotAllowed", 405},
		{s3err.MissingContentLength, "MissingContentLength", 411},
		{s3err.MissingRequestBodyError, "MissingRequestBodyError", 400},
		{s3err.NoSuchBucket, "NoSuchBucket", 404},
		{s3err.NoSuchKey, "NoSuchKey", 404},
		{s3err.NoSuchUpload, "NoSuchUpload", 404},
		{s3err.NoSuchVersion, "NoSuchVersion", 404},
		{s3err.NoSuchTagSet, "NoSuchTagSet", 404},
		{s3err.NoSuchBucketPolicy, "NoSuchBucketPolicy", 404},
		{s3err.NoSuchLifecycleConfiguration, "NoSuchLifecycleConfiguration", 404},
		{s3err.ReplicationConfigurationNotFoundError, "ReplicationConfigurationNotFoundError", 404},
		{s3err.NoSuchCORSConfiguration, "NoSuchCORSConfiguration", 404},
		{s3err.NotImplemented, "NotImplemented", 501},
		{s3err.PreconditionFailed, "PreconditionFailed", 412},
		{s3err.NotModified, "NotModified", 304},
		{s3err.RequestTimeTooSkewed, "RequestTimeTooSkewed", 403},
		{s3err.SignatureDoesNotMatch, "SignatureDoesNotMatch", 403},
		{s3err.AuthorizationHeaderMalformed, "AuthorizationHeaderMalformed", 400},
		{s3err.AuthorizationQueryParametersError, "AuthorizationQueryParametersError", 400},
		{s3err.XAmzContentSHA256Mismatch, "XAmzContentSHA256Mismatch", 400},
		{s3err.ServiceUnavailable, "ServiceUnavailable", 503},
		{s3err.SlowDown, "SlowDown", 503},
		{s3err.TooManyBuckets, "TooManyBuckets", 400},
		{s3err.OperationAborted, "OperationAborted", 409},
		{s3err.InvalidBucketState, "InvalidBucketState", 409},
	}
	for _, tt := range tests {
		t.Run(tt.s3, func(t *testing.T) {
			if got := tt.code.Status(); got != tt.status {
				t.Errorf("Status() = %d, want %d", got, tt.status)
			}
			if got := tt.code.Code(); got != tt.s3 {
				t.Errorf("Code() = %q, want %q", got, tt.s3)
			}
			got, ok := s3err.FromCode(tt.s3)
			if !ok || got != tt.code {
				t.Errorf("FromCode(%q) = %q, %v", tt.s3, got, ok)
			}
			if tt.code.Description() == "" {
				t.Error("empty default message")
			}
		})
	}
}

func TestEveryCodeIsComplete(t *testing.T) {
	for _, c := range s3err.Codes() {
		if !c.Known() {
			t.Errorf("%q listed but not known", c)
		}
		if s := c.Status(); s < 300 || s > 599 {
			t.Errorf("%q: status %d is not an error status", c, s)
		}
		if c.Description() == "" {
			t.Errorf("%q: no default message", c)
		}
		if got, ok := s3err.FromCode(string(c)); !ok || got != c {
			t.Errorf("FromCode(%q) = %q, %v", c, got, ok)
		}
	}
}

func TestUnknownCode(t *testing.T) {
	c := s3err.ErrorCode("NoSuchThing")
	if c.Known() {
		t.Fatal("undeclared code reported known")
	}
	if c.Status() != 500 || c.Code() != "InternalError" || c.Description() != s3err.InternalError.Description() {
		t.Errorf("undeclared code not treated as InternalError: %d %q %q", c.Status(), c.Code(), c.Description())
	}
	if got, ok := s3err.FromCode("NoSuchThing"); ok || got != s3err.InternalError {
		t.Errorf("FromCode(unknown) = %q, %v", got, ok)
	}
}

func TestErrorsIsAndAs(t *testing.T) {
	cause := errors.New("disk on fire")
	e := s3err.New(s3err.NoSuchKey, "").WithKey("a/b").WithCause(cause)
	wrapped := fmt.Errorf("handler: %w", e)

	if !errors.Is(wrapped, s3err.NoSuchKey) {
		t.Error("errors.Is(wrapped, NoSuchKey) = false")
	}
	if errors.Is(wrapped, s3err.NoSuchBucket) {
		t.Error("errors.Is(wrapped, NoSuchBucket) = true")
	}
	if !errors.Is(wrapped, s3err.New(s3err.NoSuchKey, "other message")) {
		t.Error("errors.Is with *Error target should compare codes")
	}
	if !errors.Is(wrapped, cause) {
		t.Error("cause not reachable through Unwrap")
	}
	var got *s3err.Error
	if !errors.As(wrapped, &got) || got.Key != "a/b" {
		t.Errorf("errors.As failed: %v", got)
	}
	if got.ClientMessage() != s3err.NoSuchKey.Description() {
		t.Errorf("ClientMessage = %q", got.ClientMessage())
	}
	if !strings.Contains(e.Error(), "disk on fire") {
		t.Errorf("Error() should include the cause for logs: %q", e.Error())
	}
}

type sigErr struct{ code, msg string }

func (e sigErr) Error() string   { return "sigv4: secret-bearing detail " + e.code }
func (e sigErr) Code() string    { return e.code }
func (e sigErr) Message() string { return e.msg }

type codeOnly struct{ code string }

func (e codeOnly) Error() string { return "internal detail" }
func (e codeOnly) Code() string  { return e.code }

func TestAs(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantCode  string
		wantMsg   string
		wantKnown bool
	}{
		{"Error", s3err.New(s3err.NoSuchBucket, "gone"), "NoSuchBucket", "gone", true},
		{"wrapped Error", fmt.Errorf("x: %w", s3err.New(s3err.AccessDenied, "")), "AccessDenied", "Access Denied", true},
		{"ErrorCode", s3err.SlowDown, "SlowDown", s3err.SlowDown.Description(), true},
		{"wrapped ErrorCode", fmt.Errorf("x: %w", s3err.InvalidRange), "InvalidRange", s3err.InvalidRange.Description(), true},
		{"coder with message", sigErr{"SignatureDoesNotMatch", "custom safe"}, "SignatureDoesNotMatch", "custom safe", true},
		{"coder without message", fmt.Errorf("x: %w", codeOnly{"RequestTimeTooSkewed"}), "RequestTimeTooSkewed", s3err.RequestTimeTooSkewed.Description(), true},
		{"coder unknown code", codeOnly{"Bogus"}, "InternalError", s3err.InternalError.Description(), false},
		{"plain error", errors.New("boom"), "InternalError", s3err.InternalError.Description(), false},
		{"nil", nil, "InternalError", s3err.InternalError.Description(), false},
		{"Error unknown code", s3err.New("Bogus", "secret text"), "InternalError", s3err.InternalError.Description(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, known := s3err.As(tt.err)
			if e.S3Code() != tt.wantCode || e.ClientMessage() != tt.wantMsg || known != tt.wantKnown {
				t.Errorf("As = %q %q %v, want %q %q %v", e.S3Code(), e.ClientMessage(), known, tt.wantCode, tt.wantMsg, tt.wantKnown)
			}
		})
	}
}

type errorBody struct {
	XMLName       xml.Name `xml:"Error"`
	Code          string   `xml:"Code"`
	Message       string   `xml:"Message"`
	Key           string   `xml:"Key"`
	BucketName    string   `xml:"BucketName"`
	ArgumentName  string   `xml:"ArgumentName"`
	ArgumentValue string   `xml:"ArgumentValue"`
	Condition     string   `xml:"Condition"`
	Resource      string   `xml:"Resource"`
	RequestID     string   `xml:"RequestId"`
	HostID        string   `xml:"HostId"`
}

func TestWriteError(t *testing.T) {
	const secret = "password=hunter2 at /var/lib/sluice/db"
	tests := []struct {
		name       string
		method     string
		err        error
		wantStatus int
		wantBody   bool
		check      func(t *testing.T, b errorBody, rec *httptest.ResponseRecorder)
	}{
		{
			name: "NoSuchKey with details", method: http.MethodGet,
			err:        fmt.Errorf("get: %w", s3err.New(s3err.NoSuchKey, "").WithKey("a/b.txt").WithBucket("bkt").WithHeader("x-amz-delete-marker", "true")),
			wantStatus: 404, wantBody: true,
			check: func(t *testing.T, b errorBody, rec *httptest.ResponseRecorder) {
				if b.Code != "NoSuchKey" || b.Key != "a/b.txt" || b.BucketName != "bkt" || b.Message != s3err.NoSuchKey.Description() {
					t.Errorf("body = %+v", b)
				}
				if b.Resource != "/bkt/a/b.txt" {
					t.Errorf("Resource = %q", b.Resource)
				}
				if rec.Header().Get("x-amz-delete-marker") != "true" {
					t.Error("extra header not copied")
				}
			},
		},
		{
			name: "special characters escaped", method: http.MethodPut,
			err:        s3err.New(s3err.InvalidArgument, `bad <value> & "quote"`).WithArgument("x-amz-foo", "<&>").WithField("Condition", "If-Match").WithField("bad name", "dropped"),
			wantStatus: 400, wantBody: true,
			check: func(t *testing.T, b errorBody, rec *httptest.ResponseRecorder) {
				if b.Message != `bad <value> & "quote"` || b.ArgumentName != "x-amz-foo" || b.ArgumentValue != "<&>" || b.Condition != "If-Match" {
					t.Errorf("body = %+v", b)
				}
				if strings.Contains(rec.Body.String(), "dropped") {
					t.Error("field with invalid XML name was written")
				}
			},
		},
		{
			name: "Resource override", method: http.MethodGet,
			err:        s3err.New(s3err.NoSuchBucket, "").WithResource("/other"),
			wantStatus: 404, wantBody: true,
			check: func(t *testing.T, b errorBody, _ *httptest.ResponseRecorder) {
				if b.Resource != "/other" {
					t.Errorf("Resource = %q", b.Resource)
				}
			},
		},
		{
			name: "unknown error never leaks", method: http.MethodGet,
			err:        fmt.Errorf("metadata: %w", errors.New(secret)),
			wantStatus: 500, wantBody: true,
			check: func(t *testing.T, b errorBody, _ *httptest.ResponseRecorder) {
				if b.Code != "InternalError" || b.Message != s3err.InternalError.Description() {
					t.Errorf("body = %+v", b)
				}
			},
		},
		{
			name: "Error with undeclared code never leaks", method: http.MethodGet,
			err:        s3err.New("WeirdCode", secret).WithKey(secret).WithField("Detail", secret),
			wantStatus: 500, wantBody: true,
			check: func(t *testing.T, b errorBody, _ *httptest.ResponseRecorder) {
				if b.Code != "InternalError" || b.Message != s3err.InternalError.Description() || b.Key != "" {
					t.Errorf("body = %+v", b)
				}
			},
		},
		{
			name: "InternalError cause never leaks", method: http.MethodPost,
			err:        s3err.Internal(errors.New(secret)),
			wantStatus: 500, wantBody: true,
		},
		{
			name: "coder type maps to its code", method: http.MethodGet,
			err:        fmt.Errorf("auth: %w", codeOnly{"SignatureDoesNotMatch"}),
			wantStatus: 403, wantBody: true,
			check: func(t *testing.T, b errorBody, _ *httptest.ResponseRecorder) {
				if b.Code != "SignatureDoesNotMatch" || b.Message != s3err.SignatureDoesNotMatch.Description() {
					t.Errorf("body = %+v", b)
				}
			},
		},
		{
			name: "ErrorCode as error", method: http.MethodGet,
			err: s3err.SlowDown, wantStatus: 503, wantBody: true,
		},
		{
			name: "HEAD gets no body", method: http.MethodHead,
			err: s3err.New(s3err.NoSuchKey, ""), wantStatus: 404, wantBody: false,
		},
		{
			name: "NotModified gets no body", method: http.MethodGet,
			err: s3err.NotModified, wantStatus: 304, wantBody: false,
		},
		{
			name: "nil error is InternalError", method: http.MethodGet,
			err: nil, wantStatus: 500, wantBody: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			logger := zap.New(core)
			req := httptest.NewRequest(tt.method, "http://localhost/bkt/a/b.txt?versionId=1", nil)
			rec := httptest.NewRecorder()
			rec.Header().Set(s3err.HostIDHeader, "host-1")

			status := s3err.WriteError(rec, req, tt.err, "REQ123", logger)

			if status != tt.wantStatus || rec.Code != tt.wantStatus {
				t.Fatalf("status = %d (returned %d), want %d", rec.Code, status, tt.wantStatus)
			}
			if got := rec.Header().Get(s3err.RequestIDHeader); got != "REQ123" {
				t.Errorf("x-amz-request-id = %q", got)
			}
			body := rec.Body.String()
			if strings.Contains(body, "hunter2") || strings.Contains(body, "/var/lib") {
				t.Fatalf("internal error text leaked: %s", body)
			}
			for _, h := range rec.Header() {
				for _, v := range h {
					if strings.Contains(v, "hunter2") {
						t.Fatalf("internal error text leaked in a header: %q", v)
					}
				}
			}
			if !tt.wantBody {
				if body != "" {
					t.Fatalf("body = %q, want none", body)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/xml" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cl := rec.Header().Get("Content-Length"); cl != fmt.Sprint(len(body)) {
				t.Errorf("Content-Length = %q, body is %d bytes", cl, len(body))
			}
			if !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`) {
				t.Errorf("missing XML declaration: %q", body)
			}
			var b errorBody
			if err := xml.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("body is not XML: %v\n%s", err, body)
			}
			if b.RequestID != "REQ123" || b.HostID != "host-1" {
				t.Errorf("RequestId/HostId = %q/%q", b.RequestID, b.HostID)
			}
			if tt.wantStatus == 500 {
				if b.Code != "InternalError" {
					t.Errorf("Code = %q", b.Code)
				}
				if tt.err != nil && logs.FilterLevelExact(zapcore.ErrorLevel).Len() == 0 {
					t.Error("internal error was not logged")
				}
				if tt.err != nil && strings.Contains(tt.err.Error(), "hunter2") {
					found := false
					for _, entry := range logs.All() {
						for _, f := range entry.Context {
							if f.Type == zapcore.ErrorType && strings.Contains(f.Interface.(error).Error(), "hunter2") {
								found = true
							}
						}
					}
					if !found {
						t.Error("the real error was not logged")
					}
				}
			}
			if tt.check != nil {
				tt.check(t, b, rec)
			}
		})
	}
}

func TestWriteErrorNilLoggerAndRequest(t *testing.T) {
	rec := httptest.NewRecorder()
	if got := s3err.WriteError(rec, nil, errors.New("x"), "", nil); got != 500 {
		t.Fatalf("status = %d", got)
	}
	if rec.Header().Get(s3err.RequestIDHeader) != "" {
		t.Error("request id header set for empty id")
	}
	if !strings.Contains(rec.Body.String(), "<Code>InternalError</Code>") {
		t.Errorf("body = %s", rec.Body.String())
	}
}

func TestMarshalGolden(t *testing.T) {
	e := s3err.New(s3err.NoSuchKey, "").WithKey("photos/2006/x.jpg")
	got := string(s3err.Marshal(e, "/mybucket/photos/2006/x.jpg", "4442587FB7D0A2F9", "host"))
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>` +
		`<Key>photos/2006/x.jpg</Key><Resource>/mybucket/photos/2006/x.jpg</Resource>` +
		`<RequestId>4442587FB7D0A2F9</RequestId><HostId>host</HostId></Error>`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func BenchmarkWriteError(b *testing.B) {
	req := httptest.NewRequest(http.MethodGet, "http://localhost/bkt/key", nil)
	err := s3err.New(s3err.NoSuchKey, "").WithKey("key")
	for b.Loop() {
		s3err.WriteError(httptest.NewRecorder(), req, err, "REQ", nil)
	}
}
