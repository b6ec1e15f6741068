package query

import (
	"strings"
	"unicode/utf8"
)

// tokenKind classifies a token.
type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokField // backquoted field
	tokString
	tokNumber
	tokDate
	tokRegex
	tokOp
	tokLParen
	tokRParen
)

func (k tokenKind) String() string {
	switch k {
	case tokEOF:
		return "end of query"
	case tokIdent:
		return "identifier"
	case tokField:
		return "field"
	case tokString:
		return "string"
	case tokNumber:
		return "number"
	case tokDate:
		return "date"
	case tokRegex:
		return "regular expression"
	case tokOp:
		return "operator"
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	}
	return "token"
}

// token is one lexeme. text is the identifier, the unescaped string, the
// number or date as written, the regex body (with "\/" unescaped) or the
// operator. flags holds a regex's flags.
type token struct {
	kind  tokenKind
	text  string
	flags string
	pos   int
}

// lexer splits a query into tokens.
type lexer struct {
	src string
	i   int
}

func isIdentByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '-' || c == '_' || c == '.'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// next returns the next token or an *Error.
func (l *lexer) next() (token, error) {
	for l.i < len(l.src) && isSpace(l.src[l.i]) {
		l.i++
	}
	start := l.i
	if l.i >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[l.i]
	switch {
	case c == '(':
		l.i++
		return token{kind: tokLParen, text: "(", pos: start}, nil
	case c == ')':
		l.i++
		return token{kind: tokRParen, text: ")", pos: start}, nil
	case c == '=':
		l.i++
		return token{kind: tokOp, text: "=", pos: start}, nil
	case c == '!':
		if l.peekByte(1) == '=' {
			l.i += 2
			return token{kind: tokOp, text: "!=", pos: start}, nil
		}
		return token{}, Errorf(start, "unexpected '!' (did you mean '!='?)")
	case c == '<':
		switch l.peekByte(1) {
		case '=':
			l.i += 2
			return token{kind: tokOp, text: "<=", pos: start}, nil
		case '>':
			l.i += 2
			return token{kind: tokOp, text: "!=", pos: start}, nil
		}
		l.i++
		return token{kind: tokOp, text: "<", pos: start}, nil
	case c == '>':
		if l.peekByte(1) == '=' {
			l.i += 2
			return token{kind: tokOp, text: ">=", pos: start}, nil
		}
		l.i++
		return token{kind: tokOp, text: ">", pos: start}, nil
	case c == '"' || c == '\'':
		return l.lexString(c)
	case c == '`':
		end := strings.IndexByte(l.src[l.i+1:], '`')
		if end < 0 {
			return token{}, Errorf(start, "unterminated backquoted field")
		}
		l.i += end + 2
		return token{kind: tokField, text: l.src[start+1 : start+1+end], pos: start}, nil
	case c == '/':
		return l.lexRegex()
	case isDigit(c) || ((c == '-' || c == '+' || c == '.') && (isDigit(l.peekByte(1)) || (l.peekByte(1) == '.' && isDigit(l.peekByte(2))))):
		return l.lexNumberOrDate()
	case isIdentByte(c):
		for l.i < len(l.src) && isIdentByte(l.src[l.i]) {
			l.i++
		}
		return token{kind: tokIdent, text: l.src[start:l.i], pos: start}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.i:])
	if r == utf8.RuneError {
		return token{}, Errorf(start, "invalid UTF-8")
	}
	return token{}, Errorf(start, "unexpected character %q", r)
}

func (l *lexer) peekByte(off int) byte {
	if l.i+off < len(l.src) {
		return l.src[l.i+off]
	}
	return 0
}

// lexString reads a quoted string with backslash escapes.
func (l *lexer) lexString(quote byte) (token, error) {
	start := l.i
	l.i++
	var b strings.Builder
	for {
		if l.i >= len(l.src) {
			return token{}, Errorf(start, "unterminated string")
		}
		c := l.src[l.i]
		switch {
		case c == quote:
			l.i++
			return token{kind: tokString, text: b.String(), pos: start}, nil
		case c == '\\':
			if l.i+1 >= len(l.src) {
				return token{}, Errorf(l.i, "unterminated string")
			}
			esc := l.src[l.i+1]
			switch esc {
			case '\\', '"', '\'', '/', '`':
				b.WriteByte(esc)
				l.i += 2
			case 'n':
				b.WriteByte('\n')
				l.i += 2
			case 'r':
				b.WriteByte('\r')
				l.i += 2
			case 't':
				b.WriteByte('\t')
				l.i += 2
			case 'u':
				r, ok := hex4(l.src[l.i+2:])
				if !ok {
					return token{}, Errorf(l.i, `bad \u escape (want 4 hexadecimal digits)`)
				}
				if r >= 0xD800 && r <= 0xDFFF {
					return token{}, Errorf(l.i, `\u escape of a surrogate`)
				}
				b.WriteRune(r)
				l.i += 6
			default:
				return token{}, Errorf(l.i, "unknown escape \\%c", esc)
			}
		default:
			r, size := utf8.DecodeRuneInString(l.src[l.i:])
			if r == utf8.RuneError && size <= 1 {
				return token{}, Errorf(l.i, "invalid UTF-8 in string")
			}
			b.WriteString(l.src[l.i : l.i+size])
			l.i += size
		}
	}
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		var v byte
		switch {
		case isDigit(c):
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// lexRegex reads /body/flags. Inside the body "\/" stands for "/"; every
// other backslash is kept for the regular expression.
func (l *lexer) lexRegex() (token, error) {
	start := l.i
	l.i++
	var b strings.Builder
	for {
		if l.i >= len(l.src) {
			return token{}, Errorf(start, "unterminated regular expression")
		}
		c := l.src[l.i]
		if c == '/' {
			l.i++
			break
		}
		if c == '\\' && l.i+1 < len(l.src) {
			if l.src[l.i+1] == '/' {
				b.WriteByte('/')
			} else {
				b.WriteByte('\\')
				b.WriteByte(l.src[l.i+1])
			}
			l.i += 2
			continue
		}
		b.WriteByte(c)
		l.i++
	}
	fstart := l.i
	for l.i < len(l.src) && isIdentByte(l.src[l.i]) {
		l.i++
	}
	flags := l.src[fstart:l.i]
	var seen [3]bool
	for j := 0; j < len(flags); j++ {
		k := strings.IndexByte("ims", flags[j])
		if k < 0 {
			return token{}, Errorf(fstart+j, "unknown regular expression flag %q (allowed: i, m, s)", flags[j])
		}
		seen[k] = true
	}
	var norm strings.Builder
	for k, s := range seen {
		if s {
			norm.WriteByte("ims"[k])
		}
	}
	return token{kind: tokRegex, text: b.String(), flags: norm.String(), pos: start}, nil
}

// lexNumberOrDate reads a number, or a date when the text looks like
// YYYY-MM-DD.
func (l *lexer) lexNumberOrDate() (token, error) {
	start := l.i
	if looksLikeDate(l.src[l.i:]) {
		end := l.i + 10
		if end < len(l.src) && (l.src[end] == 'T' || l.src[end] == 't') {
			end++
			for end < len(l.src) && strings.IndexByte("0123456789:.+-Zz", l.src[end]) >= 0 {
				end++
			}
		}
		text := l.src[start:end]
		l.i = end
		if _, ok := ParseDate(text); !ok {
			return token{}, Errorf(start, "invalid date %q (want YYYY-MM-DD or RFC 3339)", text)
		}
		return token{kind: tokDate, text: text, pos: start}, nil
	}
	end := l.i
	if l.src[end] == '-' || l.src[end] == '+' {
		end++
	}
	for end < len(l.src) && (isDigit(l.src[end]) || l.src[end] == '.') {
		end++
	}
	if end < len(l.src) && (l.src[end] == 'e' || l.src[end] == 'E') {
		end++
		if end < len(l.src) && (l.src[end] == '+' || l.src[end] == '-') {
			end++
		}
		for end < len(l.src) && isDigit(l.src[end]) {
			end++
		}
	}
	// A number runs into letters ("12abc"): report the whole word.
	for end < len(l.src) && isIdentByte(l.src[end]) {
		end++
	}
	text := l.src[start:end]
	l.i = end
	if _, ok := ParseNumber(text); !ok {
		return token{}, Errorf(start, "invalid number %q", text)
	}
	return token{kind: tokNumber, text: text, pos: start}, nil
}

// looksLikeDate reports whether s starts with DDDD-DD-DD.
func looksLikeDate(s string) bool {
	if len(s) < 10 {
		return false
	}
	for i := 0; i < 10; i++ {
		switch i {
		case 4, 7:
			if s[i] != '-' {
				return false
			}
		default:
			if !isDigit(s[i]) {
				return false
			}
		}
	}
	return true
}
