package postgres

import (
	"fmt"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// toARE translates a simplified RE2 syntax tree into a PostgreSQL advanced
// regular expression (ARE) that matches exactly the same strings, so that
// LIKE means the same on every store. Every construct is spelled out
// (character classes as explicit ranges, case folding as bracket
// expressions, groups non-capturing), which avoids the places where the two
// dialects differ (flags, \w, \b, newline handling, POSIX classes).
func toARE(re *syntax.Regexp) (string, error) {
	var b strings.Builder
	if err := writeARE(&b, re); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeARE(b *strings.Builder, re *syntax.Regexp) error {
	switch re.Op {
	case syntax.OpNoMatch:
		return fmt.Errorf("the regular expression can never match")
	case syntax.OpEmptyMatch:
		b.WriteString("(?:)")
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				writeFolded(b, r)
			} else {
				writeLiteral(b, r)
			}
		}
	case syntax.OpCharClass:
		writeClass(b, re.Rune)
	case syntax.OpAnyCharNotNL:
		b.WriteString(`[^\n]`)
	case syntax.OpAnyChar:
		// In an ARE without the n flag, "." matches newlines too.
		b.WriteString(".")
	case syntax.OpBeginLine:
		b.WriteString(`(?:^|(?<=\n))`)
	case syntax.OpEndLine:
		b.WriteString(`(?:$|(?=\n))`)
	case syntax.OpBeginText:
		b.WriteString("^")
	case syntax.OpEndText:
		b.WriteString("$")
	case syntax.OpWordBoundary:
		// RE2's \b is ASCII-only: between [0-9A-Za-z_] and anything else.
		b.WriteString(`(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))`)
	case syntax.OpNoWordBoundary:
		b.WriteString(`(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))`)
	case syntax.OpCapture:
		b.WriteString("(?:")
		if err := writeARE(b, re.Sub[0]); err != nil {
			return err
		}
		b.WriteString(")")
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		b.WriteString("(?:")
		if err := writeARE(b, re.Sub[0]); err != nil {
			return err
		}
		b.WriteString(")")
		switch re.Op {
		case syntax.OpStar:
			b.WriteString("*")
		case syntax.OpPlus:
			b.WriteString("+")
		case syntax.OpQuest:
			b.WriteString("?")
		default:
			if re.Max < 0 {
				fmt.Fprintf(b, "{%d,}", re.Min)
			} else {
				fmt.Fprintf(b, "{%d,%d}", re.Min, re.Max)
			}
		}
		// Greediness does not change whether a string matches.
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if err := writeARE(b, s); err != nil {
				return err
			}
		}
	case syntax.OpAlternate:
		b.WriteString("(?:")
		for i, s := range re.Sub {
			if i > 0 {
				b.WriteString("|")
			}
			if err := writeARE(b, s); err != nil {
				return err
			}
		}
		b.WriteString(")")
	default:
		return fmt.Errorf("unsupported regular expression construct %v", re.Op)
	}
	return nil
}

// writeLiteral writes r so that it stands for itself: ASCII letters and
// digits as they are, other ASCII characters escaped, everything else as a
// \x escape (no character is then special, and none is a raw control
// character).
func writeLiteral(b *strings.Builder, r rune) {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		b.WriteRune(r)
	case r > 0x20 && r < 0x7f:
		b.WriteByte('\\')
		b.WriteRune(r)
	default:
		writeEscape(b, r)
	}
}

// writeEscape writes r as an ARE character-entry escape.
func writeEscape(b *strings.Builder, r rune) {
	if r <= 0xFFFF {
		fmt.Fprintf(b, `\u%04X`, r)
	} else {
		fmt.Fprintf(b, `\U%08X`, r)
	}
}

// writeFolded writes a case-insensitive literal as the bracket expression
// of its simple case-folding orbit.
func writeFolded(b *strings.Builder, r rune) {
	orbit := []rune{r}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		orbit = append(orbit, f)
	}
	if len(orbit) == 1 {
		writeLiteral(b, r)
		return
	}
	b.WriteByte('[')
	for _, o := range orbit {
		writeClassChar(b, o)
	}
	b.WriteByte(']')
}

// writeClass writes RE2 class ranges (sorted pairs) as a bracket
// expression. PostgreSQL text never holds NUL, so ranges start at 1.
func writeClass(b *strings.Builder, ranges []rune) {
	b.WriteByte('[')
	wrote := false
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if lo == 0 {
			lo = 1
		}
		if hi > utf8.MaxRune {
			hi = utf8.MaxRune
		}
		if lo > hi {
			continue
		}
		writeClassChar(b, lo)
		if hi > lo {
			b.WriteByte('-')
			writeClassChar(b, hi)
		}
		wrote = true
	}
	if !wrote {
		// Only NUL: nothing in a text value can match. An escape that
		// cannot be matched keeps the expression valid.
		b.WriteString(`\u0000`)
	}
	b.WriteByte(']')
}

// writeClassChar writes one character inside a bracket expression: letters
// and digits plainly, everything else as an escape.
func writeClassChar(b *strings.Builder, r rune) {
	if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
		b.WriteRune(r)
		return
	}
	writeEscape(b, r)
}
