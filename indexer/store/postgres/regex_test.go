package postgres

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/services/pgtest"
)

// regexSubjects are the strings every pattern is tried on.
var regexSubjects = []string{
	"", "a", "A", "abc", "ABC", "aBc", "x\ny", "x\r\ny", "line1\nline2\n", "word boundary", "under_score",
	"é", "É", "ß", "ẞ", "K", "\u212a", "ſ", "s", "日本語", "😀", "a😀b", "tab\there", "back\\slash", "[]^-",
	"photos/2024/a.jpg", "REPORT-2022.PDF", "100", "1e9", "\u00ff", "\u0001ctl", ".*+?(){}|$",
}

var regexPatterns = []struct{ pattern, flags string }{
	{"a", ""}, {"A", "i"}, {"abc", "i"}, {"^a", ""}, {"c$", ""}, {"^$", ""}, {".", ""}, {"^.$", ""}, {"^.$", "s"},
	{"x.y", ""}, {"x.y", "s"}, {"^line2$", "m"}, {"^line1$", ""}, {"\\bboundary\\b", ""}, {"\\Bound", ""}, {"\\w+", ""},
	{"\\W", ""}, {"\\d{3}", ""}, {"\\D", ""}, {"\\s", ""}, {"\\S+$", ""}, {"[[:alpha:]]+", ""}, {"[[:^digit:]]", ""},
	{"\\pL", ""}, {"\\PL", ""}, {"\\p{Han}", ""}, {"\\p{Greek}", ""}, {"[^a-z]", ""}, {"[^a-z]", "i"}, {"é", "i"},
	{"ß", "i"}, {"k", "i"}, {"S", "i"}, {"[a-c]{2,}", ""}, {"(ab|c)+", ""}, {"a|", ""}, {"(?:)", ""}, {"x*", ""},
	{"^(a|b)?c", ""}, {"\\x{1F600}", ""}, {"😀", ""}, {"[😀-😂]", ""}, {"\\\\", ""}, {"\\[\\]\\^-", ""}, {"[\\]\\[^-]", ""},
	{"\\Q.*+?\\E", ""}, {"[.*+?(){}|$]{5}", ""}, {"\\A\\d", ""}, {"\\d\\z", ""}, {"\\t", ""}, {"[\\x00-\\x1f]", ""},
	{"\\x01", ""}, {"\u00ff", "i"}, {"(?U)a+?", ""}, {"a{0}", ""}, {"a{2}", ""}, {"a{1,1}b", ""}, {"[^\\n]+\\n", ""},
	{"(?i)r(?-i)EPORT", ""}, {"^[^/]+/[^/]+/", ""}, {"\\.(?:jpg|pdf)$", "i"}, {"^\\p{Lu}", ""}, {"[\\p{L}&&[^a]]", ""},
}

func TestRegexParity(t *testing.T) {
	db, err := sql.Open("pgx", pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, p := range regexPatterns {
		re, tree, err := query.CompileRegexp(p.pattern, p.flags)
		if err != nil {
			if strings.Contains(p.pattern, "&&") {
				continue // not RE2 syntax; only checks that it is refused
			}
			t.Fatalf("compile %q: %v", p.pattern, err)
		}
		are, err := toARE(tree)
		if err != nil {
			t.Fatalf("translate %q: %v", p.pattern, err)
		}
		rows, err := db.QueryContext(ctx, `SELECT s, s ~ $1 FROM unnest($2::text[]) AS s`, are, regexSubjects)
		if err != nil {
			t.Fatalf("pattern /%s/%s as %q: %v", p.pattern, p.flags, are, err)
		}
		for rows.Next() {
			var s string
			var got bool
			if err := rows.Scan(&s, &got); err != nil {
				t.Fatal(err)
			}
			if want := re.MatchString(s); got != want {
				t.Errorf("/%s/%s (ARE %q) on %q: PostgreSQL %v, Go %v", p.pattern, p.flags, are, s, got, want)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("pattern /%s/%s as %q: %v", p.pattern, p.flags, are, err)
		}
		rows.Close()
	}
}
