package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
)

// Dataset returns the events of the query tests: objects in three buckets
// with varied keys, sizes, types, dates, metadata, tags, locations and
// replication states, a few older versions and delete markers.
func Dataset() []store.Event {
	rng := rand.New(rand.NewPCG(7, 7))
	keys := []string{
		"photos/2023/a.jpg", "photos/2023/b.JPG", "photos/2024/c.png", "photos/2024/d e.jpg",
		"docs/readme.md", "docs/report-2021.pdf", "docs/REPORT-2022.PDF", "logs/app.log",
		"logs/app.log.1", "日本/東京.txt", "été/plage.jpg", "a", "a/b/c/d/e/f", "x.y.z",
		"with\nnewline", "back\\slash", "quote\"s", "percent%2F", "emoji-😀.gif", "zz-last",
		"photos/2025/x.jpg", "photos_other", "Photos/upper.jpg", "\u00ff-latin", "data/1.csv",
	}
	buckets := []string{"alpha", "beta", "gamma.dots"}
	ctypes := []string{"image/jpeg", "image/png", "text/plain", "application/pdf", ""}
	locs := []string{"local", "aws-east", "gcs-eu", ""}
	repl := []string{"", "PENDING", "COMPLETED", "FAILED", "REPLICA"}
	colors := []string{"blue", "red", "Blue", "green", "blue-ish", ""}
	years := []string{"2019", "2020", "2021", "2019.5", "1999", "12000", "n/a", "-5", "2.1e3"}
	dates := []string{"2024-01-15", "2023-12-31", "2024-01-15T10:30:00Z", "2024-06-01T00:00:00+02:00", "soon", "2025-02-28"}
	var out []store.Event
	n := 0
	for _, b := range buckets {
		for i, k := range keys {
			if (i+len(b))%5 == 0 && b != "alpha" {
				continue // not every key in every bucket
			}
			n++
			e := store.Event{
				Op: store.OpPut, Bucket: b, Key: k, VersionID: fmt.Sprintf("v%03d", n), Sequencer: Seq(n),
				Time: T0.Add(time.Duration(rng.IntN(400*24)) * time.Hour).Add(time.Duration(rng.IntN(1000)) * time.Millisecond),
				Size: int64(rng.IntN(5000)), ETag: fmt.Sprintf("%032x", n), Source: "sluice:s3",
				ContentType: ctypes[rng.IntN(len(ctypes))], Location: locs[rng.IntN(len(locs))],
				ReplicationStatus: repl[rng.IntN(len(repl))],
				UserMetadata:      map[string]string{},
				Tags:              map[string]string{},
			}
			if n%7 == 0 {
				e.Time = T0.Add(time.Duration(n) * 24 * time.Hour) // exact instants for boundary queries
				e.Size = 100
			}
			if c := colors[rng.IntN(len(colors))]; c != "" || rng.IntN(2) == 0 {
				e.UserMetadata["color"] = c
			}
			if rng.IntN(4) > 0 {
				e.UserMetadata["year"] = years[rng.IntN(len(years))]
			}
			if rng.IntN(3) > 0 {
				e.UserMetadata["price"] = fmt.Sprintf("%d.%02d", rng.IntN(100), rng.IntN(100))
			}
			if rng.IntN(3) > 0 {
				e.Tags["due"] = dates[rng.IntN(len(dates))]
			}
			if rng.IntN(2) == 0 {
				e.Tags["Team"] = []string{"data", "web", "Data", "ops"}[rng.IntN(4)]
			}
			if rng.IntN(5) == 0 {
				e.Tags["my key"] = "spaced value"
			}
			if rng.IntN(2) == 0 {
				e.Replication = map[string]string{}
				for _, d := range []string{"aws-east", "gcs-eu"} {
					if rng.IntN(3) > 0 {
						e.Replication[d] = []string{"PENDING", "COMPLETED", "FAILED"}[rng.IntN(3)]
					}
				}
			}
			out = append(out, e)
			// Some keys get a newer version or a delete marker.
			switch rng.IntN(8) {
			case 0:
				n++
				e2 := e
				e2.VersionID, e2.Sequencer, e2.Time = fmt.Sprintf("v%03d", n), Seq(n), e.Time.Add(time.Hour)
				e2.Size += 1
				e2.UserMetadata = map[string]string{"color": "violet"}
				out = append(out, e2)
			case 1:
				n++
				out = append(out, store.Event{Op: store.OpDeleteMarker, Bucket: b, Key: k, VersionID: fmt.Sprintf("v%03d", n),
					Sequencer: Seq(n), Time: e.Time.Add(time.Hour), Source: "sluice:s3"})
			}
		}
	}
	return out
}

// Queries are the where clauses the suite checks against Match: every
// operator on every field, boolean structure, and regular expressions.
var Queries = []string{
	`key = "a"`, `key != "a"`, `key <> "a"`, `key < "docs"`, `key <= "docs/readme.md"`, `key > "photos"`, `key >= "photos/2024"`,
	`key = "日本/東京.txt"`, `key = "with\nnewline"`, `key = "back\\slash"`, `key = 'quote"s'`,
	`key LIKE /^photos\//`, `key LIKE "^photos/2024/"`, `key LIKE /\.jpg$/`, `key LIKE /\.jpg$/i`, `key LIKE /(?i)PHOTOS/`,
	`key LIKE /^é/`, `key LIKE /^日本/`, `key LIKE /[0-9]{4}/`, `key LIKE /^[^\/]+$/`, `key LIKE /report-20(21|22)/i`,
	`key LIKE /\d+\.\w+$/`, `key LIKE /😀/`, `key LIKE /^\x{ff}/`, `key LIKE /\bapp\b/`, `key LIKE /\Bpp/`, `key LIKE /(?s)with.newline/`,
	`key LIKE /with.newline/`, `key LIKE /(?m)^newline$/`, `key LIKE /^$/`, `key LIKE /[[:upper:]]/`, `key LIKE /\pL{5,}/`,
	`key LIKE /[\]\-^\\]/`, `key LIKE /\Q.log\E/`, `key LIKE /a|zz/`, `key LIKE /^a$/`, `key LIKE /(ab)+|x{2,}/`,
	`key LIKE /[^a-z\/.]/`, `key LIKE /%2F/`, `key LIKE /\A(?:docs|logs)\//`, `key LIKE /\.(?:jpg|png)\z/i`, `key LIKE /./`,
	`key NOT LIKE /^photos/`, `key LIKE /^photos_/`,
	`content-length = 100`, `content-length != 100`, `content-length > 2500`, `content-length >= 2500.5`, `content-length < 10.2`,
	`content-length <= "1000"`, `content-length = 1.5`, `content-length != 1.5`, `content-length > -1`, `content-length < 1e9`,
	`content-type = "image/jpeg"`, `content-type != "image/jpeg"`, `content-type = ""`, `content-type > "image"`, `content-type LIKE /^image\//`,
	`last-modified > 2024-06-01`, `last-modified <= 2024-06-01T00:00:00Z`, `last-modified < "2024-09-01T12:00:00.5+02:00"`,
	`last-modified >= 2025-01-01`, `last-modified != 2024-01-01`, `last-modified = 2024-03-01T12:00:00Z`,
	`x-amz-meta-color = "blue"`, `x-amz-meta-color != "blue"`, `x-amz-meta-color = ""`, `x-amz-meta-color > "b"`,
	`x-amz-meta-color LIKE /^blue/i`, `x-amz-meta-color NOT LIKE /blue/`, `NOT x-amz-meta-color = "blue"`,
	`x-amz-meta-year > 2019`, `x-amz-meta-year >= "2020"`, `x-amz-meta-year < 2000`, `x-amz-meta-year = 2019`, `x-amz-meta-year != 2019`,
	`x-amz-meta-year <= 2e3`, `x-amz-meta-price > 50`, `x-amz-meta-price < 10.5`, `x-amz-meta-nothing = "x"`, `x-amz-meta-nothing != "x"`,
	`tags.Team = "data"`, `tags.team = "data"`, `tags.Team LIKE /^data$/i`, "`tags.my key` = \"spaced value\"", `tags.due > 2024-03-01`,
	`tags.due <= "2024-01-15"`, `tags.due = 2024-01-15`, `tags.due < "2024-05-31T23:00:00Z"`,
	`replication-status = "COMPLETED"`, `replication-status != ""`, `replication-status LIKE /ED$/`, `replication-status < "F"`,
	`replication-status.aws-east = "COMPLETED"`, `replication-status.aws-east != "COMPLETED"`, `replication-status.gcs-eu LIKE /ED$/`,
	`replication-status.gcs-eu < "FAILED"`, `replication-status.gcs-eu >= "FAILED"`, `replication-status.nowhere = "FAILED"`,
	`NOT replication-status.aws-east = "PENDING"`, `replication-status = "FAILED" AND replication-status.aws-east != "FAILED"`,
	`replication-status.aws-east = "PENDING" AND replication-status.gcs-eu = "PENDING"`, "`replication-status.aws-east` LIKE /^P/i",
	`location = "aws-east"`, `x-amz-storage-class = "gcs-eu"`, `location != "local"`, `location LIKE /-/`,
	`version-id = "v001"`, `version-id > "v050"`, `version-id LIKE /0$/`,
	`is-delete-marker = true`, `is-delete-marker = false`, `is-delete-marker != true`, `is-delete-marker = "TRUE"`,
	`bucket = "beta"`, `bucket != "alpha"`, `bucket LIKE /\./`, `bucket > "alpha" AND key LIKE /^docs/`,
	`x-amz-meta-color = "blue" AND content-length > 1000`, `x-amz-meta-color = "blue" OR tags.Team = "web"`,
	`(key LIKE /^photos/ OR key LIKE /^docs/) AND NOT content-type = "image/png"`,
	`NOT (x-amz-meta-year > 2019 OR x-amz-meta-year < 2000) AND x-amz-meta-price >= 1`,
	`x-amz-meta-color = "violet" AND is-delete-marker = false`,
	`(location = "local" OR location = "") AND (replication-status = "FAILED" OR replication-status = "PENDING") AND content-length < 4000`,
	`NOT NOT key = "a"`, `key = "a" OR NOT key = "a"`,
	// boundaries: every ordering operator on a value that exists
	`key < "a"`, `key <= "a"`, `key > "a"`, `key >= "a"`, `version-id < "v010"`, `version-id <= "v010"`,
	`content-type < "image/jpeg"`, `content-type <= "image/jpeg"`, `replication-status < "FAILED"`, `replication-status <= "FAILED"`,
	`x-amz-meta-color < "blue"`, `x-amz-meta-color <= "blue"`, `x-amz-meta-color >= "red"`, `x-amz-meta-color > "red"`,
	`x-amz-meta-year < 2019`, `x-amz-meta-year <= 2019`, `x-amz-meta-year > 2021`, `x-amz-meta-year >= 2021`,
	`tags.due < 2024-01-15`, `tags.due <= 2024-01-15`, `tags.due > 2025-02-28`, `tags.due >= 2025-02-28`,
	`last-modified < 2024-03-08T12:00:00Z`, `last-modified <= 2024-03-08T12:00:00Z`, `last-modified > 2024-03-15T12:00:00Z`,
	`last-modified >= 2024-03-15T12:00:00Z`, `last-modified = 2024-03-15T12:00:00Z`, `content-length <= 100`, `content-length >= 100`,
	`bucket < "beta"`, `bucket <= "beta"`, `location < "local"`, `location <= "local"`,
	// several terms on one field (compiled as one condition)
	`x-amz-meta-year >= "2000" AND x-amz-meta-year < "2020"`, `x-amz-meta-color LIKE /blue/ AND x-amz-meta-color != "blue"`,
	`x-amz-meta-color LIKE /^bl/`, `tags.Team LIKE /^da/`, `x-amz-meta-color LIKE /^bl/ AND key LIKE /^photos/ AND x-amz-meta-color < "blue-"`,
	`content-length > 10 AND x-amz-meta-price > "1" AND content-length < 4000 AND x-amz-meta-price < "5"`,
}

// typedDecl is the declaration the typed half of the query tests uses.
var typedDecl = map[string]map[string]store.FieldType{
	"alpha":      {"x-amz-meta-year": store.TypeInt, "x-amz-meta-price": store.TypeFloat, "tags.due": store.TypeDate},
	"gamma.dots": {"x-amz-meta-year": store.TypeFloat, "tags.due": store.TypeDate},
}

// typedQueries are queries valid under typedDecl (int fields get integer
// literals).
var typedQueries = []string{
	`x-amz-meta-year > 2019`, `x-amz-meta-year >= 2020`, `x-amz-meta-year < 2000`, `x-amz-meta-year = 2019`, `x-amz-meta-year != 2019`,
	`x-amz-meta-year <= 2000`, `x-amz-meta-year < 2019`, `x-amz-meta-year <= 2019`, `x-amz-meta-year LIKE /^20/`, `x-amz-meta-price > 50`, `x-amz-meta-price < 10.5`, `x-amz-meta-price = "10.50"`,
	`tags.due > 2024-03-01`, `tags.due <= "2024-01-15"`, `tags.due = 2024-01-15`, `tags.due < "2024-05-31T23:00:00Z"`,
	`tags.due >= 2024-01-15T10:30:00Z`, `tags.due < 2024-01-15`, `tags.due > 2025-02-28`,
	`x-amz-meta-year >= 2000 AND x-amz-meta-year < 2020`, `x-amz-meta-year > 1000 AND x-amz-meta-year LIKE /9$/ AND key LIKE /o/`,
	`x-amz-meta-price >= 10 AND tags.due > 2024-01-01 AND x-amz-meta-price < 60.5 AND tags.due < 2025-01-01`, `NOT tags.due > 2024-01-01`, `x-amz-meta-year > 2019 AND tags.due < 2024-06-01`,
}

// scopes are the scopes the query tests run every query in.
func scopes() []store.Scope {
	return []store.Scope{
		{},
		{Versions: true},
		{Buckets: []string{"alpha"}},
		{Buckets: []string{"beta", "gamma.dots"}, Versions: true},
		{Buckets: []string{"gamma.dots"}},
		{Buckets: []string{"alpha"}, Prefix: "photos/"},
		{Prefix: "\u00e9t", Versions: true},
		{Prefix: "\U0010FFFF"},
	}
}

func checkQueries(t *testing.T, s store.Store, all []store.Record, qs []string, types Types) {
	t.Helper()
	for _, q := range qs {
		e, err := query.ParseCatalog(q)
		if err != nil {
			t.Fatalf("parse %q: %v", q, err)
		}
		for _, sc := range scopes() {
			sc.Where = e
			var want []store.Record
			for _, r := range all {
				if InScope(sc, r) && Match(e, r, types) {
					want = append(want, r)
				}
			}
			got := searchAll(t, s, sc, 1000)
			if g, w := keysOf(got), keysOf(want); !slices.Equal(g, w) {
				t.Errorf("query %s in %+v:\n got %d: %q\nwant %d: %q", q, scopeName(sc), len(g), g, len(w), w)
			}
		}
	}
}

func scopeName(sc store.Scope) string {
	return fmt.Sprintf("buckets=%v prefix=%q versions=%v", sc.Buckets, sc.Prefix, sc.Versions)
}

func testQueries(t *testing.T, open Opener) {
	s := openStore(t, open)
	apply(t, s, Dataset()...)
	all := Dump(t, s)
	sameRecords(t, "dataset", all, Model(Dataset()))
	// Non-trivial answers, so that the comparison means something.
	nonEmpty := 0
	for _, q := range Queries {
		e, _ := query.ParseCatalog(q)
		for _, r := range all {
			if Match(e, r, nil) {
				nonEmpty++
				break
			}
		}
	}
	if nonEmpty < len(Queries)*3/4 {
		t.Fatalf("only %d of %d queries match anything: the dataset is too thin", nonEmpty, len(Queries))
	}
	checkQueries(t, s, all, Queries, nil)
	// The same queries once types are declared: string queries on int
	// fields with fractional literals become errors, so use typedQueries.
	for b, decl := range typedDecl {
		if err := s.DeclareTypes(context.Background(), b, decl); err != nil {
			t.Fatal(err)
		}
	}
	types := Types{}
	for b, decl := range typedDecl {
		for f, ty := range decl {
			if types[f] == nil {
				types[f] = map[string]store.FieldType{}
			}
			types[f][b] = ty
		}
	}
	checkQueries(t, s, all, typedQueries, types)
}

func testTyped(t *testing.T, open Opener) {
	s := openStore(t, open)
	ctx := context.Background()
	var evs []store.Event
	for i, y := range []string{"2018", "2019", "2020", "2100", "999", "abc", "2019.0"} {
		for _, b := range []string{"typed", "plain"} {
			e := put(b, fmt.Sprintf("k%d", i), "v", i+1)
			e.UserMetadata = map[string]string{"year": y, "when": []string{"2024-01-02", "2023-12-31T23:59:59Z", "x"}[i%3]}
			e.Tags = map[string]string{"n": fmt.Sprint(i * 10)}
			evs = append(evs, e)
		}
	}
	apply(t, s, evs...)
	keys := func(q string, buckets ...string) string {
		t.Helper()
		sc := store.Scope{Where: mustParse(t, q)}
		if len(buckets) > 0 {
			sc.Buckets = buckets
		}
		rs := searchAll(t, s, sc, 100)
		var out []string
		for _, r := range rs {
			out = append(out, r.Bucket[:1]+r.Key)
		}
		return strings.Join(out, ",")
	}
	// Undeclared: strings compare byte-wise ("999" > "2019").
	if got := keys(`x-amz-meta-year > 2019`, "typed"); got != "tk2,tk3,tk4,tk5,tk6" {
		t.Fatalf("string comparison: %s", got)
	}
	if err := s.DeclareTypes(ctx, "typed", map[string]store.FieldType{"X-Amz-Meta-Year": "INT", "x-amz-meta-when": store.TypeDate, "tags.n": store.TypeInt}); err != nil {
		t.Fatal(err)
	}
	types, err := s.FieldTypes(ctx, "typed")
	if err != nil || len(types) != 3 || types["x-amz-meta-year"] != store.TypeInt {
		t.Fatalf("FieldTypes = %v, %v", types, err)
	}
	// Declared: existing records compare as numbers at once.
	if got := keys(`x-amz-meta-year > 2019`, "typed"); got != "tk2,tk3" {
		t.Fatalf("int comparison: %s", got)
	}
	if got := keys(`x-amz-meta-year = 2019`, "typed"); got != "tk1,tk6" {
		t.Fatalf("int equality (2019.0 is 2019): %s", got)
	}
	if got := keys(`x-amz-meta-when >= 2024-01-01`, "typed"); got != "tk0,tk3,tk6" {
		t.Fatalf("date comparison: %s", got)
	}
	if got := keys(`tags.n >= 30 AND tags.n < 60`, "typed"); got != "tk3,tk4,tk5" {
		t.Fatalf("typed tags: %s", got)
	}
	// A catalog search across buckets types each bucket by its own
	// declaration.
	if got := keys(`x-amz-meta-year > 2019`); got != "pk2,pk3,pk4,pk5,pk6,tk2,tk3" {
		t.Fatalf("mixed catalog: %s", got)
	}
	if got := keys(`x-amz-meta-year > 2019`, "plain", "typed"); got != "pk2,pk3,pk4,pk5,pk6,tk2,tk3" {
		t.Fatalf("mixed catalog with buckets: %s", got)
	}
	// New records are typed too.
	late := put("typed", "k9", "v", 50)
	late.UserMetadata = map[string]string{"year": "3000"}
	apply(t, s, late)
	if got := keys(`x-amz-meta-year > 2100`, "typed"); got != "tk9" {
		t.Fatalf("new record: %s", got)
	}
	// A literal that does not fit the declared type is an InvalidArgument
	// at its position.
	for q, pos := range map[string]int{
		`x-amz-meta-year > "abc"`:   18,
		`x-amz-meta-year > 2019.5`:  18,
		`x-amz-meta-when < 12`:      18,
		`key = "a" OR tags.n = 1.5`: 22,
	} {
		_, err := s.Search(ctx, store.SearchInput{Scope: store.Scope{Buckets: []string{"typed"}, Where: mustParse(t, q)}})
		qe, ok := query.AsError(err)
		if !ok || qe.Pos != pos || !errors.Is(err, query.ErrInvalidArgument) {
			t.Errorf("%s: got %v, want InvalidArgument at %d", q, err, pos)
		}
	}
	// Declaring string resets to the default.
	if err := s.DeclareTypes(ctx, "typed", map[string]store.FieldType{"x-amz-meta-year": store.TypeString}); err != nil {
		t.Fatal(err)
	}
	if got := keys(`x-amz-meta-year > 2019`, "typed"); got != "tk2,tk3,tk4,tk5,tk6,tk9" {
		t.Fatalf("back to strings: %s", got)
	}
	if types, _ := s.FieldTypes(ctx, "typed"); len(types) != 2 {
		t.Fatalf("types after reset: %v", types)
	}
}

func testPagination(t *testing.T, open Opener) {
	s := openStore(t, open)
	var evs []store.Event
	n := 0
	for _, b := range []string{"p1", "p2"} {
		for i := 0; i < 23; i++ {
			for v := 0; v < 1+i%3; v++ {
				n++
				evs = append(evs, put(b, fmt.Sprintf("key-%02d", i), fmt.Sprintf("v%d", v), n))
			}
		}
	}
	apply(t, s, evs...)
	want := Model(evs)
	for _, limit := range []int{1, 2, 7, 50, 1000} {
		sameRecords(t, fmt.Sprintf("limit %d", limit), searchAll(t, s, store.Scope{Versions: true}, limit), want)
		for _, bs := range [][]string{{"p2"}, {"p1", "p2"}} {
			var w []store.Record
			for _, r := range want {
				if slices.Contains(bs, r.Bucket) {
					w = append(w, r)
				}
			}
			sameRecords(t, fmt.Sprintf("limit %d in %v", limit, bs), searchAll(t, s, store.Scope{Buckets: bs, Versions: true}, limit), w)
		}
	}
	// A cursor outside a one-bucket scope: before it, everything; after
	// it, nothing.
	for c, n := range map[store.Cursor]int{{Bucket: "p0", Key: "z"}: 23, {Bucket: "p3", Key: ""}: 0, {Bucket: "p2", Key: "key-10"}: 12} {
		res, err := s.Search(context.Background(), store.SearchInput{Scope: store.Scope{Buckets: []string{"p2"}}, After: &c})
		if err != nil || len(res.Records) != n {
			t.Fatalf("after %+v: %d records, want %d (%v)", c, len(res.Records), n, err)
		}
	}
	// A full last page reports no next page only when nothing follows.
	res, err := s.Search(context.Background(), store.SearchInput{Scope: store.Scope{Buckets: []string{"p1"}}, Limit: 23})
	if err != nil || len(res.Records) != 23 || res.Next != nil {
		t.Fatalf("exact page: %d records, next %v, %v", len(res.Records), res.Next, err)
	}
	// After with an empty version id skips every version of the key.
	res, err = s.Search(context.Background(), store.SearchInput{
		Scope: store.Scope{Versions: true}, After: &store.Cursor{Bucket: "p1", Key: "key-02"}, Limit: 1})
	if err != nil || len(res.Records) != 1 || res.Records[0].Key != "key-03" || res.Next == nil {
		t.Fatalf("after key: %+v %v", res, err)
	}
	res, err = s.Search(context.Background(), store.SearchInput{
		Scope: store.Scope{Versions: true}, After: &store.Cursor{Bucket: "p1", Key: "key-02", VersionID: "v0"}, Limit: 1})
	if err != nil || len(res.Records) != 1 || res.Records[0].Key != "key-02" || res.Records[0].VersionID != "v1" {
		t.Fatalf("after version: %+v %v", res, err)
	}
	// Cursors survive encoding.
	c := store.Cursor{Bucket: "p1", Key: "ké y\n", VersionID: "v"}
	if d, err := store.DecodeCursor(c.Encode()); err != nil || d != c {
		t.Fatalf("cursor round trip: %+v %v", d, err)
	}
	// An empty bucket list matches nothing.
	res, err = s.Search(context.Background(), store.SearchInput{Scope: store.Scope{Buckets: []string{}}})
	if err != nil || len(res.Records) != 0 {
		t.Fatalf("empty bucket list: %+v %v", res, err)
	}
}

func testAggregate(t *testing.T, open Opener) {
	s := openStore(t, open)
	data := Dataset()
	apply(t, s, data...)
	all := Model(data)
	for _, by := range []store.GroupBy{store.GroupBucket, store.GroupLocation, store.GroupContentType, store.GroupReplicationStatus} {
		for _, sc := range []store.Scope{{}, {Versions: true}, {Buckets: []string{"beta"}, Where: mustParse(t, `content-length > 1000`)}} {
			want := map[string]store.Group{}
			for _, r := range all {
				if !InScope(sc, r) || (sc.Where != nil && !Match(sc.Where, r, nil)) {
					continue
				}
				v := map[store.GroupBy]string{store.GroupBucket: r.Bucket, store.GroupLocation: r.Location,
					store.GroupContentType: r.ContentType, store.GroupReplicationStatus: r.ReplicationStatus}[by]
				g := want[v]
				g.Value, g.Count, g.Bytes = v, g.Count+1, g.Bytes+r.Size
				want[v] = g
			}
			var w []store.Group
			for _, k := range slices.Sorted(mapsKeys(want)) {
				w = append(w, want[k])
			}
			got, err := s.Aggregate(context.Background(), store.AggregateInput{Scope: sc, By: by})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("aggregate by %s in %s:\n got %v\nwant %v", by, scopeName(sc), got, w)
			}
		}
	}
	got, err := s.Aggregate(context.Background(), store.AggregateInput{Scope: store.Scope{Buckets: []string{}}, By: store.GroupBucket})
	if err != nil || len(got) != 0 {
		t.Fatalf("empty scope: %v %v", got, err)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
