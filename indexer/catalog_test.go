package indexer_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-io/sluice/indexer"
	"github.com/sluice-io/sluice/indexer/store"
)

// resolverCases are the header values HeaderBucketResolver is checked with
// (nil: no header), and the buckets it must return ("!" for an error).
var resolverCases = []struct {
	name   string
	header []string
	want   string // buckets joined by "|", "!" for an error
}{
	{"absent", nil, "!"},
	{"empty: no bucket", []string{""}, ""},
	{"one", []string{"photos"}, "photos"},
	{"several, spaces, empty items", []string{" photos , docs,,"}, "photos|docs"},
	{"duplicates", []string{"docs,docs"}, "docs"},
	{"escaped", []string{"a%2Cb,sp%20ace,%E6%97%A5%E6%9C%AC"}, "a,b|sp ace|日本"},
	{"several lines", []string{"photos", "docs"}, "photos|docs"},
	{"bad escape", []string{"photos,%zz"}, "!"},
	{"escaped space", []string{"photos,%20"}, "photos| "},
	{"NUL", []string{"a%00b"}, "!"},
	{"invalid UTF-8", []string{"a%FFb"}, "!"},
	{"overlong", []string{strings.Repeat("b", store.MaxBucketLen+1)}, "!"},
}

func TestHeaderBucketResolver(t *testing.T) {
	for _, tc := range resolverCases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", indexer.RouteCatalog, nil)
			for _, v := range tc.header {
				r.Header.Add(indexer.CatalogBucketsHeader, v)
			}
			got, err := indexer.HeaderBucketResolver(r)
			if tc.want == "!" {
				if !errors.Is(err, indexer.ErrNoCatalogBuckets) {
					t.Fatalf("got %q, %v; want ErrNoCatalogBuckets", got, err)
				}
				return
			}
			if err != nil || got == nil || strings.Join(got, "|") != tc.want {
				t.Fatalf("got %q (nil %v), %v; want %q", got, got == nil, err, tc.want)
			}
		})
	}
}

// FuzzHeaderBucketResolver checks that any header value either is refused
// or yields distinct, valid bucket names, each of which the value holds in
// escaped form.
func FuzzHeaderBucketResolver(f *testing.F) {
	for _, tc := range resolverCases {
		f.Add(strings.Join(tc.header, ","))
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", indexer.RouteCatalog, nil)
		r.Header[indexer.CatalogBucketsHeader] = []string{v}
		got, err := indexer.HeaderBucketResolver(r)
		if err != nil {
			if !errors.Is(err, indexer.ErrNoCatalogBuckets) {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, b := range got {
			if b == "" || len(b) > store.MaxBucketLen || !utf8.ValidString(b) || strings.IndexByte(b, 0) >= 0 || seen[b] {
				t.Fatalf("%q: bad or repeated bucket %q in %q", v, b, got)
			}
			seen[b] = true
			found := false
			for _, item := range strings.Split(v, ",") {
				if u, err := url.PathUnescape(strings.TrimSpace(item)); err == nil && u == b {
					found = true
				}
			}
			if !found {
				t.Fatalf("%q: bucket %q is not one of its items", v, b)
			}
		}
	})
}

// TestCatalogAdminRoutes checks the catalog routes s3front forwards the
// public search to: the header bounds the buckets, its absence is 403.
func TestCatalogAdminRoutes(t *testing.T) {
	_, admin := apiFixture(t)
	call := func(target string, header ...string) (int, jsonResults) {
		t.Helper()
		req := httptest.NewRequest("GET", target, nil)
		for _, h := range header {
			req.Header.Add(indexer.CatalogBucketsHeader, h)
		}
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, req)
		return rec.Code, decodeJSON(t, rec.Body.String())
	}
	buckets := func(r jsonResults) []string {
		var out []string
		for _, x := range r.Results {
			if !slices.Contains(out, x.Bucket) {
				out = append(out, x.Bucket)
			}
		}
		return out
	}
	code, r := call(indexer.RouteCatalog + "?limit=1000")
	if code != http.StatusForbidden || r.Error.Code != "AccessDenied" {
		t.Fatalf("without the header: %d %+v", code, r)
	}
	code, r = call(indexer.RouteCatalog+"?limit=1000", "photos,docs")
	if code != 200 || len(r.Results) != 24 || strings.Join(buckets(r), ",") != "docs,photos" {
		t.Fatalf("photos and docs: %d %d %v", code, len(r.Results), buckets(r))
	}
	code, r = call(indexer.RouteCatalog+"?limit=1000", "photos", "private")
	if code != 200 || strings.Join(buckets(r), ",") != "photos,private" {
		t.Fatalf("two header lines: %d %v", code, buckets(r))
	}
	// Neither the bucket parameter nor the bucket field widens the list.
	code, r = call(indexer.RouteCatalog+"?bucket=private&bucket=docs", "docs")
	if code != 200 || strings.Join(buckets(r), ",") != "docs" {
		t.Fatalf("bucket parameter: %d %v", code, buckets(r))
	}
	code, r = call(indexer.RouteCatalog+"?q="+url.QueryEscape(`bucket = "private" OR tags.team = "a"`), "docs")
	if code != 200 || strings.Join(buckets(r), ",") != "docs" || len(r.Results) != 4 {
		t.Fatalf("bucket field: %d %d %v", code, len(r.Results), buckets(r))
	}
	// An empty header: the caller reads no bucket.
	code, r = call(indexer.RouteCatalog, "")
	if code != 200 || len(r.Results) != 0 {
		t.Fatalf("empty header: %d %+v", code, r)
	}
	code, r = call(indexer.RouteCatalog, "photos,%zz")
	if code != http.StatusForbidden {
		t.Fatalf("malformed header: %d %+v", code, r)
	}
	code, r = call(indexer.RouteCatalogAggregate+"?by=location", "photos")
	if code != 200 || r.By != "location" || len(r.Groups) != 2 || r.Groups[0].Count+r.Groups[1].Count != 12 {
		t.Fatalf("aggregate: %d %+v", code, r)
	}
	code, r = call(indexer.RouteCatalogAggregate)
	if code != http.StatusForbidden {
		t.Fatalf("aggregate without the header: %d %+v", code, r)
	}
	code, r = call(indexer.RouteCatalog+"?q=%28", "photos")
	if code != 400 || r.Error.Position == nil {
		t.Fatalf("malformed query: %d %+v", code, r)
	}
	rec := get(admin, "POST", indexer.RouteCatalog, "")
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
}
