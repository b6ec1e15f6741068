package server

import (
	"net/url"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// searchBucket serves GET /{bucket}?search=<where clause>, Zenko's metadata search, by
// handing the authenticated, owner-checked request to the search handler (the indexer)
// at /admin/index/buckets/{bucket}/search with the same query string. The handler
// answers a ListBucketResult, or an S3 error (InvalidArgument with the position of a
// malformed query).
func (s *Server) searchBucket(rc *reqCtx) error {
	if s.search == nil {
		return s3err.New(s3err.NotImplemented, "Metadata search needs the indexer: run it in this process or set s3.search_url.")
	}
	r := rc.r.Clone(rc.ctx)
	r.URL = &url.URL{
		Path:     "/admin/index/buckets/" + rc.route.Bucket + "/search",
		RawPath:  "/admin/index/buckets/" + url.PathEscape(rc.route.Bucket) + "/search",
		RawQuery: rc.r.URL.RawQuery,
	}
	r.RequestURI = r.URL.RequestURI()
	s.search.ServeHTTP(rc.w, r)
	return nil
}
