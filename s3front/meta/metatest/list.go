package metatest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/s3front/meta"
)

// listKeys exercises byte ordering: ASCII case, combining and precomposed
// accents, CJK, emoji, U+10FFFF (the code point the store uses to skip prefixes),
// doubled delimiters and keys that equal a common prefix.
var listKeys = []string{
	"a", "B", "b", "ab", "a~", "a/b", "a/c/d", "a/c/e", "a//x", "a/", "a/\U0010FFFFz", "a/\U0010FFFF/q",
	"é", "e\u0301", "ÿ", "日本/語", "日本/x", "日本語", "😀", "😀/1", "z", "z/z/z", "Z", "-", "a-b", "a.b", "\u0080",
}

// ListEntry is one ListObjects item: a key, or (Prefix) a common prefix.
type ListEntry struct {
	Name   string
	Prefix bool
}

// String renders "K:key" or "P:prefix".
func (e ListEntry) String() string {
	if e.Prefix {
		return "P:" + e.Name
	}
	return "K:" + e.Name
}

type entry = ListEntry

// ExpectedListing is the reference ListObjects over a bucket holding exactly keys
// (as latest versions): every entry after startAfter, unpaginated, in order.
func ExpectedListing(keys []string, prefix, delim, startAfter string) []ListEntry {
	uniq := map[string]bool{}
	var sorted []string
	for _, k := range keys {
		if !uniq[k] {
			uniq[k] = true
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted) // Go string order is byte order
	skip := ""
	if delim != "" && strings.HasPrefix(startAfter, prefix) {
		if i := strings.Index(startAfter[len(prefix):], delim); i >= 0 {
			skip = startAfter[:len(prefix)+i+len(delim)]
		}
	}
	var out []entry
	seen := map[string]bool{}
	for _, k := range sorted {
		if k <= startAfter || !strings.HasPrefix(k, prefix) || (skip != "" && strings.HasPrefix(k, skip)) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if !seen[cp] {
					seen[cp] = true
					out = append(out, entry{Name: cp, Prefix: true})
				}
				continue
			}
		}
		out = append(out, entry{Name: k})
	}
	return out
}

// Entries merges a page's objects and common prefixes in byte order.
func Entries(r meta.ListObjectsResult) []ListEntry {
	var out []entry
	for _, o := range r.Objects {
		out = append(out, entry{Name: o.Key})
	}
	for _, p := range r.CommonPrefixes {
		out = append(out, entry{Name: p, Prefix: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func fillKeys(t *testing.T, s meta.Store, bucket string, keys []string) {
	t.Helper()
	for _, k := range keys {
		put(t, s, bucket, k)
	}
}

var listCases = []struct{ prefix, delim string }{
	{"", ""}, {"", "/"}, {"a", ""}, {"a", "/"}, {"a/", "/"}, {"a/c", "/"}, {"a/c/", "/"},
	{"", "c"}, {"", "日本"}, {"a/", "//"}, {"", "/\U0010FFFF"}, {"日本", "/"}, {"😀", "/"},
	{"none", "/"}, {"a/\U0010FFFF", "/"},
}

func testListObjectsOrder(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "lo", "")
	fillKeys(t, s, "lo", listKeys)
	_, err := s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "nope", MaxKeys: 10})
	wantErr(t, err, meta.ErrNoSuchBucket)
	r := try(s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "lo", MaxKeys: 1000})).must(t)
	want := ExpectedListing(listKeys, "", "", "")
	if got := Entries(r); fmt.Sprint(got) != fmt.Sprint(want) || r.IsTruncated || r.NextMarker != "" {
		t.Fatalf("ListObjects order:\n got %q\nwant %q", got, want)
	}
	for i := range r.Objects {
		if r.Objects[i].Key != want[i].Name {
			t.Fatalf("Objects[%d] = %q, want %q", i, r.Objects[i].Key, want[i].Name)
		}
	}
	if r := try(s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "lo", MaxKeys: 0})).must(t); len(r.Objects) != 0 || r.IsTruncated {
		t.Fatalf("MaxKeys 0 = %+v", r)
	}
}

func testListObjectsDelimiter(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "ld", "")
	fillKeys(t, s, "ld", listKeys)
	for _, tc := range listCases {
		r := try(s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "ld", Prefix: tc.prefix, Delimiter: tc.delim, MaxKeys: 1000})).must(t)
		want := ExpectedListing(listKeys, tc.prefix, tc.delim, "")
		if got := Entries(r); fmt.Sprint(got) != fmt.Sprint(want) || r.IsTruncated {
			t.Errorf("prefix %q delim %q:\n got %q\nwant %q", tc.prefix, tc.delim, got, want)
		}
	}
	// Explicit start-after values, including ones inside a common prefix.
	for _, sa := range []string{"a", "a/", "a/c/d", "a/\U0010FFFF", "b", "日本", "😀", "zzz"} {
		r := try(s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "ld", Delimiter: "/", StartAfter: sa, MaxKeys: 1000})).must(t)
		want := ExpectedListing(listKeys, "", "/", sa)
		if got := Entries(r); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("start-after %q:\n got %q\nwant %q", sa, got, want)
		}
	}
}

func testListObjectsPagination(t *testing.T, s meta.Store) {
	mkBucket(t, s, "lp", "")
	keys := append([]string(nil), listKeys...)
	for i := range 40 {
		keys = append(keys, fmt.Sprintf("many/%02d", i), fmt.Sprintf("deep/%d/x", i%7))
	}
	fillKeys(t, s, "lp", keys)
	for _, tc := range append(listCases, struct{ prefix, delim string }{"many/", ""}, struct{ prefix, delim string }{"deep/", "/"}) {
		for _, max := range []int{1, 2, 3, 7, 1000} {
			CheckPagination(t, s, "lp", keys, tc.prefix, tc.delim, max)
		}
	}
}

// CheckPagination pages through ListObjects of bucket (whose latest versions are
// exactly keys) max entries at a time, following NextMarker, and fails t unless
// the pages concatenate to ExpectedListing and every page is well formed.
func CheckPagination(t testing.TB, s meta.Store, bucket string, keys []string, prefix, delim string, max int) {
	t.Helper()
	ctx := context.Background()
	want := ExpectedListing(keys, prefix, delim, "")
	var got []entry
	marker := ""
	for page := 0; ; page++ {
		if page > len(keys)+1 {
			t.Fatalf("prefix %q delim %q max %d: pagination does not end", prefix, delim, max)
		}
		r, err := s.ListObjects(ctx, meta.ListObjectsInput{Bucket: bucket, Prefix: prefix, Delimiter: delim, StartAfter: marker, MaxKeys: max})
		if err != nil {
			t.Fatalf("ListObjects: %v", err)
		}
		pe := Entries(r)
		if len(pe) > max {
			t.Fatalf("page of %d entries exceeds max %d", len(pe), max)
		}
		got = append(got, pe...)
		if !r.IsTruncated {
			if r.NextMarker != "" {
				t.Fatalf("NextMarker %q on last page", r.NextMarker)
			}
			break
		}
		if len(pe) != max || r.NextMarker != pe[len(pe)-1].Name {
			t.Fatalf("truncated page: %d entries (max %d), NextMarker %q, last %v", len(pe), max, r.NextMarker, pe)
		}
		marker = r.NextMarker
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("prefix %q delim %q max %d:\n got %q\nwant %q", prefix, delim, max, got, want)
	}
}

func testListObjectsHidesDeleted(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "lh", meta.VersioningEnabled)
	for _, k := range []string{"a", "b", "c", "d/1", "d/2", "e/1"} {
		put(t, s, "lh", k)
		put(t, s, "lh", k) // a noncurrent version each
	}
	for _, k := range []string{"b", "d/1", "d/2", "x"} {
		try(s.DeleteObject(ctx, "lh", k, "", nil)).must(t)
	}
	r := try(s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "lh", Delimiter: "/", MaxKeys: 1000})).must(t)
	if got, want := fmt.Sprint(Entries(r)), fmt.Sprint([]entry{{Name: "a"}, {Name: "c"}, {Name: "e/", Prefix: true}}); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	for _, o := range r.Objects {
		if !o.IsLatest || o.IsDeleteMarker {
			t.Fatalf("listed %+v", o)
		}
	}
	// Truncation counts only visible entries.
	r = try(s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "lh", Delimiter: "/", MaxKeys: 2})).must(t)
	if !r.IsTruncated || r.NextMarker != "c" {
		t.Fatalf("page = %+v", r)
	}
	r = try(s.ListObjects(ctx, meta.ListObjectsInput{Bucket: "lh", Delimiter: "/", MaxKeys: 3})).must(t)
	if r.IsTruncated {
		t.Fatalf("exact page reported truncated: %+v", r)
	}
}

// verEntry identifies one version in a listing.
type verEntry struct {
	key, id string
	marker  bool
}

func versionEntries(r meta.ListVersionsResult) []string {
	var out []string
	for _, v := range r.Versions {
		out = append(out, fmt.Sprintf("%s@%s/%v/%v", v.Key, v.VersionID, v.IsDeleteMarker, v.IsLatest))
	}
	for _, p := range r.CommonPrefixes {
		out = append(out, "P:"+p)
	}
	return out
}

func testListVersions(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "lv", "")
	put(t, s, "lv", "k") // null version
	noErr(t, s.SetVersioning(ctx, "lv", meta.VersioningEnabled))
	v1 := put(t, s, "lv", "k")
	d := try(s.DeleteObject(ctx, "lv", "k", "", nil)).must(t)
	v2 := put(t, s, "lv", "k")
	a := put(t, s, "lv", "a")
	p1 := put(t, s, "lv", "p/1")
	_, err := s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "nope", MaxKeys: 1})
	wantErr(t, err, meta.ErrNoSuchBucket)
	_, err = s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "lv", VersionIDMarker: "x", MaxKeys: 1})
	wantErr(t, err, meta.ErrInvalidArgument)

	r := try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "lv", MaxKeys: 100})).must(t)
	want := []verEntry{{"a", a.Object.VersionID, false}, {"k", v2.Object.VersionID, false}, {"k", d.VersionID, true},
		{"k", v1.Object.VersionID, false}, {"k", meta.NullVersion, false}, {"p/1", p1.Object.VersionID, false}}
	if len(r.Versions) != len(want) || r.IsTruncated {
		t.Fatalf("versions = %v", versionEntries(r))
	}
	for i, w := range want {
		v := r.Versions[i]
		if v.Key != w.key || v.VersionID != w.id || v.IsDeleteMarker != w.marker {
			t.Fatalf("versions[%d] = %s@%s, want %v (all: %v)", i, v.Key, v.VersionID, w, versionEntries(r))
		}
		wantLatest := i == 0 || i == 1 || i == 5
		if v.IsLatest != wantLatest {
			t.Fatalf("versions[%d].IsLatest = %v", i, v.IsLatest)
		}
	}
	r = try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "lv", Delimiter: "/", MaxKeys: 100})).must(t)
	if len(r.Versions) != 5 || !equalStrings(r.CommonPrefixes, []string{"p/"}) {
		t.Fatalf("delimited versions = %v", versionEntries(r))
	}
	// Markers: start inside key k after the delete marker, and after the null version.
	r = try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "lv", KeyMarker: "k", VersionIDMarker: d.VersionID, MaxKeys: 100})).must(t)
	if got := versionEntries(r); len(got) != 3 || r.Versions[0].VersionID != v1.Object.VersionID || r.Versions[1].VersionID != meta.NullVersion {
		t.Fatalf("after marker = %v", got)
	}
	r = try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "lv", KeyMarker: "k", VersionIDMarker: meta.NullVersion, MaxKeys: 100})).must(t)
	if len(r.Versions) != 1 || r.Versions[0].Key != "p/1" {
		t.Fatalf("after null marker = %v", versionEntries(r))
	}
	r = try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "lv", KeyMarker: "k", MaxKeys: 100})).must(t)
	if len(r.Versions) != 1 || r.Versions[0].Key != "p/1" {
		t.Fatalf("after key marker = %v", versionEntries(r))
	}
}

func testListVersionsPagination(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "lvp", meta.VersioningEnabled)
	for i, k := range listKeys {
		for j := 0; j <= i%4; j++ {
			put(t, s, "lvp", k)
		}
		if i%3 == 0 {
			try(s.DeleteObject(ctx, "lvp", k, "", nil)).must(t)
		}
	}
	for _, tc := range listCases {
		full := try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: "lvp", Prefix: tc.prefix, Delimiter: tc.delim, MaxKeys: 10000})).must(t)
		want := sortedVersionEntries(full)
		for _, max := range []int{1, 2, 5} {
			var got []string
			in := meta.ListVersionsInput{Bucket: "lvp", Prefix: tc.prefix, Delimiter: tc.delim, MaxKeys: max}
			for page := 0; ; page++ {
				if page > 200 {
					t.Fatal("pagination does not end")
				}
				r := try(s.ListObjectVersions(ctx, in)).must(t)
				if n := len(r.Versions) + len(r.CommonPrefixes); n > max || (r.IsTruncated && n != max) {
					t.Fatalf("page size %d, max %d, truncated %v", n, max, r.IsTruncated)
				}
				got = append(got, sortedVersionEntries(r)...)
				if !r.IsTruncated {
					break
				}
				in.KeyMarker, in.VersionIDMarker = r.NextKeyMarker, r.NextVersionIDMarker
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("prefix %q delim %q max %d:\n got %q\nwant %q", tc.prefix, tc.delim, max, got, want)
			}
		}
		// Newest first within a key.
		for i := 1; i < len(full.Versions); i++ {
			p, v := full.Versions[i-1], full.Versions[i]
			if p.Key > v.Key || (p.Key == v.Key && p.Sequencer <= v.Sequencer) {
				t.Fatalf("order: %s@%s before %s@%s", p.Key, p.Sequencer, v.Key, v.Sequencer)
			}
		}
	}
}

// sortedVersionEntries interleaves versions and prefixes in listing order.
func sortedVersionEntries(r meta.ListVersionsResult) []string {
	type e struct {
		key, s string
		i      int
	}
	var es []e
	for i, v := range r.Versions {
		es = append(es, e{v.Key, v.Key + "@" + v.VersionID, i})
	}
	for _, p := range r.CommonPrefixes {
		es = append(es, e{p, "P:" + p, -1})
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].key != es[j].key {
			return es[i].key < es[j].key
		}
		return es[i].i < es[j].i
	})
	out := make([]string, len(es))
	for i, x := range es {
		out[i] = x.s
	}
	return out
}
