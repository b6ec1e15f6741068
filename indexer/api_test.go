package indexer_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/indexer"
	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/sqlite"
	"github.com/sluice-io/sluice/indexer/store/storetest"
)

// apiFixture runs a service over a store holding a small catalog.
func apiFixture(t testing.TB) (*indexer.Service, http.Handler) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "i.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var evs []store.Event
	n := 0
	for _, b := range []string{"photos", "docs", "private"} {
		for i := 0; i < 12; i++ {
			n++
			evs = append(evs, store.Event{
				Op: store.OpPut, Bucket: b, Key: fmt.Sprintf("dir/key %02d", i), VersionID: "v1", Sequencer: storetest.Seq(n),
				Time: storetest.T0.Add(time.Duration(n) * time.Minute), Size: int64(100 * i), ETag: fmt.Sprintf("etag%d", n),
				ContentType: "image/png", Location: []string{"local", "aws"}[i%2], Source: "sluice:s3",
				UserMetadata: map[string]string{"year": year(i)}, Tags: map[string]string{"team": []string{"a", "b", "c"}[i%3]},
			})
		}
	}
	if _, err := st.Apply(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	e := newEnvB(t)
	set, admin := e.settings(t)
	r := start(t, testConfig("indexer-api"), set, indexer.WithStore(st))
	return r.svc, admin
}

// year is the x-amz-meta-year of the fixture's i-th key: 2015.. and, last,
// "999", which sorts differently as text and as a number.
func year(i int) string {
	if i == 11 {
		return "999"
	}
	return fmt.Sprint(2015 + i)
}

type jsonResults struct {
	Results    []store.Record `json:"results"`
	NextCursor string         `json:"nextCursor"`
	By         string         `json:"by"`
	Groups     []store.Group  `json:"groups"`
	Error      struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Position *int   `json:"position"`
	} `json:"error"`
}

func decodeJSON(t testing.TB, body string) jsonResults {
	t.Helper()
	var r jsonResults
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return r
}

func TestCatalogSearchJSON(t *testing.T) {
	_, admin := apiFixture(t)
	q := url.QueryEscape(`x-amz-meta-year >= 2020 AND bucket != "docs"`)
	var keys []string
	cursor := ""
	for page := 0; ; page++ {
		rec := get(admin, "GET", "/admin/index/search?limit=3&q="+q+"&cursor="+cursor, "")
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("search: %d %s", rec.Code, rec.Body)
		}
		r := decodeJSON(t, rec.Body.String())
		for _, x := range r.Results {
			keys = append(keys, x.Bucket+"/"+x.Key)
		}
		if r.NextCursor == "" {
			break
		}
		if page > 10 {
			t.Fatal("no end")
		}
		cursor = url.QueryEscape(r.NextCursor)
	}
	if len(keys) != 14 || keys[0] != "photos/dir/key 05" && keys[0] != "private/dir/key 05" {
		t.Fatalf("keys %v", keys)
	}
	// bucket parameters narrow the search.
	rec := get(admin, "GET", "/admin/index/search?bucket=docs&bucket=photos&q="+url.QueryEscape(`tags.team = "a"`), "")
	if r := decodeJSON(t, rec.Body.String()); rec.Code != 200 || len(r.Results) != 8 {
		t.Fatalf("bucket filter: %d %s", rec.Code, rec.Body)
	}
	// aggregations
	rec = get(admin, "GET", "/admin/index/search/aggregate?by=location&q="+url.QueryEscape(`content-length >= 500`), "")
	r := decodeJSON(t, rec.Body.String())
	if rec.Code != 200 || r.By != "location" || fmt.Sprint(r.Groups) != "[{aws 12 9600} {local 9 7200}]" {
		t.Fatalf("aggregate: %d %s", rec.Code, rec.Body)
	}
	rec = get(admin, "GET", "/admin/index/search/aggregate", "")
	if r := decodeJSON(t, rec.Body.String()); rec.Code != 200 || r.By != "bucket" || len(r.Groups) != 3 || r.Groups[0].Count != 12 {
		t.Fatalf("aggregate by default: %d %s", rec.Code, rec.Body)
	}
}

func TestCatalogErrors(t *testing.T) {
	_, admin := apiFixture(t)
	for _, tc := range []struct {
		target string
		status int
		pos    int // -1: no position
	}{
		{"/admin/index/search?q=" + url.QueryEscape(`key = `), 400, 6},
		{"/admin/index/search?q=" + url.QueryEscape(`nope = 1`), 400, 0},
		{"/admin/index/search?limit=0", 400, -1},
		{"/admin/index/search?limit=abc", 400, -1},
		{"/admin/index/search?cursor=%21%21", 400, -1},
		{"/admin/index/search?versions=maybe", 400, -1},
		{"/admin/index/search/aggregate?by=owner", 400, -1},
		{"/admin/index/search/aggregate?q=" + url.QueryEscape(`(key = "a"`), 400, 10},
	} {
		rec := get(admin, "GET", tc.target, "")
		r := decodeJSON(t, rec.Body.String())
		if rec.Code != tc.status || r.Error.Code != "InvalidArgument" {
			t.Errorf("%s: %d %s", tc.target, rec.Code, rec.Body)
			continue
		}
		if (tc.pos < 0) != (r.Error.Position == nil) || (r.Error.Position != nil && *r.Error.Position != tc.pos) {
			t.Errorf("%s: position %v, want %d", tc.target, r.Error.Position, tc.pos)
		}
	}
}

// TestMalformedQueriesNeverFail500 sends many malformed and odd where
// clauses through every search API: the answer is 200 or 400, never 5xx.
func TestMalformedQueriesNeverFail500(t *testing.T) {
	svc, admin := apiFixture(t)
	if err := svc.Store().DeclareTypes(context.Background(), "photos", map[string]store.FieldType{"x-amz-meta-year": store.TypeInt}); err != nil {
		t.Fatal(err)
	}
	qs := []string{
		"", " ", "(", ")", "key", "key =", `key = "`, "key = 'a", `key LIKE /(/`, `key LIKE /a{999}/`, "\xff", "key = \"\xff\"",
		strings.Repeat("(", 100), strings.Repeat("NOT ", 100) + `key = "a"`, `x-amz-meta-year > "abc"`, `x-amz-meta-year = 1.5`,
		`x-amz-meta-year > 2019 OR x-amz-meta-year < "x"`, `tags.x = 1e999`, `content-length > 99999999999999999999999`,
		`last-modified > 0001-01-01`, `last-modified < 9999-12-31T23:59:59Z`, `key LIKE /[^\x00-\x{10FFFF}]/`, `bucket = "photos"`,
		`key = "a" AND`, "`unterminated", `key LIKE /\C/`, strings.Repeat(`key = "a" OR `, 70) + `key = "a"`,
		`x-amz-meta-` + strings.Repeat("n", 200) + ` = "v"`, `key = "` + strings.Repeat("k", 5000) + `"`,
	}
	for _, q := range qs {
		for _, target := range []string{
			"/admin/index/search?q=" + url.QueryEscape(q),
			"/admin/index/search/aggregate?by=location&q=" + url.QueryEscape(q),
			"/admin/index/buckets/photos/search?search=" + url.QueryEscape(q),
		} {
			rec := get(admin, "GET", target, "")
			if rec.Code != 200 && rec.Code != 400 {
				t.Errorf("%.80s: %d %s", target, rec.Code, rec.Body)
			}
			if rec.Code == 400 && !strings.Contains(rec.Body.String(), "InvalidArgument") {
				t.Errorf("%.80s: %s", target, rec.Body)
			}
		}
	}
}

type listResult struct {
	Name                  string
	Prefix                string
	Marker                *string
	NextMarker            string
	ContinuationToken     string
	NextContinuationToken string
	KeyCount              *int
	MaxKeys               int
	IsTruncated           bool
	Contents              []struct {
		Key, LastModified, ETag, StorageClass string
		Size                                  int64
	}
}

type s3Error struct {
	Code, Message, ArgumentName string
	Position                    *int
}

func TestBucketSearchXML(t *testing.T) {
	_, admin := apiFixture(t)
	base := "/admin/index/buckets/photos/search?search=" + url.QueryEscape(`x-amz-meta-year >= "2018"`)
	var keys []string
	marker := ""
	for i := 0; ; i++ {
		rec := get(admin, "GET", base+"&max-keys=4&marker="+url.QueryEscape(marker), "")
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/xml" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		var res listResult
		if err := xml.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		if res.Name != "photos" || res.MaxKeys != 4 || res.Marker == nil || *res.Marker != marker || res.KeyCount != nil {
			t.Fatalf("v1 result: %+v", res)
		}
		for _, c := range res.Contents {
			keys = append(keys, c.Key)
			if !strings.HasPrefix(c.ETag, `"etag`) || c.StorageClass == "" || c.LastModified == "" {
				t.Fatalf("contents %+v", c)
			}
		}
		if !res.IsTruncated {
			break
		}
		marker = res.NextMarker
		if i > 5 {
			t.Fatal("no end")
		}
	}
	if len(keys) != 9 || keys[0] != "dir/key 03" || keys[8] != "dir/key 11" {
		t.Fatalf("keys %v", keys)
	}
	// ListObjectsV2 form with a prefix and URL encoding.
	rec := get(admin, "GET", base+"&list-type=2&max-keys=5&prefix=dir%2Fkey%201&encoding-type=url", "")
	var res listResult
	if err := xml.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s %v", rec.Code, rec.Body, err)
	}
	if res.KeyCount == nil || *res.KeyCount != 2 || res.IsTruncated || res.Contents[0].Key != "dir%2Fkey%2010" {
		t.Fatalf("v2: %+v", res)
	}
	rec = get(admin, "GET", base+"&list-type=2&max-keys=2", "")
	if err := xml.Unmarshal(rec.Body.Bytes(), &res); err != nil || !res.IsTruncated || res.NextContinuationToken == "" {
		t.Fatalf("v2 page 1: %s", rec.Body)
	}
	rec = get(admin, "GET", base+"&list-type=2&max-keys=100&continuation-token="+url.QueryEscape(res.NextContinuationToken), "")
	res = listResult{}
	if err := xml.Unmarshal(rec.Body.Bytes(), &res); err != nil || len(res.Contents) != 7 || res.ContinuationToken == "" {
		t.Fatalf("v2 page 2: %s", rec.Body)
	}
	// Errors: InvalidArgument with the position, as XML.
	for _, tc := range []struct {
		target string
		pos    int
	}{
		{"/admin/index/buckets/photos/search?search=" + url.QueryEscape(`key = "a" AND nope = 1`), 14},
		{"/admin/index/buckets/photos/search?search=" + url.QueryEscape(`bucket = "photos"`), 0},
		{"/admin/index/buckets/photos/search", -1},
		{base + "&max-keys=-1", -1},
		{base + "&encoding-type=base64", -1},
		{base + "&list-type=2&continuation-token=zzz", -1},
	} {
		rec := get(admin, "GET", tc.target, "")
		var e s3Error
		if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != 400 || e.Code != "InvalidArgument" {
			t.Errorf("%s: %d %s", tc.target, rec.Code, rec.Body)
			continue
		}
		if (tc.pos < 0) != (e.Position == nil) || (e.Position != nil && *e.Position != tc.pos) {
			t.Errorf("%s: position %v, want %d", tc.target, e.Position, tc.pos)
		}
	}
	// A token of another bucket is refused.
	rec = get(admin, "GET", "/admin/index/buckets/docs/search?list-type=2&search="+url.QueryEscape(`key LIKE /./`)+"&continuation-token="+url.QueryEscape(res.ContinuationToken), "")
	if rec.Code != 400 {
		t.Fatalf("foreign token: %d %s", rec.Code, rec.Body)
	}
}

func TestFieldTypesAPI(t *testing.T) {
	_, admin := apiFixture(t)
	search := func() int {
		rec := get(admin, "GET", "/admin/index/buckets/photos/search?search="+url.QueryEscape(`x-amz-meta-year > 2019`), "")
		var res listResult
		if err := xml.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		return len(res.Contents)
	}
	if n := search(); n != 7 {
		t.Fatalf("before: %d", n)
	}
	rec := get(admin, "PUT", "/admin/index/buckets/photos/types", `{"x-amz-meta-year":"int","tags.due":"date"}`)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"tags.due":"date","x-amz-meta-year":"int"}` {
		t.Fatalf("put types: %d %s", rec.Code, rec.Body)
	}
	if n := search(); n != 6 { // 2020..2025: "999" is now the number 999
		t.Fatalf("after: %d", n)
	}
	rec = get(admin, "GET", "/admin/index/buckets/photos/types", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"x-amz-meta-year":"int"`) {
		t.Fatalf("get types: %d %s", rec.Code, rec.Body)
	}
	for _, body := range []string{`[1]`, `{"key":"int"}`, `{"x-amz-meta-a":"bool"}`, `not json`, `{"x-amz-meta-a":` + strings.Repeat(" ", 70000) + `"int"}`} {
		rec := get(admin, "PUT", "/admin/index/buckets/photos/types", body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "InvalidArgument") {
			t.Errorf("%.40s: %d %s", body, rec.Code, rec.Body)
		}
	}
}

func TestPublicCatalogHandler(t *testing.T) {
	svc, _ := apiFixture(t)
	h := svc.CatalogHandler(func(r *http.Request) ([]string, error) {
		switch r.Header.Get("X-User") {
		case "alice":
			return []string{"photos", "docs"}, nil
		case "bob":
			return nil, nil
		}
		return nil, errors.New("who are you")
	})
	call := func(user, target string) (int, jsonResults) {
		req, _ := http.NewRequest("GET", target, nil)
		req.Header.Set("X-User", user)
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, decodeJSON(t, rec.Body.String())
	}
	code, r := call("alice", "/search?limit=1000")
	if code != 200 || len(r.Results) != 24 {
		t.Fatalf("alice: %d %d", code, len(r.Results))
	}
	// The bucket parameter cannot widen the caller's buckets.
	code, r = call("alice", "/search?bucket=private&bucket=docs")
	if code != 200 || len(r.Results) != 12 || r.Results[0].Bucket != "docs" {
		t.Fatalf("alice narrowed: %d %+v", code, r)
	}
	code, r = call("alice", "/search?q="+url.QueryEscape(`bucket = "private"`))
	if code != 200 || len(r.Results) != 0 {
		t.Fatalf("alice private: %d %+v", code, r)
	}
	code, r = call("alice", "/anything/aggregate?by=bucket")
	if code != 200 || len(r.Groups) != 2 {
		t.Fatalf("alice aggregate: %d %+v", code, r)
	}
	code, r = call("bob", "/search")
	if code != 200 || len(r.Results) != 0 {
		t.Fatalf("bob: %d %+v", code, r)
	}
	code, r = call("mallory", "/search")
	if code != 403 || r.Error.Code != "AccessDenied" {
		t.Fatalf("mallory: %d %+v", code, r)
	}
	code, r = call("alice", "/search?q=%28")
	if code != 400 || r.Error.Position == nil || *r.Error.Position != 1 {
		t.Fatalf("malformed: %d %+v", code, r)
	}
	rec := get(h, "POST", "/search", "")
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
	// Handler serves the admin routes elsewhere.
	rec = get(svc.Handler(), "GET", "/admin/index/buckets/docs/search?search="+url.QueryEscape(`key LIKE /01$/`), "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<Key>dir/key 01</Key>") {
		t.Fatalf("Handler: %d %s", rec.Code, rec.Body)
	}
}

// FuzzSearchAPI sends arbitrary where clauses through the bucket search
// and the catalog, with declared types in play, down to the database: the
// answer is always 200 or 400 InvalidArgument, never a 5xx or a panic.
func FuzzSearchAPI(f *testing.F) {
	svc, admin := apiFixture(f)
	if err := svc.Store().DeclareTypes(context.Background(), "photos", map[string]store.FieldType{
		"x-amz-meta-year": store.TypeInt, "tags.team": store.TypeDate}); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`x-amz-meta-year > 2019`, `x-amz-meta-year >= 2000 AND x-amz-meta-year < "2020"`, `tags.team < 2024-01-01`,
		`key LIKE /^dir\/key 0[0-9]$/i`, `NOT (content-length > 100 OR location = "aws")`, `bucket = "docs"`,
		`is-delete-marker = false AND version-id != "null"`, `last-modified < 2024-03-01T12:10:00Z`, `x-amz-meta-year = 1.5`,
		`(`, `key = "`, `key LIKE /(/`, "\xff", `tags.team > "x"`, `replication-status LIKE //`,
		`replication-status.aws = "FAILED" OR replication-status.gcs LIKE /^C/`, "`replication-status.a b` != \"x\"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, target := range []string{
			"/admin/index/buckets/photos/search?max-keys=5&search=" + url.QueryEscape(q),
			"/admin/index/search?limit=5&q=" + url.QueryEscape(q),
		} {
			rec := get(admin, "GET", target, "")
			switch rec.Code {
			case 200:
			case 400:
				if !strings.Contains(rec.Body.String(), "InvalidArgument") {
					t.Fatalf("%q: 400 without InvalidArgument: %s", q, rec.Body)
				}
			default:
				t.Fatalf("%q: %d %s", q, rec.Code, rec.Body)
			}
		}
	})
}
