package server

import (
	"net/url"
	"strings"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// CatalogPath is the path of the public JSON catalog on the S3 endpoint:
// GET /search?q=<where clause> searches every bucket the caller owns, and
// GET /search?by=<field>[&q=...] aggregates over them. A request to /search
// carrying q or by is the catalog; any other request to /search addresses a
// bucket named "search" as usual.
const CatalogPath = "/search"

// CatalogBucketsHeader carries the caller's buckets (comma-separated, each
// path-escaped) from s3front to the indexer's catalog handler. s3front sets it
// after SigV4 and drops any copy the client sent; the indexer trusts it only
// on its admin listener.
const CatalogBucketsHeader = "Sluice-Catalog-Buckets"

// catalogBucket is the bucket name CatalogPath resolves to in path style.
const catalogBucket = "search"

// isCatalog reports whether a request routed to bucket with query has is the
// catalog rather than an operation on a bucket named "search".
func isCatalog(bucket string, vhost bool, has func(string) bool) bool {
	return bucket == catalogBucket && !vhost && (has("q") || has("by"))
}

// catalog answers the public JSON catalog by handing the authenticated request
// to the search handler (the indexer) at /admin/index/catalog, or
// /admin/index/catalog/aggregate when by is given, with the caller's buckets
// in CatalogBucketsHeader and the query string unchanged. The indexer answers
// JSON, or 400 InvalidArgument with the position of a malformed clause.
func (s *Server) catalog(rc *reqCtx) error {
	if s.search == nil {
		return s3err.New(s3err.NotImplemented, "The catalog needs the indexer: run it in this process or set s3.search_url.")
	}
	bs, err := s.store.ListBuckets(rc.ctx, rc.principal)
	if err != nil {
		return s.metaErr(rc, err)
	}
	names := make([]string, len(bs))
	for i, b := range bs {
		names[i] = url.PathEscape(b.Name)
	}
	r := rc.r.Clone(rc.ctx)
	path := "/admin/index/catalog"
	if r.URL.Query().Has("by") {
		path += "/aggregate"
	}
	r.URL = &url.URL{Path: path, RawQuery: rc.r.URL.RawQuery}
	r.RequestURI = r.URL.RequestURI()
	r.Header.Del(CatalogBucketsHeader)
	r.Header.Set(CatalogBucketsHeader, strings.Join(names, ","))
	s.search.ServeHTTP(rc.w, r)
	return nil
}
