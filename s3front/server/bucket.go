package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
)

// listBuckets answers ListBuckets with the caller's buckets only.
func (s *Server) listBuckets(rc *reqCtx) error {
	bs, err := s.store.ListBuckets(rc.ctx, rc.principal)
	if err != nil {
		return s.metaErr(rc, err)
	}
	prefix := rc.query("prefix")
	limit := 10000
	if v := rc.query("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return s3err.New(s3err.InvalidArgument, "Argument max-buckets must be an integer between 1 and 10000").
				WithArgument("max-buckets", v)
		}
		limit = n
	}
	after := ""
	if tok := rc.query("continuation-token"); tok != "" {
		k, ok := decodeToken(tok)
		if !ok {
			return s3err.New(s3err.InvalidArgument, "The continuation token provided is incorrect").
				WithArgument("continuation-token", tok)
		}
		after = k
	}
	out := s3xml.ListAllMyBucketsResult{
		Owner:   &s3xml.Owner{ID: rc.principal, DisplayName: rc.principal},
		Buckets: make([]s3xml.Bucket, 0, min(len(bs), limit)),
		Prefix:  prefix,
	}
	for _, b := range bs { // ordered by name
		if !strings.HasPrefix(b.Name, prefix) || b.Name <= after {
			continue
		}
		if len(out.Buckets) == limit {
			out.ContinuationToken = encodeToken(out.Buckets[limit-1].Name)
			break
		}
		out.Buckets = append(out.Buckets, s3xml.Bucket{
			Name:         b.Name,
			CreationDate: s3xml.NewTime(b.CreatedAt),
			BucketRegion: s.region,
		})
	}
	return rc.writeXML(http.StatusOK, out)
}

// createBucket answers CreateBucket. The LocationConstraint must name a
// configured location; none means the default location. The region name
// itself is accepted as a synonym of the default location, so clients that
// always send their region keep working.
func (s *Server) createBucket(rc *reqCtx) error {
	name := rc.route.Bucket
	if !validBucketName(name) {
		return s3err.New(s3err.InvalidBucketName, "").WithBucket(name)
	}
	cfg, err := s3xml.ParseCreateBucketConfiguration(rc.r.Body)
	if err != nil {
		return err
	}
	loc := cfg.LocationConstraint
	switch {
	case loc == "", loc == s.region:
		loc = s.defLoc
	default:
		if _, ok := s.locations[loc]; !ok {
			// AWS's message; the element names the constraint that is not
			// one of the configured locations.
			return s3err.New(s3err.InvalidLocationConstraint, "The specified location-constraint is not valid").
				WithBucket(name).WithField("LocationConstraint", loc)
		}
	}
	_, err = s.store.CreateBucket(rc.ctx, meta.Bucket{
		Name:      name,
		Owner:     rc.principal,
		Location:  loc,
		CreatedAt: s.now().UTC(),
	})
	if errors.Is(err, meta.ErrBucketExists) {
		existing, gerr := s.store.GetBucket(rc.ctx, name)
		if gerr == nil && existing.Owner == rc.principal {
			return s3err.New(s3err.BucketAlreadyOwnedByYou, "").WithBucket(name)
		}
		return s3err.New(s3err.BucketAlreadyExists, "").WithBucket(name)
	}
	if err != nil {
		return s.metaErr(rc, err)
	}
	if cfg.Tags != nil && len(cfg.Tags.Tags) > 0 {
		if err := s.putConfig(rc, meta.ConfigTagging, s3xml.Tagging{TagSet: cfg.Tags.Tags}); err != nil {
			return err
		}
	}
	rc.w.Header().Set("Location", "/"+name)
	rc.w.Header().Set("x-amz-bucket-arn", "arn:aws:s3:::"+name)
	return rc.noBody(http.StatusOK)
}

func (s *Server) headBucket(rc *reqCtx) error {
	rc.w.Header().Set("x-amz-bucket-region", s.region)
	rc.w.Header().Set("x-amz-sluice-location", rc.bucket.Location)
	return rc.noBody(http.StatusOK)
}

// deleteBucket deletes an empty bucket. In-progress multipart uploads do
// not keep a bucket alive (as in S3): when they are all that is left, they
// are aborted and their parts deleted first.
func (s *Server) deleteBucket(rc *reqCtx) error {
	_, cfgErr := s.store.GetBucketConfig(rc.ctx, rc.route.Bucket, meta.ConfigNotification)
	notified := cfgErr == nil
	_, replErr := s.store.GetBucketConfig(rc.ctx, rc.route.Bucket, meta.ConfigReplication)
	err := s.store.DeleteBucket(rc.ctx, rc.route.Bucket)
	if errors.Is(err, meta.ErrBucketNotEmpty) {
		var aborted bool
		if aborted, err = s.abortAllUploads(rc); err == nil && aborted {
			err = s.store.DeleteBucket(rc.ctx, rc.route.Bucket)
		} else if err == nil {
			err = meta.ErrBucketNotEmpty
		}
	}
	if err != nil {
		return s.metaErr(rc, err)
	}
	if notified && s.notify != nil {
		// The bucket is gone, so a retry could not apply this: log it; the
		// startup sync removes subscriptions of buckets that no longer exist.
		if err := s.notify(rc.ctx, rc.route.Bucket, nil); err != nil {
			s.log.Warn("subscriptions of a deleted bucket not removed", zap.String("bucket", rc.route.Bucket), zap.Error(err))
		}
	}
	s.forgetReplication(rc, replErr == nil)
	return rc.noBody(http.StatusNoContent)
}

// abortAllUploads aborts every upload of a bucket that holds no object
// versions; aborted reports whether it found the bucket in that state.
func (s *Server) abortAllUploads(rc *reqCtx) (aborted bool, err error) {
	vs, err := s.store.ListObjectVersions(rc.ctx, meta.ListVersionsInput{Bucket: rc.route.Bucket, MaxKeys: 1})
	if err != nil {
		return false, err
	}
	if len(vs.Versions) > 0 || len(vs.CommonPrefixes) > 0 {
		return false, nil
	}
	for {
		ups, err := s.store.ListUploads(rc.ctx, meta.ListUploadsInput{Bucket: rc.route.Bucket, MaxUploads: maxListKeys})
		if err != nil {
			return false, err
		}
		for _, u := range ups.Uploads {
			refs, err := s.store.AbortUpload(rc.ctx, rc.route.Bucket, u.Key, u.ID)
			if err != nil && !errors.Is(err, meta.ErrNoSuchUpload) {
				return false, err
			}
			s.deleteData(rc.ctx, refs)
		}
		if !ups.IsTruncated || len(ups.Uploads) == 0 {
			return true, nil
		}
	}
}

// getBucketLocation reports the bucket's Sluice location as its
// LocationConstraint; the default location reads as the configured region
// (empty for us-east-1, as in AWS).
func (s *Server) getBucketLocation(rc *reqCtx) error {
	v := rc.bucket.Location
	if v == s.defLoc {
		v = s.region
		if v == "us-east-1" {
			v = ""
		}
	}
	return rc.writeXML(http.StatusOK, s3xml.LocationConstraint{Value: v})
}

func (s *Server) getBucketVersioning(rc *reqCtx) error {
	return rc.writeXML(http.StatusOK, s3xml.VersioningConfiguration{Status: rc.bucket.Versioning})
}

func (s *Server) putBucketVersioning(rc *reqCtx) error {
	v, err := s3xml.ParseVersioningConfiguration(rc.r.Body)
	if err != nil {
		return err
	}
	if v.Status == meta.VersioningSuspended {
		if _, err := s.store.GetBucketConfig(rc.ctx, rc.route.Bucket, meta.ConfigReplication); err == nil {
			return s3err.New(s3err.InvalidBucketState,
				"A replication configuration is present on this bucket, so you cannot change the versioning state.")
		}
	}
	if err := s.store.SetVersioning(rc.ctx, rc.route.Bucket, v.Status); err != nil {
		return s.metaErr(rc, err)
	}
	return rc.noBody(http.StatusOK)
}

// noContent answers 204 (DELETE of a configuration Sluice never stores).
func (s *Server) noContent(rc *reqCtx) error { return rc.noBody(http.StatusNoContent) }

// bucketConfigNotFound answers a GET of a configuration Sluice never
// stores with the code AWS uses for "not configured".
func (s *Server) bucketConfigNotFound(rc *reqCtx) error {
	code := s3err.ErrorCode(rc.route.NotFoundCode)
	if !code.Known() {
		return s3err.New(s3err.NotImplemented, "")
	}
	return s3err.New(code, "").WithBucket(rc.route.Bucket)
}
