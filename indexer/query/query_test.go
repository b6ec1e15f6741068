package query

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// validQueries maps a query to its canonical form.
var validQueries = []struct {
	in, want string
}{
	// every operator
	{`key = "a"`, `key = "a"`},
	{`key != "a"`, `key != "a"`},
	{`key <> "a"`, `key != "a"`},
	{`key < "a"`, `key < "a"`},
	{`key > "a"`, `key > "a"`},
	{`key <= "a"`, `key <= "a"`},
	{`key >= "a"`, `key >= "a"`},
	{`key LIKE /^a/`, `key LIKE /^a/`},
	{`key like "^a"`, `key LIKE /^a/`},
	{`key LIKE /^A/i`, `key LIKE /^A/i`},
	{`key LIKE /a.b/si`, `key LIKE /a.b/is`},
	{`key NOT LIKE /x/`, `NOT key LIKE /x/`},
	{`key LIKE /a\/b/`, `key LIKE /a\/b/`},
	{`key LIKE "a/b"`, `key LIKE /a\/b/`},
	// every field
	{`content-length > 1048576`, `content-length > 1048576`},
	{`content-length >= "10"`, `content-length >= "10"`},
	{`content-length < 1e3`, `content-length < 1e3`},
	{`content-type = "image/png"`, `content-type = "image/png"`},
	{`last-modified > 2024-05-01`, `last-modified > 2024-05-01`},
	{`last-modified <= 2024-05-01T10:00:00Z`, `last-modified <= 2024-05-01T10:00:00Z`},
	{`last-modified < "2024-05-01T10:00:00.5+02:00"`, `last-modified < "2024-05-01T10:00:00.5+02:00"`},
	{`x-amz-meta-color = 'blue'`, `x-amz-meta-color = "blue"`},
	{`X-Amz-Meta-Color = "blue"`, `x-amz-meta-color = "blue"`},
	{"`x-amz-meta-color`=\"blue\"", `x-amz-meta-color = "blue"`},
	{`x-amz-meta-year > 2019`, `x-amz-meta-year > 2019`},
	{`tags.Team = "data"`, `tags.Team = "data"`},
	{"`tags.my key` = \"v\"", "`tags.my key` = \"v\""},
	{`replication-status = "COMPLETED"`, `replication-status = "COMPLETED"`},
	{`replication-status.aws-east = "FAILED"`, `replication-status.aws-east = "FAILED"`},
	{`Replication-Status.GCS_eu != "COMPLETED"`, `replication-status.GCS_eu != "COMPLETED"`},
	{"`replication-status.a:b` LIKE /ED$/", "`replication-status.a:b` LIKE /ED$/"},
	{`location = "aws-east"`, `location = "aws-east"`},
	{`x-amz-storage-class = "GLACIER"`, `location = "GLACIER"`},
	{`version-id = "null"`, `version-id = "null"`},
	{`is-delete-marker = true`, `is-delete-marker = true`},
	{`is-delete-marker != "FALSE"`, `is-delete-marker != "FALSE"`},
	// boolean structure and precedence: AND binds tighter than OR
	{`key = "a" AND key = "b" OR key = "c"`, `((key = "a" AND key = "b") OR key = "c")`},
	{`key = "a" OR key = "b" AND key = "c"`, `(key = "a" OR (key = "b" AND key = "c"))`},
	{`(key = "a" OR key = "b") AND key = "c"`, `((key = "a" OR key = "b") AND key = "c")`},
	{`NOT key = "a" AND key = "b"`, `(NOT key = "a" AND key = "b")`},
	{`NOT (key = "a" AND key = "b")`, `NOT (key = "a" AND key = "b")`},
	{`not not key="a"`, `NOT NOT key = "a"`},
	{`((((key="a"))))`, `key = "a"`},
	// literals
	{`x-amz-meta-a = "q\"u\\o\'te\n\t\r\u00e9\/"`, `x-amz-meta-a = "q\"u\\o'te\n\t\ré/"`},
	{`x-amz-meta-a = "\u0001"`, `x-amz-meta-a = "\u0001"`},
	{`x-amz-meta-a = "日本"`, `x-amz-meta-a = "日本"`},
	{`x-amz-meta-a = -12.5`, `x-amz-meta-a = -12.5`},
	{`x-amz-meta-a = .5`, `x-amz-meta-a = .5`},
	{`x-amz-meta-a = true`, `x-amz-meta-a = true`},
	{`key = 2024-01-02`, `key = 2024-01-02`},
	{"  key\t=\n\"a\"  ", `key = "a"`},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validQueries {
		t.Run(tc.in, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := e.String(); got != strings.TrimSuffix(strings.TrimPrefix(got, ""), "") || stripOuter(got) != stripOuter(tc.want) {
				t.Fatalf("Parse(%q) = %s, want %s", tc.in, got, tc.want)
			}
			// The canonical form parses back to itself.
			e2, err := Parse(e.String())
			if err != nil {
				t.Fatalf("reparse %q: %v", e.String(), err)
			}
			if e2.String() != e.String() {
				t.Fatalf("reparse changed %q to %q", e.String(), e2.String())
			}
		})
	}
}

// stripOuter removes one pair of outer parentheses the canonical form adds
// around a top-level AND/OR.
func stripOuter(s string) string {
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		return s[1 : len(s)-1]
	}
	return s
}

func TestParseTree(t *testing.T) {
	e, err := Parse(`x-amz-meta-year >= 2019 AND tags.team LIKE /^data/i`)
	if err != nil {
		t.Fatal(err)
	}
	and, ok := e.(*And)
	if !ok {
		t.Fatalf("got %T, want *And", e)
	}
	c, ok := and.X.(*Compare)
	if !ok || c.Field.Kind != FieldMeta || c.Field.Name != "year" || c.Op != OpGe || c.Value.Kind != LitNumber {
		t.Fatalf("left = %#v", and.X)
	}
	if n, ok := c.Value.Number(); !ok || n != 2019 {
		t.Fatalf("number = %v %v", n, ok)
	}
	if c.Field.Pos != 0 || c.Value.Pos != 19 {
		t.Fatalf("positions field %d value %d", c.Field.Pos, c.Value.Pos)
	}
	l, ok := and.Y.(*Like)
	if !ok || l.Field.Kind != FieldTag || l.Field.Name != "team" || l.Flags != "i" {
		t.Fatalf("right = %#v", and.Y)
	}
	if !l.Regexp.MatchString("DATA-lake") || l.Regexp.MatchString("bigdata") {
		t.Fatalf("regexp %v does not behave", l.Regexp)
	}
	if l.Pos() != 28 || l.At != 43 {
		t.Fatalf("like positions %d %d", l.Pos(), l.At)
	}
}

func TestLiteralConversions(t *testing.T) {
	d, ok := Literal{Kind: LitDate, Text: "2024-05-01"}.Date()
	if !ok || !d.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("date %v %v", d, ok)
	}
	d, ok = Literal{Kind: LitString, Text: "2024-05-01T12:00:00+02:00"}.Date()
	if !ok || !d.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) || d.Location() != time.UTC {
		t.Fatalf("date %v %v", d, ok)
	}
	if _, ok := (Literal{Kind: LitBool, Text: "true"}).Number(); ok {
		t.Fatal("bool parsed as number")
	}
	for _, s := range []string{"0x10", "Inf", "NaN", "1e999", "", "-", "1e", "1.2.3"} {
		if _, ok := ParseNumber(s); ok {
			t.Errorf("ParseNumber(%q) ok", s)
		}
	}
	for _, s := range []string{"12", "-3", "+4"} {
		if !IsInteger(s) {
			t.Errorf("IsInteger(%q) false", s)
		}
	}
	for _, s := range []string{"1.0", "", "-", "1e3"} {
		if IsInteger(s) {
			t.Errorf("IsInteger(%q) true", s)
		}
	}
}

func TestReplicationDestField(t *testing.T) {
	e, err := Parse(`replication-status.Aws-East = "FAILED"`)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := e.(*Compare)
	if !ok || c.Field.Kind != FieldReplicationDest || c.Field.Name != "Aws-East" || c.Field.Type() != TypeString {
		t.Fatalf("got %#v", e)
	}
	if f, ok := LookupField("replication-status"); !ok || f.Kind != FieldReplicationStatus {
		t.Fatalf("replication-status = %v %v", f, ok)
	}
}

func TestParseCatalogBucket(t *testing.T) {
	if _, err := ParseCatalog(`bucket = "photos" AND key LIKE /x/`); err != nil {
		t.Fatal(err)
	}
	_, err := Parse(`key = "a" AND bucket = "photos"`)
	e, ok := AsError(err)
	if !ok || e.Pos != 14 {
		t.Fatalf("Parse with bucket: %v", err)
	}
}

var invalidQueries = []struct {
	in  string
	pos int
	msg string // substring of the message
}{
	{``, 0, "empty query"},
	{`   `, 3, "empty query"},
	{`key`, 3, "expected an operator"},
	{`key =`, 5, "expected a value"},
	{`key = "a" AND`, 13, "expected a field name"},
	{`key = "a" key = "b"`, 10, "unexpected 'key'"},
	{`(key = "a"`, 10, "missing ')'"},
	{`key = "a")`, 9, "unexpected ')'"},
	{`foo = "a"`, 0, "unknown field"},
	{`x-amz-meta- = "a"`, 0, "unknown field"},
	{`tags. = "a"`, 0, "unknown field"},
	{`replication-status. = "a"`, 0, "unknown field"},
	{`key = "abc`, 6, "unterminated string"},
	{`key = "a\qb"`, 8, "unknown escape"},
	{`key = "\u12"`, 7, `bad \u escape`},
	{`key = "\uD800"`, 7, "surrogate"},
	{`key ! "a"`, 4, "unexpected '!'"},
	{`key = #`, 6, "unexpected character"},
	{"key = \"a\xffb\"", 8, "invalid UTF-8"},
	{"key = \xff", 6, "invalid UTF-8"},
	{`content-length > "big"`, 17, "compares with a number"},
	{`content-length > true`, 17, "compares with a number"},
	{`last-modified > 12`, 16, "compares with a date"},
	{`last-modified > "yesterday"`, 16, "compares with a date"},
	{`is-delete-marker = "yes"`, 19, "true or false"},
	{`is-delete-marker > true`, 17, "allows only = and !="},
	{`content-length LIKE /1/`, 15, "LIKE needs a text field"},
	{`key LIKE 12`, 9, "expected a regular expression"},
	{`key LIKE /a(/`, 9, "invalid regular expression"},
	{`key LIKE /a/x`, 12, "unknown regular expression flag"},
	{`key LIKE /abc`, 9, "unterminated regular expression"},
	{`key LIKE /a{1000}/`, 9, "repetition"},
	{`key LIKE /(a{200}){200}/`, 9, "invalid repeat count"},
	{`key NOT = "a"`, 8, "expected LIKE after NOT"},
	{`key = 2024-13-01`, 6, "invalid date"},
	{`key = 12abc`, 6, "invalid number"},
	{`key = 1.2.3`, 6, "invalid number"},
	{"`key = \"a\"", 0, "unterminated backquoted field"},
	{`AND = "a"`, 0, "keyword AND"},
	{`key = "a" OR`, 12, "expected a field name"},
	{`NOT`, 3, "expected a field name"},
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidQueries {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.in)
			}
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("error %v does not wrap ErrInvalidArgument", err)
			}
			e, ok := AsError(err)
			if !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			if e.Pos != tc.pos || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("Parse(%q) = %v; want position %d and %q", tc.in, err, tc.pos, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "InvalidArgument at position ") {
				t.Fatalf("message %q", err.Error())
			}
		})
	}
}

func TestLimits(t *testing.T) {
	long := `key = "` + strings.Repeat("a", MaxQueryLen) + `"`
	if e, ok := AsError(mustFail(t, long)); !ok || e.Pos != MaxQueryLen {
		t.Fatalf("long query: %v", e)
	}
	deep := strings.Repeat("(", MaxDepth+1) + `key="a"` + strings.Repeat(")", MaxDepth+1)
	if e, ok := AsError(mustFail(t, deep)); !ok || e.Pos != MaxDepth {
		t.Fatalf("deep query: %v", e)
	}
	okDeep := strings.Repeat("(", MaxDepth-1) + `key="a"` + strings.Repeat(")", MaxDepth-1)
	if _, err := Parse(okDeep); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth-1, err)
	}
	nots := strings.Repeat("NOT ", MaxDepth+1) + `key="a"`
	mustFail(t, nots)
	terms := strings.Repeat(`key="a" AND `, MaxTerms) + `key="a"`
	if e, ok := AsError(mustFail(t, terms)); !ok || !strings.Contains(e.Msg, "comparisons") {
		t.Fatalf("terms: %v", e)
	}
	longRe := `key LIKE /` + strings.Repeat("a", MaxRegexLen+1) + `/`
	mustFail(t, longRe)
	big := `key LIKE /` + strings.Repeat("(?:ab|cd|ef){250}", 14) + `/`
	if e, ok := AsError(mustFail(t, big)); !ok || !strings.Contains(e.Msg, "too complex") {
		t.Fatalf("big regexp: %v", e)
	}
}

func mustFail(t *testing.T, q string) error {
	t.Helper()
	_, err := Parse(q)
	if err == nil {
		t.Fatalf("Parse(%.40q...) succeeded", q)
	}
	return err
}

func TestTypedFieldNames(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want string
	}{
		{"x-amz-meta-Year", true, "x-amz-meta-year"},
		{"tags.Team", true, "tags.Team"},
		{"key", false, ""},
		{"x-amz-meta-", false, ""},
		{"bucket", false, ""},
		{"replication-status.aws", false, ""},
	} {
		f, ok := ParseTypedField(tc.in)
		if ok != tc.ok || (ok && f.String() != tc.want) {
			t.Errorf("ParseTypedField(%q) = %v %v", tc.in, f, ok)
		}
	}
}

func TestWalk(t *testing.T) {
	e, err := Parse(`NOT (key="a" OR x-amz-meta-b="c") AND tags.d LIKE /e/`)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	Walk(e, func(x Expr) bool {
		switch c := x.(type) {
		case *Compare:
			fields = append(fields, c.Field.String())
		case *Like:
			fields = append(fields, c.Field.String())
		}
		return true
	})
	if strings.Join(fields, ",") != "key,x-amz-meta-b,tags.d" {
		t.Fatalf("walk saw %v", fields)
	}
}
