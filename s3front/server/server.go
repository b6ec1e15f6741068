// Package server is the S3 REST front end of Sluice: an http.Handler that
// addresses buckets and keys (path style and virtual-host style),
// authenticates every request with SigV4, enforces bucket ownership, and
// serves the bucket, object, multipart, tagging, versioning and
// configuration operations over a meta.Store and named location drivers.
//
// Every mutation commits its metadata and its event (an outbox row) in one
// store transaction; the handler never waits on NATS. Every error response
// is written by s3err.WriteError; unknown errors become InternalError and
// a panic in a handler is recovered, logged and answered with InternalError.
//
// A new version or delete marker gets its replication status before it is
// committed: PENDING for the destinations whose enabled rules select it,
// REPLICA when the request carries ReplicaHeader, "" otherwise (see
// setReplication and deleteOptions); the event records carry it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/sigv4"
	"github.com/sluice-io/sluice/services/location"
)

// Authenticator verifies a request's signature. *sigv4.Verifier implements
// it. Verify returns the authenticated identity and the body to read
// (decoded and verified while read); its errors expose Code() string.
type Authenticator interface {
	Verify(r *http.Request) (sigv4.Result, io.ReadCloser, error)
}

// Options configure a Server. Store, Locations, DefaultLocation and Auth
// are required.
type Options struct {
	// Store holds bucket and object metadata and the event outbox.
	Store meta.Store
	// Locations are the data stores by Sluice location name.
	Locations map[string]location.Driver
	// DefaultLocation is where buckets created without a
	// LocationConstraint keep their data; it must be in Locations.
	DefaultLocation string
	// Auth authenticates requests.
	Auth Authenticator
	// Credentials verify browser-based POST uploads, whose policy is signed
	// instead of the request; nil answers them with NotImplemented.
	Credentials sigv4.Credentials
	// Region is reported by GetBucketLocation for the default location and
	// written into events (awsRegion). Default us-east-1.
	Region string
	// Domain, when set, enables virtual-host-style addressing:
	// "<bucket>.<Domain>" selects the bucket.
	Domain string
	// Logger receives request failures; nil means no logging.
	Logger *zap.Logger
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Metrics records per-request metrics; nil records nothing.
	Metrics *Metrics
	// AfterCommit, when set, is called after every successful metadata
	// mutation has committed and before the response is written. Tests use
	// it as a fault hook.
	AfterCommit func(op Op)
	// Events are the configured delivery targets: a notification
	// configuration may only name these (arn:sluice:<kind>::<name>).
	Events deliver.Config
	// Notify, when set, makes a bucket's notification subscriptions
	// effective after its configuration is stored (PutBucketNotification-
	// Configuration, DeleteBucketNotificationConfiguration, DeleteBucket:
	// none). An error answers 503 ServiceUnavailable; the request is
	// idempotent, so the client's retry applies it. Nil stores the
	// configuration only.
	Notify NotifyFunc
	// Replicate, when set, makes a bucket's replication rules effective
	// after its configuration is stored (PutBucketReplication,
	// DeleteBucketReplication, DeleteBucket: none). An error answers 503
	// ServiceUnavailable; nil stores the configuration only.
	Replicate ReplicateFunc
	// RulesCacheTTL is how long replication rules read from a bucket's
	// stored configuration decide the replication status of new writes
	// before they are read again; DefaultRulesCacheTTL when zero. It
	// matters only with several s3front replicas: a change made through
	// this server applies to it at once.
	RulesCacheTTL time.Duration
	// Search, when set, answers Zenko's metadata search, GET /{bucket}?search=<where
	// clause>, for the bucket's owner: it receives the authenticated request rewritten to
	// /admin/index/buckets/{bucket}/search with the same query (the indexer's handler, or
	// a proxy to it). Without it such requests get NotImplemented.
	Search http.Handler
}

// NotifyFunc makes subs the notification subscriptions of bucket (none
// removes them); see notifications.Store.Apply.
type NotifyFunc func(ctx context.Context, bucket string, subs []deliver.Subscription) error

// Server serves the S3 REST API. It is safe for concurrent use.
type Server struct {
	store     meta.Store
	locations map[string]location.Driver
	defLoc    string
	auth      Authenticator
	creds     sigv4.Credentials
	region    string
	domain    string
	log       *zap.Logger
	now       func() time.Time
	metrics   *Metrics
	after     func(Op)
	events    deliver.Config
	notify    NotifyFunc
	replicate ReplicateFunc
	search    http.Handler
	rules     *rulesCache
	handlers  map[Op]handlerFunc
}

// ErrInvalidOptions is returned by New when a required option is missing.
var ErrInvalidOptions = errors.New("server: invalid options")

// New checks opts and returns a Server. It returns an error wrapping
// ErrInvalidOptions when Store, Auth or Locations is missing or
// DefaultLocation is not a configured location.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Store == nil:
		return nil, fmt.Errorf("%w: no store", ErrInvalidOptions)
	case opts.Auth == nil:
		return nil, fmt.Errorf("%w: no authenticator", ErrInvalidOptions)
	case len(opts.Locations) == 0:
		return nil, fmt.Errorf("%w: no locations", ErrInvalidOptions)
	}
	if _, ok := opts.Locations[opts.DefaultLocation]; !ok {
		return nil, fmt.Errorf("%w: default location %q is not configured", ErrInvalidOptions, opts.DefaultLocation)
	}
	s := &Server{
		store:     opts.Store,
		locations: opts.Locations,
		defLoc:    opts.DefaultLocation,
		auth:      opts.Auth,
		creds:     opts.Credentials,
		region:    opts.Region,
		domain:    opts.Domain,
		log:       opts.Logger,
		now:       opts.Clock,
		metrics:   opts.Metrics,
		after:     opts.AfterCommit,
		events:    opts.Events,
		notify:    opts.Notify,
		replicate: opts.Replicate,
		search:    opts.Search,
		rules:     newRulesCache(opts.RulesCacheTTL),
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.handlers = s.handlerTable()
	return s, nil
}

// handlerFunc serves one operation. It returns an error instead of writing
// one; ServeHTTP writes it with s3err.WriteError.
type handlerFunc func(rc *reqCtx) error

func (s *Server) handlerTable() map[Op]handlerFunc {
	return map[Op]handlerFunc{
		OpListBuckets:                  s.listBuckets,
		OpCreateBucket:                 s.createBucket,
		OpHeadBucket:                   s.owned(s.headBucket),
		OpDeleteBucket:                 s.owned(s.deleteBucket),
		OpGetBucketLocation:            s.owned(s.getBucketLocation),
		OpGetBucketVersioning:          s.owned(s.getBucketVersioning),
		OpPutBucketVersioning:          s.owned(s.putBucketVersioning),
		OpGetBucketTagging:             s.owned(s.getBucketTagging),
		OpPutBucketTagging:             s.owned(s.putBucketTagging),
		OpDeleteBucketTagging:          s.owned(s.deleteBucketTagging),
		OpGetBucketNotification:        s.owned(s.getBucketNotification),
		OpPutBucketNotification:        s.owned(s.putBucketNotification),
		OpDeleteBucketNotification:     s.owned(s.deleteBucketNotification),
		OpGetBucketReplication:         s.owned(s.getBucketReplication),
		OpPutBucketReplication:         s.owned(s.putBucketReplication),
		OpDeleteBucketReplication:      s.owned(s.deleteBucketReplication),
		OpGetBucketLifecycle:           s.owned(s.getBucketLifecycle),
		OpPutBucketLifecycle:           s.owned(s.putBucketLifecycle),
		OpDeleteBucketLifecycle:        s.owned(s.deleteBucketConfig(meta.ConfigLifecycle)),
		OpGetBucketAcl:                 s.owned(s.getACL),
		OpPutBucketAcl:                 s.owned(s.putACL),
		OpGetBucketUnsupportedNotFound: s.owned(s.bucketConfigNotFound),
		OpDeleteBucketUnsupported:      s.owned(s.noContent),
		OpListObjects:                  s.owned(s.listObjectsV1),
		OpListObjectsV2:                s.owned(s.listObjectsV2),
		OpListObjectVersions:           s.owned(s.listObjectVersions),
		OpSearchBucket:                 s.owned(s.searchBucket),
		OpCatalog:                      s.catalog,
		OpListMultipartUploads:         s.owned(s.listMultipartUploads),
		OpDeleteObjects:                s.owned(s.deleteObjects),

		OpPutObject:               s.owned(s.putObject),
		OpCopyObject:              s.owned(s.copyObject),
		OpGetObject:               s.owned(s.getObject),
		OpHeadObject:              s.owned(s.headObject),
		OpDeleteObject:            s.owned(s.deleteObject),
		OpGetObjectTagging:        s.owned(s.getObjectTagging),
		OpPutObjectTagging:        s.owned(s.putObjectTagging),
		OpDeleteObjectTagging:     s.owned(s.deleteObjectTagging),
		OpGetObjectAcl:            s.owned(s.getObjectACL),
		OpPutObjectAcl:            s.owned(s.putObjectACL),
		OpCreateMultipartUpload:   s.owned(s.createMultipartUpload),
		OpUploadPart:              s.owned(s.uploadPart),
		OpUploadPartCopy:          s.owned(s.uploadPartCopy),
		OpCompleteMultipartUpload: s.owned(s.completeMultipartUpload),
		OpAbortMultipartUpload:    s.owned(s.abortMultipartUpload),
		OpListParts:               s.owned(s.listParts),
	}
}

// ServeHTTP implements http.Handler. It never panics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	rid, hid := newRequestIDs()
	rw := &responseWriter{ResponseWriter: w}
	rw.Header().Set("x-amz-request-id", rid)
	rw.Header().Set("x-amz-id-2", hid)
	rw.Header().Set("Server", "Sluice")
	body := &countingReader{r: r.Body}
	if r.Body != nil {
		r.Body = body
	}
	rt := resolve(r, s.domain)
	rc := &reqCtx{
		s: s, w: rw, r: r, ctx: r.Context(), route: rt,
		requestID: rid, hostID: hid, start: start,
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p) // the net/http idiom for aborting a response
			}
			s.log.Error("s3 handler panicked", zap.String("request_id", rid),
				zap.String("operation", string(rt.Op)), zap.Any("panic", p), zap.StackSkip("stack", 2))
			if !rw.wroteHeader {
				s3err.WriteError(rw, r, s3err.Internal(fmt.Errorf("panic: %v", p)), rid, nil)
			}
		}
		s.metrics.observe(rt.Op, rw.statusCode(), s.now().Sub(start), body.n, rw.n)
	}()
	if err := s.serve(rc); err != nil {
		s.writeError(rc, err)
	}
}

// resourceType names the kind of resource a refused method addressed, as
// AWS's MethodNotAllowed body does.
func resourceType(rc *reqCtx) string {
	_, upload := rc.r.URL.Query()["uploadId"]
	switch {
	case upload:
		return "UPLOAD"
	case rc.route.Bucket == "" || rc.r.Method == http.MethodPost:
		return "SERVICE"
	case rc.route.Key == "":
		return "BUCKET"
	}
	return "OBJECT"
}

// maxHeaderSection is the largest request header section AWS accepts.
const maxHeaderSection = 8 << 10

// headerSectionSize is the size of the header lines ("Name: value\r\n").
func headerSectionSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// serve authenticates the request and runs its handler.
func (s *Server) serve(rc *reqCtx) error {
	if rc.route.Op == OpPostObject {
		// The form's policy carries the signature; postObject verifies it.
		if !validBucketName(rc.route.Bucket) {
			return s3err.New(s3err.NoSuchBucket, "").WithBucket(rc.route.Bucket)
		}
		return s.postObject(rc)
	}
	if n := headerSectionSize(rc.r.Header); n > maxHeaderSection {
		return s3err.New(s3err.RequestHeaderSectionTooLarge, "").WithField("MaxSizeAllowed", strconv.Itoa(maxHeaderSection))
	}
	// Requests no operation can serve are refused before authentication.
	switch {
	case rc.route.Err != nil:
		return rc.route.Err
	case rc.route.Op == OpUnknown:
		return s3err.New(s3err.InvalidURI, "")
	case rc.route.Op == OpMethodNotAllowed:
		return s3err.New(s3err.MethodNotAllowed, "The specified method is not allowed against this resource.").
			WithField("Method", rc.r.Method).WithField("ResourceType", resourceType(rc))
	}
	if err := s.authenticate(rc); err != nil {
		return err
	}
	if rc.auth.PayloadMode == sigv4.PayloadStreamingUnsignedTrailer && rc.route.Key == "" && rc.r.Method == http.MethodPut {
		// AWS takes trailing checksums on object uploads only.
		return s3err.New(s3err.InvalidRequest, "The value of x-amz-content-sha256 header is invalid.")
	}
	if rc.route.Op == OpNotImplemented {
		return s3err.New(s3err.NotImplemented, "A header or query you provided implies functionality that is not implemented.")
	}
	if rc.route.Bucket != "" && rc.route.Op != OpCreateBucket && !validBucketName(rc.route.Bucket) {
		// Names that could never have been created cannot exist.
		return s3err.New(s3err.NoSuchBucket, "").WithBucket(rc.route.Bucket)
	}
	if err := checkKey(rc.route.Key); err != nil {
		return err
	}
	h, ok := s.handlers[rc.route.Op]
	if !ok {
		return s3err.New(s3err.NotImplemented, "")
	}
	return h(rc)
}

// checkKey rejects keys the metadata store cannot hold, before any data is
// written: longer than 1,024 bytes (KeyTooLongError), not UTF-8 or holding
// NUL (InvalidArgument; PostgreSQL text cannot store NUL, and every store
// must behave alike). "" (bucket-level requests) passes.
func checkKey(key string) error {
	switch {
	case key == "":
		return nil
	case len(key) > location.MaxKeyLen:
		return s3err.New(s3err.KeyTooLongError, "")
	case !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0:
		return s3err.New(s3err.InvalidArgument, "Object keys must be UTF-8 text without NUL characters.").
			WithArgument("key", "")
	}
	return nil
}

// owned wraps a handler that needs the addressed bucket: it loads it,
// answers NoSuchBucket when it is missing and AccessDenied when the caller
// does not own it.
func (s *Server) owned(h handlerFunc) handlerFunc {
	return func(rc *reqCtx) error {
		b, err := s.store.GetBucket(rc.ctx, rc.route.Bucket)
		if err != nil {
			return s.metaErr(rc, err)
		}
		if b.Owner != rc.principal {
			return s3err.New(s3err.AccessDenied, "")
		}
		if !s.expectedOwner(rc, rc.r.Header.Get("X-Amz-Expected-Bucket-Owner"), b.Owner) {
			return s3err.New(s3err.AccessDenied, "")
		}
		rc.bucket = b
		return h(rc)
	}
}

// expectedOwner checks an x-amz-expected-bucket-owner style header: empty,
// the owner's principal, or an access key of that principal.
func (s *Server) expectedOwner(rc *reqCtx, want, owner string) bool {
	if want == "" || want == owner {
		return true
	}
	if s.creds == nil {
		return false
	}
	_, principal, err := s.creds.Lookup(rc.ctx, want)
	return err == nil && principal == owner
}

// writeError writes err with s3err.WriteError unless a response was
// already started (then the connection is the only signal left).
func (s *Server) writeError(rc *reqCtx, err error) {
	if rc.w.wroteHeader {
		s.log.Warn("s3 request failed after the response started",
			zap.String("request_id", rc.requestID), zap.String("operation", string(rc.route.Op)), zap.Error(err))
		return
	}
	s3err.WriteError(rc.w, rc.r, err, rc.requestID, s.log)
}

// committed runs the after-commit hook.
func (s *Server) committed(rc *reqCtx) {
	if s.after != nil {
		s.after(rc.route.Op)
	}
}

// location returns the driver for a location name.
func (s *Server) location(name string) (location.Driver, error) {
	if name == "" {
		name = s.defLoc
	}
	d, ok := s.locations[name]
	if !ok {
		return nil, s3err.Internal(fmt.Errorf("%w: %q", location.ErrUnknownLocation, name))
	}
	return d, nil
}

// deleteData removes data that no metadata references any more. Failures
// leave garbage behind, never a broken object, so they are only logged.
func (s *Server) deleteData(ctx context.Context, refs []meta.DataRef) {
	if len(refs) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, ref := range refs {
		d, ok := s.locations[ref.Location]
		if !ok {
			s.log.Warn("displaced data in an unknown location", zap.String("location", ref.Location))
			continue
		}
		if err := d.Delete(ctx, ref.Key); err != nil && !errors.Is(err, location.ErrNotFound) {
			s.log.Warn("deleting displaced data failed", zap.String("location", ref.Location), zap.Error(err))
		}
	}
}
