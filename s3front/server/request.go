package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
	"github.com/sluice-io/sluice/s3front/sigv4"
)

// reqCtx is everything a handler knows about one request.
type reqCtx struct {
	s         *Server
	w         *responseWriter
	r         *http.Request
	ctx       context.Context
	route     route
	requestID string
	hostID    string
	start     time.Time

	principal string
	accessKey string
	auth      sigv4.Result
	bucket    meta.Bucket // set by owned
	// trailer returns the trailing headers of an aws-chunked body once it
	// has been read to EOF; nil when the body has none.
	trailer func() http.Header
}

// query returns a query parameter.
func (rc *reqCtx) query(name string) string { return rc.r.URL.Query().Get(name) }

// hasQuery reports whether a query parameter is present.
func (rc *reqCtx) hasQuery(name string) bool { _, ok := rc.r.URL.Query()[name]; return ok }

// sourceIP is the client address for events.
func (rc *reqCtx) sourceIP() string {
	host, _, err := net.SplitHostPort(rc.r.RemoteAddr)
	if err != nil {
		return rc.r.RemoteAddr
	}
	return host
}

// trailers returns the body's trailing headers (after the body was read).
func (rc *reqCtx) trailers() http.Header {
	if rc.trailer != nil {
		if h := rc.trailer(); h != nil {
			return h
		}
	}
	return rc.r.Trailer
}

// objectURL returns the absolute URL of key in the addressed bucket, as
// S3 writes it in Location fields.
func (rc *reqCtx) objectURL(key string) string {
	scheme := "http"
	if rc.r.TLS != nil {
		scheme = "https"
	}
	path := strings.ReplaceAll(url.PathEscape(key), "%2F", "/")
	if rc.route.VirtualHost {
		return scheme + "://" + rc.r.Host + "/" + path
	}
	return scheme + "://" + rc.r.Host + "/" + rc.route.Bucket + "/" + path
}

// writeXML sends v as an S3 XML document with the given status.
func (rc *reqCtx) writeXML(status int, v any) error {
	b, err := s3xml.Marshal(v)
	if err != nil {
		return s3err.Internal(err)
	}
	h := rc.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	rc.w.WriteHeader(status)
	if rc.r.Method != http.MethodHead {
		_, _ = rc.w.Write(b)
	}
	return nil
}

// noBody answers status with an empty body.
func (rc *reqCtx) noBody(status int) error {
	if status != http.StatusNoContent && status != http.StatusNotModified {
		rc.w.Header().Set("Content-Length", "0")
	}
	rc.w.WriteHeader(status)
	return nil
}

// newRequestIDs returns an x-amz-request-id (16 upper-case hex digits, as
// AWS writes them) and an x-amz-id-2.
func newRequestIDs() (string, string) {
	var b [8 + 24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	rid := make([]byte, 16)
	hex.Encode(rid, b[:8])
	for i, c := range rid {
		if c >= 'a' && c <= 'f' {
			rid[i] = c - 'a' + 'A'
		}
	}
	return string(rid), base64.StdEncoding.EncodeToString(b[8:])
}

// responseWriter records the status and the body bytes written.
type responseWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	n           int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.status = code
	w.wroteHeader = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's ReaderFrom (sendfile for files).
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(r)
		w.n += n
		return n, err
	}
	n, err := io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	w.n += n
	return n, err
}

// Flush implements http.Flusher when the underlying writer does.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) statusCode() int {
	if !w.wroteHeader {
		return http.StatusOK
	}
	return w.status
}

// countingReader counts the bytes read from a request body.
type countingReader struct {
	r io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.r == nil {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error {
	if c.r == nil {
		return nil
	}
	return c.r.Close()
}

// authenticate verifies the request signature and installs the verified
// body. Anonymous requests are AccessDenied.
func (s *Server) authenticate(rc *reqCtx) error {
	res, body, err := s.auth.Verify(rc.r)
	if err != nil {
		return err
	}
	rc.principal = res.Principal
	rc.accessKey = res.AccessKey
	rc.auth = res
	rc.trailer = res.Trailer
	if body != nil {
		rc.r.Body = body
	}
	if rc.principal == "" {
		return s3err.New(s3err.AccessDenied, "")
	}
	return nil
}

// metaErr maps a store error to the S3 error for this request.
func (s *Server) metaErr(rc *reqCtx, err error) error {
	var dm *meta.DeleteMarkerError
	switch {
	case errors.As(err, &dm):
		e := s3err.New(s3err.NoSuchKey, "").WithKey(rc.route.Key)
		if dm.Explicit {
			e = s3err.New(s3err.MethodNotAllowed, "The specified method is not allowed against this resource.").
				WithHeader("Allow", "DELETE")
			if !dm.LastModified.IsZero() {
				e.WithHeader("Last-Modified", dm.LastModified.UTC().Format(http.TimeFormat))
			}
		}
		e.WithHeader("x-amz-delete-marker", "true")
		if dm.VersionID != "" {
			e.WithHeader("x-amz-version-id", dm.VersionID)
		}
		e.Cause = err
		return e
	case errors.Is(err, meta.ErrNoSuchBucket):
		return s3err.Wrap(s3err.NoSuchBucket, err).WithBucket(rc.route.Bucket)
	case errors.Is(err, meta.ErrNoSuchKey):
		return s3err.Wrap(s3err.NoSuchKey, err).WithKey(rc.route.Key)
	case errors.Is(err, meta.ErrNoSuchVersion):
		return s3err.Wrap(s3err.NoSuchVersion, err).WithKey(rc.route.Key).WithVersionID(rc.query("versionId"))
	case errors.Is(err, meta.ErrNoSuchUpload):
		return s3err.Wrap(s3err.NoSuchUpload, err).WithUploadID(rc.query("uploadId"))
	case errors.Is(err, meta.ErrInvalidPart):
		return s3err.Wrap(s3err.InvalidPart, err)
	case errors.Is(err, meta.ErrBucketNotEmpty):
		return s3err.Wrap(s3err.BucketNotEmpty, err).WithBucket(rc.route.Bucket)
	case errors.Is(err, meta.ErrBucketExists):
		return s3err.Wrap(s3err.BucketAlreadyExists, err).WithBucket(rc.route.Bucket)
	case errors.Is(err, meta.ErrInvalidArgument):
		return s3err.Wrap(s3err.InvalidArgument, err)
	case errors.Is(err, context.Canceled):
		return s3err.Wrap(s3err.RequestTimeout, err)
	}
	var se *s3err.Error
	if errors.As(err, &se) {
		return err
	}
	return s3err.Internal(err)
}
