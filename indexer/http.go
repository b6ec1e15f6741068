package indexer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
)

// Admin routes the indexer mounts on the process listener (no
// authentication: the process listener is an operator interface).
const (
	// RouteSearch is the catalog search over every bucket (JSON).
	RouteSearch = "/admin/index/search"
	// RouteAggregate is the catalog aggregation over every bucket (JSON).
	RouteAggregate = "/admin/index/search/aggregate"
	// RouteBucketSearch is the Zenko-compatible search of one bucket,
	// answering a ListBucketResult document; s3front proxies
	// GET /{bucket}?search= here after authorizing the request.
	RouteBucketSearch = "/admin/index/buckets/{bucket}/search"
	// RouteTypes reads (GET) and declares (PUT) a bucket's field types.
	RouteTypes = "/admin/index/buckets/{bucket}/types"
	// RouteCatalog is the catalog search over the buckets the request's
	// CatalogBucketsHeader names (CatalogHandler with
	// HeaderBucketResolver); s3front forwards the public GET /search?q=
	// here after authenticating the caller.
	RouteCatalog = "/admin/index/catalog"
	// RouteCatalogAggregate is the catalog aggregation over the buckets
	// the request's CatalogBucketsHeader names.
	RouteCatalogAggregate = "/admin/index/catalog/aggregate"
)

// CatalogBucketsHeader carries, on requests to RouteCatalog and
// RouteCatalogAggregate, the buckets the caller may read: a comma-separated
// list, each name URL-path-escaped (url.PathEscape), possibly empty (the
// caller reads no bucket). The process listener is an operator interface:
// whoever reaches it is trusted to set the header; s3front sets it from the
// authenticated caller's buckets and strips any copy a client sent.
const CatalogBucketsHeader = "Sluice-Catalog-Buckets"

// ErrNoCatalogBuckets is returned by HeaderBucketResolver for a request
// without the CatalogBucketsHeader header (answered 403).
var ErrNoCatalogBuckets = errors.New("indexer: no " + CatalogBucketsHeader + " header")

// HeaderBucketResolver is the BucketResolver of the catalog admin routes:
// the distinct buckets CatalogBucketsHeader lists (all its lines),
// unescaped, empty items skipped. It returns ErrNoCatalogBuckets when the
// header is absent, and an error wrapping it for a malformed name (a bad
// escape, an empty, overlong or non-UTF-8 name), so that a request is never
// answered with more than it named.
func HeaderBucketResolver(r *http.Request) ([]string, error) {
	lines, ok := r.Header[http.CanonicalHeaderKey(CatalogBucketsHeader)]
	if !ok {
		return nil, ErrNoCatalogBuckets
	}
	out := []string{}
	seen := map[string]bool{}
	for _, line := range lines {
		for _, item := range strings.Split(line, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			b, err := url.PathUnescape(item)
			if err != nil || b == "" || len(b) > store.MaxBucketLen || !utf8.ValidString(b) || strings.IndexByte(b, 0) >= 0 {
				return nil, fmt.Errorf("%w: malformed bucket %.80q", ErrNoCatalogBuckets, item)
			}
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	return out, nil
}

// BucketResolver returns the buckets the caller of r may read; the public
// catalog handler searches only those. An error is answered 403 with the
// error's text.
type BucketResolver func(r *http.Request) ([]string, error)

// maxTypesBody bounds a field type declaration request.
const maxTypesBody = 64 << 10

// handlers serves the search APIs over the service's store.
type handlers struct {
	store   func() store.Store
	log     *zap.Logger
	metrics *Metrics
}

// apiError is the JSON error body.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Position *int   `json:"position,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorStatus maps an error to an HTTP status, an S3-style code and a
// message safe to show. Unknown errors become 500 InternalError and are
// logged, never shown.
func (h *handlers) errorStatus(err error) (int, string, string, *int) {
	if qe, ok := query.AsError(err); ok {
		pos := qe.Pos
		return http.StatusBadRequest, "InvalidArgument", qe.Error(), &pos
	}
	switch {
	case errors.Is(err, store.ErrInvalidInput), errors.Is(err, store.ErrInvalidCursor), errors.Is(err, errBadParam):
		return http.StatusBadRequest, "InvalidArgument", err.Error(), nil
	case errors.Is(err, errNotReady), errors.Is(err, store.ErrClosed), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "ServiceUnavailable", "the index is not available", nil
	case errors.Is(err, errForbidden):
		return http.StatusForbidden, "AccessDenied", err.Error(), nil
	}
	h.log.Error("index request failed", zap.Error(err))
	return http.StatusInternalServerError, "InternalError", "internal error", nil
}

func (h *handlers) fail(w http.ResponseWriter, err error) {
	status, code, msg, pos := h.errorStatus(err)
	writeJSON(w, status, apiError{Error: apiErrorBody{Code: code, Message: msg, Position: pos}})
}

var (
	errBadParam  = errors.New("invalid parameter")
	errNotReady  = errors.New("indexer: the index is not open")
	errForbidden = errors.New("access denied")
)

func badParam(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadParam, fmt.Sprintf(format, args...))
}

func (h *handlers) openStore() (store.Store, error) {
	st := h.store()
	if st == nil {
		return nil, errNotReady
	}
	return st, nil
}

// catalogScope reads the parameters every catalog request shares: q (the
// where clause, catalog grammar), versions, and bucket (repeatable;
// restricts the search). allowed, when not nil, bounds the buckets.
func catalogScope(r *http.Request, allowed []string) (store.Scope, error) {
	v := r.URL.Query()
	var sc store.Scope
	if q := v.Get("q"); q != "" {
		e, err := query.ParseCatalog(q)
		if err != nil {
			return sc, err
		}
		sc.Where = e
	}
	if s := v.Get("versions"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return sc, badParam("versions must be true or false")
		}
		sc.Versions = b
	}
	asked := v["bucket"]
	switch {
	case allowed == nil && len(asked) > 0:
		sc.Buckets = asked
	case allowed != nil && len(asked) > 0:
		sc.Buckets = []string{}
		for _, b := range asked {
			if slices.Contains(allowed, b) {
				sc.Buckets = append(sc.Buckets, b)
			}
		}
	case allowed != nil:
		sc.Buckets = slices.Clone(allowed)
	}
	if len(sc.Buckets) > store.MaxBuckets {
		return sc, badParam("more than %d buckets", store.MaxBuckets)
	}
	return sc, nil
}

// searchResponse is the JSON body of a catalog search.
type searchResponse struct {
	Results    []store.Record `json:"results"`
	NextCursor string         `json:"nextCursor,omitempty"`
}

// aggregateResponse is the JSON body of a catalog aggregation.
type aggregateResponse struct {
	By     store.GroupBy `json:"by"`
	Groups []store.Group `json:"groups"`
}

func (h *handlers) search(w http.ResponseWriter, r *http.Request, allowed []string) {
	start := time.Now()
	defer func() { h.metrics.QueryDuration.WithLabelValues("search").Observe(time.Since(start).Seconds()) }()
	sc, err := catalogScope(r, allowed)
	if err != nil {
		h.fail(w, err)
		return
	}
	in := store.SearchInput{Scope: sc}
	v := r.URL.Query()
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxLimit {
			h.fail(w, badParam("limit must be 1..%d", store.MaxLimit))
			return
		}
		in.Limit = n
	}
	if s := v.Get("cursor"); s != "" {
		c, err := store.DecodeCursor(s)
		if err != nil {
			h.fail(w, err)
			return
		}
		in.After = &c
	}
	st, err := h.openStore()
	if err != nil {
		h.fail(w, err)
		return
	}
	res, err := st.Search(r.Context(), in)
	if err != nil {
		h.fail(w, err)
		return
	}
	out := searchResponse{Results: res.Records}
	if out.Results == nil {
		out.Results = []store.Record{}
	}
	if res.Next != nil {
		out.NextCursor = res.Next.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handlers) aggregate(w http.ResponseWriter, r *http.Request, allowed []string) {
	start := time.Now()
	defer func() { h.metrics.QueryDuration.WithLabelValues("aggregate").Observe(time.Since(start).Seconds()) }()
	sc, err := catalogScope(r, allowed)
	if err != nil {
		h.fail(w, err)
		return
	}
	by := store.GroupBucket
	if s := r.URL.Query().Get("by"); s != "" {
		if by, err = store.ParseGroupBy(s); err != nil {
			h.fail(w, err)
			return
		}
	}
	st, err := h.openStore()
	if err != nil {
		h.fail(w, err)
		return
	}
	groups, err := st.Aggregate(r.Context(), store.AggregateInput{Scope: sc, By: by})
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, aggregateResponse{By: by, Groups: groups})
}

func (h *handlers) getTypes(w http.ResponseWriter, r *http.Request) {
	st, err := h.openStore()
	if err != nil {
		h.fail(w, err)
		return
	}
	types, err := st.FieldTypes(r.Context(), r.PathValue("bucket"))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, types)
}

// putTypes declares field types: a JSON object {"x-amz-meta-year": "int",
// "tags.due": "date"}. It answers the bucket's declared types.
func (h *handlers) putTypes(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxTypesBody+1))
	if err != nil {
		h.fail(w, badParam("reading the body: %v", err))
		return
	}
	if len(body) > maxTypesBody {
		h.fail(w, badParam("body larger than %d bytes", maxTypesBody))
		return
	}
	var decl map[string]store.FieldType
	if err := json.Unmarshal(body, &decl); err != nil {
		h.fail(w, badParam("body must be a JSON object of field name to int, float, date or string"))
		return
	}
	st, err := h.openStore()
	if err != nil {
		h.fail(w, err)
		return
	}
	bucket := r.PathValue("bucket")
	if err := st.DeclareTypes(r.Context(), bucket, decl); err != nil {
		h.fail(w, err)
		return
	}
	h.getTypes(w, r)
}

// catalog is the public catalog handler: the caller's buckets only.
type catalog struct {
	h       *handlers
	resolve BucketResolver
}

// ServeHTTP answers GET .../search and GET .../search/aggregate (any path
// ending in /aggregate aggregates).
func (c catalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, apiError{Error: apiErrorBody{Code: "MethodNotAllowed", Message: "use GET"}})
		return
	}
	allowed, err := c.resolve(r)
	if err != nil {
		c.h.fail(w, fmt.Errorf("%w: %v", errForbidden, err))
		return
	}
	if allowed == nil {
		allowed = []string{}
	}
	if strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/aggregate") {
		c.h.aggregate(w, r, allowed)
		return
	}
	c.h.search(w, r, allowed)
}
