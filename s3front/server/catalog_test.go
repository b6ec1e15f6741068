package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-io/sluice/s3front/server"
)

// catalogRecorder stands in for the indexer's admin handler: it records what s3front
// forwards and answers a fixed JSON body. The indexer side is tested in the indexer
// module and end to end in e2e.
type catalogRecorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (c *catalogRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.reqs = append(c.reqs, r)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"objects":[]}`))
}

func (c *catalogRecorder) last(t *testing.T) *http.Request {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reqs) == 0 {
		t.Fatal("nothing reached the catalog handler")
	}
	return c.reqs[len(c.reqs)-1]
}

func TestCatalogForwardsCallersBuckets(t *testing.T) {
	rec := &catalogRecorder{}
	e := newEnv(t, func(o *server.Options) { o.Search = rec })
	e.mkBucket(e.alice, "a-one")
	e.mkBucket(e.alice, "a.two")
	e.mkBucket(e.bob, "b-only")

	// A forged header from the client must not survive.
	hdr := http.Header{server.CatalogBucketsHeader: {"b-only"}}
	res := e.do("GET", server.CatalogPath+"?q="+url.QueryEscape("content-length > 3"), nil, hdr, "")
	if res.Status != http.StatusOK || string(res.Body) != `{"objects":[]}` {
		t.Fatalf("catalog: %d %s", res.Status, res.Body)
	}
	r := rec.last(t)
	if r.URL.Path != "/admin/index/catalog" || r.URL.Query().Get("q") != "content-length > 3" {
		t.Fatalf("forwarded to %s?%s", r.URL.Path, r.URL.RawQuery)
	}
	got := r.Header.Values(server.CatalogBucketsHeader)
	if len(got) != 1 || got[0] != "a-one,a.two" {
		t.Fatalf("%s = %q, want alice's buckets only", server.CatalogBucketsHeader, got)
	}

	res = e.do("GET", server.CatalogPath+"?by=location", nil, nil, "")
	if res.Status != http.StatusOK {
		t.Fatalf("aggregate: %d %s", res.Status, res.Body)
	}
	if r := rec.last(t); r.URL.Path != "/admin/index/catalog/aggregate" || r.URL.Query().Get("by") != "location" {
		t.Fatalf("aggregate forwarded to %s?%s", r.URL.Path, r.URL.RawQuery)
	}
}

func TestCatalogNeedsAuthAndIndexer(t *testing.T) {
	rec := &catalogRecorder{}
	e := newEnv(t, func(o *server.Options) { o.Search = rec })
	resp, err := http.Get(e.url + server.CatalogPath + "?q=" + url.QueryEscape("key = 'x'"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous catalog request: %d, want 403", resp.StatusCode)
	}
	if len(rec.reqs) != 0 {
		t.Fatal("an anonymous request reached the catalog handler")
	}

	// Without the indexer: NotImplemented, not a listing of a bucket named "search".
	bare := newEnv(t)
	if res := bare.do("GET", server.CatalogPath+"?q=x", nil, nil, ""); res.Status != http.StatusNotImplemented || res.Code != "NotImplemented" {
		t.Fatalf("catalog without indexer: %d %s", res.Status, res.Code)
	}
	// A bucket named "search" still works for S3 operations without q or by.
	bare.mkBucket(bare.alice, "search")
	bare.put(bare.alice, "search", "k", "v")
	if res := bare.do("GET", "/search?list-type=2", nil, nil, ""); res.Status != http.StatusOK || !strings.Contains(string(res.Body), "<Key>k</Key>") {
		t.Fatalf("ListObjectsV2 on bucket search: %d %s", res.Status, res.Body)
	}
}
