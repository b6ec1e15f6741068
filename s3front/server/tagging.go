package server

import (
	"bytes"
	"crypto/md5"
	"io"
	"net/http"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
)

func (s *Server) getObjectTagging(rc *reqCtx) error {
	obj, err := s.lookupObject(rc)
	if err != nil {
		return err
	}
	if v := versionHeader(rc.bucket, obj.VersionID); v != "" {
		rc.w.Header().Set("x-amz-version-id", v)
	}
	return rc.writeXML(http.StatusOK, s3xml.Tagging{TagSet: tagSet(obj.Tags)})
}

// putObjectTagging replaces a version's tags with an ObjectTagging:Put event.
func (s *Server) putObjectTagging(rc *reqCtx) error {
	t, err := s3xml.ParseObjectTagging(rc.r.Body)
	if err != nil {
		return err
	}
	if _, err := s.lookupObject(rc); err != nil {
		return err
	}
	obj, err := s.store.PutObjectTags(rc.ctx, rc.route.Bucket, rc.route.Key, rc.query("versionId"), t.Map(), s.eventFor(rc, ""))
	if err != nil {
		return s.metaErr(rc, err)
	}
	s.committed(rc)
	if v := versionHeader(rc.bucket, obj.VersionID); v != "" {
		rc.w.Header().Set("x-amz-version-id", v)
	}
	return rc.noBody(http.StatusOK)
}

// deleteObjectTagging removes a version's tags with an
// ObjectTagging:Delete event.
func (s *Server) deleteObjectTagging(rc *reqCtx) error {
	if _, err := s.lookupObject(rc); err != nil {
		return err
	}
	obj, err := s.store.DeleteObjectTags(rc.ctx, rc.route.Bucket, rc.route.Key, rc.query("versionId"), s.eventFor(rc, ""))
	if err != nil {
		return s.metaErr(rc, err)
	}
	s.committed(rc)
	if v := versionHeader(rc.bucket, obj.VersionID); v != "" {
		rc.w.Header().Set("x-amz-version-id", v)
	}
	return rc.noBody(http.StatusNoContent)
}

// readSmallBody reads a bounded request body and checks its Content-MD5 and
// x-amz-checksum-* headers, for requests (DeleteObjects) whose integrity
// S3 requires.
func (s *Server) readSmallBody(rc *reqCtx, limit int64) ([]byte, error) {
	sum, present, ok := parseContentMD5(rc.r.Header)
	if !ok {
		return nil, s3err.New(s3err.InvalidDigest, "")
	}
	cs, err := newChecksumSet(rc.r.Header)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(cs.Wrap(rc.r.Body), limit+1))
	if err != nil {
		return nil, s.dataErr(err)
	}
	if int64(len(data)) > limit {
		return nil, s3err.New(s3err.MaxMessageLengthExceeded, "")
	}
	if present {
		got := md5.Sum(data)
		if !bytes.Equal(got[:], sum) {
			return nil, s3err.New(s3err.BadDigest, "")
		}
	}
	if err := cs.Verify(rc.trailers()); err != nil {
		return nil, checksumError(err)
	}
	return data, nil
}

// deleteObjects deletes up to 1000 keys, each in its own transaction with
// its own event, and reports per-key results (only errors when Quiet).
func (s *Server) deleteObjects(rc *reqCtx) error {
	data, err := s.readSmallBody(rc, s3xml.MaxDeleteBody)
	if err != nil {
		return err
	}
	d, err := s3xml.ParseDelete(bytes.NewReader(data))
	if err != nil {
		return err
	}
	out := s3xml.DeleteResult{}
	for _, o := range d.Objects {
		if err := checkKey(o.Key); err != nil || o.Key == "" {
			if err == nil {
				err = s3err.New(s3err.InvalidArgument, "The key must not be empty.")
			}
			out.Errors = append(out.Errors, s3xml.DeleteErrorFrom(o.Key, o.VersionID, err))
			continue
		}
		opts, err := s.deleteOptions(rc, o.Key, o.VersionID)
		var res meta.DeleteResult
		if err == nil {
			res, err = s.store.DeleteObject(rc.ctx, rc.route.Bucket, o.Key, o.VersionID, s.eventFor(rc, ""), opts...)
		}
		if err != nil {
			sub := *rc
			sub.route.Key = o.Key
			out.Errors = append(out.Errors, s3xml.DeleteErrorFrom(o.Key, o.VersionID, s.metaErr(&sub, err)))
			continue
		}
		if res.Kind != meta.ChangeNone {
			s.committed(rc)
		}
		s.deleteData(rc.ctx, res.Displaced)
		if d.Quiet {
			continue
		}
		del := s3xml.DeletedObject{Key: o.Key, VersionID: o.VersionID}
		if res.DeleteMarker {
			del.DeleteMarker = true
			del.DeleteMarkerVersionID = versionHeader(rc.bucket, res.VersionID)
		}
		out.Deleted = append(out.Deleted, del)
	}
	return rc.writeXML(http.StatusOK, out)
}
