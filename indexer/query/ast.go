// Package query parses the Zenko-compatible where clauses of Sluice's metadata
// search:
//
//	x-amz-meta-color = "blue" AND (content-length > 1048576 OR tags.team LIKE /^data/i)
//
// Grammar (keywords are case-insensitive):
//
//	expr      := and { OR and }
//	and       := unary { AND unary }
//	unary     := NOT unary | "(" expr ")" | predicate
//	predicate := field op literal | field [NOT] LIKE pattern
//	op        := "=" | "!=" | "<>" | "<" | ">" | "<=" | ">="
//	literal   := string | number | date | TRUE | FALSE
//	pattern   := /regexp/flags | string (a regular expression)
//
// Fields are key, content-length, content-type, last-modified,
// x-amz-meta-<name>, tags.<name>, replication-status (the object's overall
// status), replication-status.<destination> (its status at one
// destination), location (alias x-amz-storage-class), version-id,
// is-delete-marker and, in catalog queries only, bucket. A field may be written in backquotes (`tags.my key`), which
// allows any character but the backquote. Strings are in single or double
// quotes with backslash escapes (\\ \" \' \/ \n \r \t \uXXXX). Numbers are
// decimal (-12, 3.5, 1e6). Dates are RFC 3339 instants or YYYY-MM-DD (UTC
// midnight), bare or quoted. Regular expressions are RE2 (Go's regexp: linear
// time, no backtracking); the flags i (case-insensitive), m and s are
// allowed. LIKE matches when the expression matches anywhere in the value.
//
// A comparison on a metadata field, tag or destination the object does not
// have is false, whatever the operator: "x-amz-meta-color != "blue""
// selects objects that have a color other than blue; NOT
// (x-amz-meta-color = "blue") also selects objects without a color.
//
// Parsing never panics and is bounded: MaxQueryLen, MaxDepth, MaxTerms and
// the regular expression limits bound the work and the SQL a query produces.
// Every error is an *Error carrying the byte position of the problem.
package query

import (
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed where clause: *And, *Or, *Not, *Compare or *Like.
type Expr interface {
	// Pos is the byte offset where the expression starts.
	Pos() int
	// String returns the expression in canonical form; Parse accepts it
	// and yields an equivalent expression.
	String() string
	isExpr()
}

// And is true when both sides are.
type And struct {
	X, Y Expr
}

// Or is true when either side is.
type Or struct {
	X, Y Expr
}

// Not negates X.
type Not struct {
	X Expr
	// At is the offset of the NOT keyword.
	At int
}

// CompareOp is a comparison operator.
type CompareOp int

// Comparison operators.
const (
	OpEq CompareOp = iota + 1 // =
	OpNe                      // != or <>
	OpLt                      // <
	OpLe                      // <=
	OpGt                      // >
	OpGe                      // >=
)

// String returns the operator as written in canonical form.
func (o CompareOp) String() string {
	switch o {
	case OpEq:
		return "="
	case OpNe:
		return "!="
	case OpLt:
		return "<"
	case OpLe:
		return "<="
	case OpGt:
		return ">"
	case OpGe:
		return ">="
	default:
		return "?"
	}
}

// LiteralKind says how a literal was written.
type LiteralKind int

// Literal kinds.
const (
	LitString LiteralKind = iota + 1 // quoted
	LitNumber                        // bare number
	LitDate                          // bare date
	LitBool                          // TRUE or FALSE
)

// Literal is a value in a comparison.
type Literal struct {
	// Kind says how it was written.
	Kind LiteralKind
	// Text is the value as text: the unescaped string, the number or date
	// as written, or "true"/"false".
	Text string
	// Pos is the byte offset of the literal.
	Pos int
}

// Number parses the literal as a decimal number (a number, or a string
// holding one). It reports false when it is not one.
func (l Literal) Number() (float64, bool) {
	if l.Kind != LitNumber && l.Kind != LitString {
		return 0, false
	}
	return ParseNumber(l.Text)
}

// Date parses the literal as a date (RFC 3339 or YYYY-MM-DD, a bare date or
// a string holding one), in UTC. It reports false when it is not one.
func (l Literal) Date() (time.Time, bool) {
	if l.Kind != LitDate && l.Kind != LitString {
		return time.Time{}, false
	}
	return ParseDate(l.Text)
}

// Bool parses the literal as a boolean (TRUE/FALSE or the strings "true" and
// "false", any case). It reports false when it is not one.
func (l Literal) Bool() (value, ok bool) {
	if l.Kind != LitBool && l.Kind != LitString {
		return false, false
	}
	switch strings.ToLower(l.Text) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// String returns the literal as written in canonical form.
func (l Literal) String() string {
	switch l.Kind {
	case LitString:
		return Quote(l.Text)
	default:
		return l.Text
	}
}

// Compare is "field op value".
type Compare struct {
	Field Field
	Op    CompareOp
	Value Literal
}

// Like is "field LIKE pattern": true when the regular expression matches
// anywhere in the field's value (as text).
type Like struct {
	Field Field
	// Pattern is the regular expression as written, without flags.
	Pattern string
	// Flags are the regular expression flags, a subset of "ims" in that
	// order.
	Flags string
	// Quoted is set when the pattern was written as a string rather than
	// between slashes.
	Quoted bool
	// Regexp is the compiled expression (flags applied).
	Regexp *regexp.Regexp
	// Syntax is the parsed and simplified expression (flags applied), for
	// translation to other regular expression dialects.
	Syntax *syntax.Regexp
	// At is the offset of the pattern.
	At int
}

func (*And) isExpr()     {}
func (*Or) isExpr()      {}
func (*Not) isExpr()     {}
func (*Compare) isExpr() {}
func (*Like) isExpr()    {}

// Pos implements Expr.
func (e *And) Pos() int { return e.X.Pos() }

// Pos implements Expr.
func (e *Or) Pos() int { return e.X.Pos() }

// Pos implements Expr.
func (e *Not) Pos() int { return e.At }

// Pos implements Expr.
func (e *Compare) Pos() int { return e.Field.Pos }

// Pos implements Expr.
func (e *Like) Pos() int { return e.Field.Pos }

// String implements Expr.
func (e *And) String() string { return "(" + e.X.String() + " AND " + e.Y.String() + ")" }

// String implements Expr.
func (e *Or) String() string { return "(" + e.X.String() + " OR " + e.Y.String() + ")" }

// String implements Expr.
func (e *Not) String() string { return "NOT " + e.X.String() }

// String implements Expr.
func (e *Compare) String() string {
	return quoteField(e.Field) + " " + e.Op.String() + " " + e.Value.String()
}

// String implements Expr.
func (e *Like) String() string {
	return quoteField(e.Field) + " LIKE /" + escapeSlashes(e.Pattern) + "/" + e.Flags
}

// escapeSlashes escapes every "/" of a pattern that is not already escaped.
func escapeSlashes(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
			continue
		}
		if c == '/' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// quoteField writes a field so that the lexer reads it back: bare when it
// is made of identifier characters, in backquotes otherwise.
func quoteField(f Field) string {
	s := f.String()
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return "`" + s + "`"
		}
	}
	return s
}

// Quote returns s as a double-quoted string literal of the grammar.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ParseNumber parses a decimal number: an optional sign, digits with an
// optional fraction, and an optional exponent ("-12", "3.5", "1e6", ".5").
// Hexadecimal, Inf and NaN are not numbers; neither is a value out of the
// float64 range.
func ParseNumber(s string) (float64, bool) {
	if !isDecimal(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// IsInteger reports whether s is a decimal integer ("-12", "2019").
func IsInteger(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// ParseDate parses an RFC 3339 instant ("2024-05-01T12:00:00Z", fractions
// and offsets allowed) or a YYYY-MM-DD date (midnight UTC) and returns it in
// UTC.
func ParseDate(s string) (time.Time, bool) {
	if len(s) == len("2006-01-02") {
		t, err := time.Parse("2006-01-02", s)
		return t, err == nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
