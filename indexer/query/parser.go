package query

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Limits of a query. They bound parsing time and the SQL a query produces.
const (
	// MaxQueryLen is the longest query accepted, in bytes.
	MaxQueryLen = 4096
	// MaxDepth is the deepest nesting of parentheses and NOTs.
	MaxDepth = 32
	// MaxTerms is the most comparisons and LIKEs one query may hold.
	MaxTerms = 64
	// MaxRegexLen is the longest regular expression, in bytes.
	MaxRegexLen = 1024
	// MaxRegexRepeat is the largest repetition count ({n,m}) in a regular
	// expression (PostgreSQL's own limit).
	MaxRegexRepeat = 255
	// MaxRegexNodes bounds the parsed size of a regular expression.
	MaxRegexNodes = 2000
	// MaxRegexProgram bounds the compiled size of a regular expression
	// (instructions, after repetitions are expanded).
	MaxRegexProgram = 20000
)

// Parse parses a bucket-scoped where clause (the Zenko form
// GET /bucket?search=...). Every field but bucket is allowed. It returns an
// *Error (wrapping ErrInvalidArgument) for any malformed query.
func Parse(s string) (Expr, error) { return parse(s, false) }

// ParseCatalog parses a where clause of the cross-bucket catalog search,
// which also accepts the bucket field. It returns an *Error (wrapping
// ErrInvalidArgument) for any malformed query.
func ParseCatalog(s string) (Expr, error) { return parse(s, true) }

func parse(s string, catalog bool) (Expr, error) {
	if len(s) > MaxQueryLen {
		return nil, Errorf(MaxQueryLen, "query longer than %d bytes", MaxQueryLen)
	}
	if !utf8.ValidString(s) {
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return nil, Errorf(i, "invalid UTF-8")
			}
			i += size
		}
	}
	p := &parser{lex: lexer{src: s}, catalog: catalog}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, Errorf(p.tok.pos, "empty query")
	}
	e, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, Errorf(p.tok.pos, "unexpected %s", describe(p.tok))
	}
	return e, nil
}

type parser struct {
	lex     lexer
	tok     token
	catalog bool
	terms   int
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// keyword reports whether the current token is the keyword kw.
func (p *parser) keyword(kw string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, kw)
}

func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokIdent, tokOp:
		return "'" + t.text + "'"
	default:
		return t.kind.String()
	}
}

func (p *parser) parseOr(depth int) (Expr, error) {
	x, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		x = &Or{X: x, Y: y}
	}
	return x, nil
}

func (p *parser) parseAnd(depth int) (Expr, error) {
	x, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		x = &And{X: x, Y: y}
	}
	return x, nil
}

func (p *parser) parseUnary(depth int) (Expr, error) {
	if depth >= MaxDepth {
		return nil, Errorf(p.tok.pos, "query nested deeper than %d", MaxDepth)
	}
	switch {
	case p.keyword("NOT"):
		at := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{X: x, At: at}, nil
	case p.tok.kind == tokLParen:
		open := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			if p.tok.kind == tokEOF {
				return nil, Errorf(p.tok.pos, "missing ')' for '(' at position %d", open)
			}
			return nil, Errorf(p.tok.pos, "expected ')' or AND/OR, found %s", describe(p.tok))
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return x, nil
	}
	return p.parsePredicate()
}

func (p *parser) parsePredicate() (Expr, error) {
	f, err := p.parseField()
	if err != nil {
		return nil, err
	}
	p.terms++
	if p.terms > MaxTerms {
		return nil, Errorf(f.Pos, "more than %d comparisons", MaxTerms)
	}
	if p.keyword("NOT") {
		at := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		if !p.keyword("LIKE") {
			return nil, Errorf(p.tok.pos, "expected LIKE after NOT, found %s", describe(p.tok))
		}
		l, err := p.parseLike(f)
		if err != nil {
			return nil, err
		}
		return &Not{X: l, At: at}, nil
	}
	if p.keyword("LIKE") {
		return p.parseLike(f)
	}
	if p.tok.kind != tokOp {
		return nil, Errorf(p.tok.pos, "expected an operator (= != <> < > <= >= LIKE) after %s, found %s", f, describe(p.tok))
	}
	opTok := p.tok
	op := map[string]CompareOp{"=": OpEq, "!=": OpNe, "<": OpLt, "<=": OpLe, ">": OpGt, ">=": OpGe}[opTok.text]
	if err := p.advance(); err != nil {
		return nil, err
	}
	lit, err := p.parseLiteral()
	if err != nil {
		return nil, err
	}
	if err := checkLiteral(f, op, opTok.pos, lit); err != nil {
		return nil, err
	}
	return &Compare{Field: f, Op: op, Value: lit}, nil
}

func (p *parser) parseField() (Field, error) {
	t := p.tok
	if t.kind != tokIdent && t.kind != tokField {
		return Field{}, Errorf(t.pos, "expected a field name, found %s", describe(t))
	}
	if t.kind == tokIdent {
		switch strings.ToUpper(t.text) {
		case "AND", "OR", "NOT", "LIKE", "TRUE", "FALSE":
			return Field{}, Errorf(t.pos, "expected a field name, found keyword %s", strings.ToUpper(t.text))
		}
	}
	f, ok := LookupField(t.text)
	if !ok {
		return Field{}, Errorf(t.pos, "unknown field %q", t.text)
	}
	if f.Kind == FieldBucket && !p.catalog {
		return Field{}, Errorf(t.pos, "field bucket is only allowed in catalog searches")
	}
	f.Pos = t.pos
	if err := p.advance(); err != nil {
		return Field{}, err
	}
	return f, nil
}

func (p *parser) parseLiteral() (Literal, error) {
	t := p.tok
	var lit Literal
	switch {
	case t.kind == tokString:
		lit = Literal{Kind: LitString, Text: t.text, Pos: t.pos}
	case t.kind == tokNumber:
		lit = Literal{Kind: LitNumber, Text: t.text, Pos: t.pos}
	case t.kind == tokDate:
		lit = Literal{Kind: LitDate, Text: t.text, Pos: t.pos}
	case p.keyword("TRUE"), p.keyword("FALSE"):
		lit = Literal{Kind: LitBool, Text: strings.ToLower(t.text), Pos: t.pos}
	default:
		return Literal{}, Errorf(t.pos, "expected a value (string, number, date, true or false), found %s", describe(t))
	}
	if err := p.advance(); err != nil {
		return Literal{}, err
	}
	return lit, nil
}

// checkLiteral checks that lit can be compared with f by op.
func checkLiteral(f Field, op CompareOp, opPos int, lit Literal) error {
	switch f.Type() {
	case TypeNumber:
		if _, ok := lit.Number(); !ok {
			return Errorf(lit.Pos, "%s compares with a number, not %s", f, lit)
		}
	case TypeDate:
		if _, ok := lit.Date(); !ok {
			return Errorf(lit.Pos, "%s compares with a date (YYYY-MM-DD or RFC 3339), not %s", f, lit)
		}
	case TypeBool:
		if _, ok := lit.Bool(); !ok {
			return Errorf(lit.Pos, "%s compares with true or false, not %s", f, lit)
		}
		if op != OpEq && op != OpNe {
			return Errorf(opPos, "%s allows only = and !=", f)
		}
	}
	return nil
}

func (p *parser) parseLike(f Field) (Expr, error) {
	likePos := p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	switch f.Type() {
	case TypeString, TypeDynamic:
	default:
		return nil, Errorf(likePos, "LIKE needs a text field; %s is a %s", f, f.Type())
	}
	t := p.tok
	l := &Like{Field: f, At: t.pos}
	switch t.kind {
	case tokRegex:
		l.Pattern, l.Flags = t.text, t.flags
	case tokString:
		l.Pattern, l.Quoted = t.text, true
	default:
		return nil, Errorf(t.pos, "expected a regular expression (/re/ or a string) after LIKE, found %s", describe(t))
	}
	re, tree, err := CompileRegexp(l.Pattern, l.Flags)
	if err != nil {
		return nil, Errorf(t.pos, "%v", err)
	}
	l.Regexp, l.Syntax = re, tree
	if err := p.advance(); err != nil {
		return nil, err
	}
	return l, nil
}

// regexError is a plain error used inside CompileRegexp.
type regexError string

func (e regexError) Error() string { return string(e) }

// CompileRegexp compiles an RE2 pattern with flags (a subset of "ims") under
// the package's limits, returning the compiled expression and its
// simplified syntax tree. The error (not an *Error: the caller knows the
// position) says which limit or syntax rule was broken.
func CompileRegexp(pattern, flags string) (*regexp.Regexp, *syntax.Regexp, error) {
	if len(pattern) > MaxRegexLen {
		return nil, nil, regexError("regular expression longer than " + itoa(MaxRegexLen) + " bytes")
	}
	full := pattern
	if flags != "" {
		full = "(?" + flags + ")" + pattern
	}
	tree, err := syntax.Parse(full, syntax.Perl)
	if err != nil {
		return nil, nil, regexError("invalid regular expression: " + err.Error())
	}
	nodes := 0
	var walk func(r *syntax.Regexp) error
	walk = func(r *syntax.Regexp) error {
		nodes++
		if nodes > MaxRegexNodes {
			return regexError("regular expression too complex")
		}
		if r.Op == syntax.OpRepeat && (r.Min > MaxRegexRepeat || r.Max > MaxRegexRepeat) {
			return regexError("repetition count above " + itoa(MaxRegexRepeat))
		}
		for _, s := range r.Sub {
			if err := walk(s); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(tree); err != nil {
		return nil, nil, err
	}
	simple := tree.Simplify()
	prog, err := syntax.Compile(simple)
	if err != nil {
		return nil, nil, regexError("invalid regular expression: " + err.Error())
	}
	if len(prog.Inst) > MaxRegexProgram {
		return nil, nil, regexError("regular expression too complex")
	}
	re, err := regexp.Compile(full)
	if err != nil {
		return nil, nil, regexError("invalid regular expression: " + err.Error())
	}
	return re, simple, nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// Walk calls fn for every node of e, parents before children, and stops
// descending where fn returns false.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch x := e.(type) {
	case *And:
		Walk(x.X, fn)
		Walk(x.Y, fn)
	case *Or:
		Walk(x.X, fn)
		Walk(x.Y, fn)
	case *Not:
		Walk(x.X, fn)
	}
}
