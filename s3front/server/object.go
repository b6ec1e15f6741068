package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
)

// putObject streams the body to the bucket's location under a fresh data
// key, verifies Content-MD5 and x-amz-checksum-*, then commits the new
// version and its ObjectCreated:Put event in one store transaction, and
// finally deletes the data the new version displaced.
func (s *Server) putObject(rc *reqCtx) error {
	h := rc.r.Header
	md5sum, _, ok := parseContentMD5(h)
	if !ok {
		return s3err.New(s3err.InvalidDigest, "")
	}
	cs, err := newChecksumSet(h)
	if err != nil {
		return err
	}
	cs.addDefault()
	attrs, err := parseObjectAttrs(h)
	if err != nil {
		return err
	}
	tags, err := parseTaggingHeader(h)
	if err != nil {
		return err
	}
	size := rc.bodySize()
	if size > maxObjectSize {
		return s3err.New(s3err.EntityTooLarge, "").WithField("MaxSizeAllowed", strconv.Itoa(maxObjectSize))
	}
	if err := s.checkWriteConditions(rc); err != nil {
		return err
	}
	w, err := s.writeData(rc, rc.bucket.Location, rc.r.Body, size, md5sum, cs)
	if err != nil {
		return err
	}
	obj := meta.Object{
		Bucket:       rc.route.Bucket,
		Key:          rc.route.Key,
		Size:         w.Size,
		ETag:         w.ETag,
		ContentType:  attrs.ContentType,
		Headers:      attrs.Headers,
		UserMetadata: attrs.UserMetadata,
		Tags:         tags,
		Checksums:    w.Checksums,
		StorageClass: attrs.StorageClass,
		Location:     w.Location,
		DataKey:      w.Key,
		Owner:        rc.principal,
		LastModified: s.now().UTC(),
	}
	if err := s.setReplication(rc, &obj); err != nil {
		s.deleteData(rc.ctx, []meta.DataRef{{Location: w.Location, Key: w.Key}})
		return err
	}
	res, err := s.store.PutObject(rc.ctx, obj, s.eventFor(rc, events.ObjectCreatedPut))
	if err != nil {
		s.deleteData(rc.ctx, []meta.DataRef{{Location: w.Location, Key: w.Key}})
		return s.metaErr(rc, err)
	}
	s.committed(rc)
	s.deleteData(rc.ctx, res.Displaced)
	hdr := rc.w.Header()
	hdr.Set("ETag", quoteETag(res.Object.ETag))
	if v := versionHeader(rc.bucket, res.Object.VersionID); v != "" {
		hdr.Set("x-amz-version-id", v)
	}
	for algo, v := range w.Checksums {
		hdr.Set(checksumHeader(algo), v)
	}
	if t := checksumType(w.Checksums); t != "" {
		hdr.Set("x-amz-checksum-type", t)
	}
	hdr.Set("x-amz-object-size", strconv.FormatInt(w.Size, 10))
	return rc.noBody(http.StatusOK)
}

// checkWriteConditions applies the conditional-write headers of PutObject:
// If-None-Match: * fails when the key exists; If-Match fails when the
// current ETag differs (NoSuchKey when there is no object).
func (s *Server) checkWriteConditions(rc *reqCtx) error {
	inm, im := rc.r.Header.Get("If-None-Match"), rc.r.Header.Get("If-Match")
	if inm == "" && im == "" {
		return nil
	}
	cur, err := s.store.GetObject(rc.ctx, rc.route.Bucket, rc.route.Key, "")
	exists := err == nil
	if err != nil && !errors.Is(err, meta.ErrNoSuchKey) {
		return s.metaErr(rc, err)
	}
	if inm != "" {
		if strings.TrimSpace(inm) != "*" {
			return s3err.New(s3err.NotImplemented, "A header you provided implies functionality that is not implemented.")
		}
		if exists {
			return s3err.New(s3err.PreconditionFailed, "").WithField("Condition", "If-None-Match")
		}
	}
	if im != "" {
		if !exists {
			return s3err.New(s3err.NoSuchKey, "").WithKey(rc.route.Key)
		}
		if !etagListMatches(im, cur.ETag) {
			return s3err.New(s3err.PreconditionFailed, "").WithField("Condition", "If-Match")
		}
	}
	return nil
}

// lookupObject reads the addressed version (versionId query) of the key.
func (s *Server) lookupObject(rc *reqCtx) (meta.Object, error) {
	vid := rc.query("versionId")
	if rc.hasQuery("versionId") && vid == "" {
		return meta.Object{}, s3err.New(s3err.InvalidArgument, "Version id cannot be the empty string").
			WithArgument("versionId", "")
	}
	obj, err := s.store.GetObject(rc.ctx, rc.route.Bucket, rc.route.Key, vid)
	if err != nil {
		return meta.Object{}, s.metaErr(rc, err)
	}
	return obj, nil
}

// partRange returns the byte range of part n of obj (partNumber query).
func partRange(obj *meta.Object, n int) (byteRange, bool) {
	if len(obj.Parts) == 0 {
		if n == 1 {
			return byteRange{Start: 0, Length: obj.Size}, true
		}
		return byteRange{}, false
	}
	var off int64
	for _, p := range obj.Parts {
		if p.PartNumber == n {
			return byteRange{Start: off, Length: p.Size}, true
		}
		off += p.Size
	}
	return byteRange{}, false
}

// objectRead is the outcome of the shared part of GET and HEAD.
type objectRead struct {
	obj    meta.Object
	rng    *byteRange
	status int
}

// prepareRead looks up the object, evaluates the conditional headers and
// the Range / partNumber selection, and writes every response header.
func (s *Server) prepareRead(rc *reqCtx) (objectRead, error) {
	partNumber := 0
	if pn := rc.query("partNumber"); pn != "" {
		n, err := strconv.Atoi(pn)
		if err != nil || n < 1 || n > maxPartNumber {
			return objectRead{}, s3err.New(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive").
				WithArgument("partNumber", pn)
		}
		if rc.r.Header.Get("Range") != "" {
			return objectRead{}, s3err.New(s3err.InvalidRequest, "Cannot specify both Range header and partNumber query parameter")
		}
		partNumber = n
	}
	obj, err := s.lookupObject(rc)
	if err != nil {
		return objectRead{}, err
	}
	h := rc.w.Header()
	switch requestConditions(rc.r.Header).evaluate(obj.ETag, obj.LastModified) {
	case condNotModified:
		h.Set("ETag", quoteETag(obj.ETag))
		h.Set("Last-Modified", obj.LastModified.UTC().Format(http.TimeFormat))
		if v := versionHeader(rc.bucket, obj.VersionID); v != "" {
			h.Set("x-amz-version-id", v)
		}
		return objectRead{}, s3err.New(s3err.NotModified, "")
	case condPreconditionFailed:
		return objectRead{}, s3err.New(s3err.PreconditionFailed, "At least one of the pre-conditions you specified did not hold")
	}
	out := objectRead{obj: obj, status: http.StatusOK}
	wholeChecksums := true
	var rng byteRange
	switch {
	case partNumber > 0:
		r, ok := partRange(&obj, partNumber)
		if !ok {
			return objectRead{}, s3err.New(s3err.InvalidPartNumber, "The requested partnumber is not satisfiable.").
				WithField("ActualObjectSize", strconv.FormatInt(obj.Size, 10))
		}
		if obj.Size > 0 {
			rng = r
			out.rng = &rng
			out.status = http.StatusPartialContent
		}
		wholeChecksums = obj.PartsCount == 0
	default:
		r, res := parseRange(rc.r.Header.Get("Range"), obj.Size)
		switch res {
		case rangeUnsatisfiable:
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(obj.Size, 10))
			return objectRead{}, s3err.New(s3err.InvalidRange, "").
				WithField("RangeRequested", rc.r.Header.Get("Range")).
				WithField("ActualObjectSize", strconv.FormatInt(obj.Size, 10))
		case rangeOK:
			rng = r
			out.rng = &rng
			out.status = http.StatusPartialContent
			wholeChecksums = false
		}
	}
	setObjectHeaders(h, rc.bucket, &obj, wholeChecksums && strings.EqualFold(rc.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED"))
	for q, hdr := range responseOverrides {
		if v := rc.query(q); v != "" {
			h.Set(hdr, v)
		}
	}
	length := obj.Size
	if out.rng != nil {
		length = out.rng.Length
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", out.rng.Start, out.rng.Start+out.rng.Length-1, obj.Size))
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	return out, nil
}

// getObject streams the object (or the selected range) to the client.
func (s *Server) getObject(rc *reqCtx) error {
	rd, err := s.prepareRead(rc)
	if err != nil {
		return err
	}
	var body io.ReadCloser
	if rd.obj.Size > 0 && (rd.rng == nil || rd.rng.Length > 0) {
		body, err = s.openData(rc.ctx, &rd.obj, rd.rng)
		if err != nil {
			return err
		}
		defer body.Close()
	}
	rc.w.WriteHeader(rd.status)
	if body == nil {
		return nil
	}
	if _, err := io.Copy(rc.w, body); err != nil {
		s.log.Debug("streaming object to client failed", zap.String("request_id", rc.requestID), zap.Error(err))
	}
	return nil
}

// headObject answers with GET's headers and no body; errors have no body.
func (s *Server) headObject(rc *reqCtx) error {
	rd, err := s.prepareRead(rc)
	if err != nil {
		return err
	}
	rc.w.WriteHeader(rd.status)
	return nil
}

// deleteObject deletes the key (delete marker when versioned) or the
// version named by versionId, with its ObjectRemoved event.
// checkDeleteConditions evaluates the conditional DeleteObject headers
// If-Match, x-amz-if-match-size and x-amz-if-match-last-modified-time
// against the version to delete: a mismatch is PreconditionFailed, a
// missing object NoSuchKey. The check reads the object before the delete
// (the store offers no conditional delete), so a write racing between the
// two is not detected.
func (s *Server) checkDeleteConditions(rc *reqCtx, vid string) error {
	h := rc.r.Header
	im, size, lmt := h.Get("If-Match"), h.Get("X-Amz-If-Match-Size"), h.Get("X-Amz-If-Match-Last-Modified-Time")
	if im == "" && size == "" && lmt == "" {
		return nil
	}
	obj, err := s.store.GetObject(rc.ctx, rc.route.Bucket, rc.route.Key, vid)
	if err != nil {
		return s.metaErr(rc, err)
	}
	failed := func(cond string) error {
		return s3err.New(s3err.PreconditionFailed, "At least one of the pre-conditions you specified did not hold").WithField("Condition", cond)
	}
	if im != "" && strings.TrimSpace(im) != "*" && trimETag(strings.TrimSpace(im)) != obj.ETag {
		return failed("If-Match")
	}
	if size != "" {
		if n, err := strconv.ParseInt(size, 10, 64); err != nil || n != obj.Size {
			return failed("x-amz-if-match-size")
		}
	}
	if lmt != "" {
		t, err := http.ParseTime(lmt)
		if err != nil {
			t, err = time.Parse(time.RFC3339, lmt)
		}
		if err != nil || !obj.LastModified.Truncate(time.Second).Equal(t.Truncate(time.Second)) {
			return failed("x-amz-if-match-last-modified-time")
		}
	}
	return nil
}

func (s *Server) deleteObject(rc *reqCtx) error {
	vid := rc.query("versionId")
	if rc.hasQuery("versionId") && vid == "" {
		return s3err.New(s3err.InvalidArgument, "Version id cannot be the empty string").WithArgument("versionId", "")
	}
	if err := s.checkDeleteConditions(rc, vid); err != nil {
		return err
	}
	opts, err := s.deleteOptions(rc, rc.route.Key, vid)
	if err != nil {
		return s.metaErr(rc, err)
	}
	res, err := s.store.DeleteObject(rc.ctx, rc.route.Bucket, rc.route.Key, vid, s.eventFor(rc, events.ObjectRemovedDelete), opts...)
	if err != nil {
		return s.metaErr(rc, err)
	}
	if res.Kind != meta.ChangeNone {
		s.committed(rc)
	}
	s.deleteData(rc.ctx, res.Displaced)
	h := rc.w.Header()
	if res.DeleteMarker {
		h.Set("x-amz-delete-marker", "true")
	}
	if v := versionHeader(rc.bucket, res.VersionID); v != "" {
		h.Set("x-amz-version-id", v)
	}
	return rc.noBody(http.StatusNoContent)
}
