package fs

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sluice-io/sluice/services/location"
)

// Name suffixes that tell the three kinds of layout entries apart. The
// escaping never emits '~', so a name's kind is unambiguous.
const (
	objectSuffix   = "~o" // an object file: the last piece of a key
	continueSuffix = "~+" // a directory holding the rest of an overlong segment
	emptyPiece     = "%"  // the escaped form of an empty segment
)

// maxPieceName is the longest escaped piece; with a suffix a name stays
// well under NAME_MAX (255 bytes) on every common filesystem.
const maxPieceName = 240

// entryKind is what a name in the layout stands for.
type entryKind uint8

const (
	kindDir      entryKind = iota + 1 // a whole segment followed by "/"
	kindContinue                      // a piece of a segment that continues inside
	kindObject                        // the last piece of a key
)

// mapper turns keys into relative paths under the root and back. See the
// package documentation for the layout. The zero value is the
// case-sensitive mapping.
type mapper struct {
	// foldCase escapes upper-case letters too, for case-insensitive
	// filesystems, so that "A" and "a" stay distinct files.
	foldCase bool
}

// plain reports whether b may appear unescaped at position i of a name.
func (m mapper) plain(b byte, i int) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= '0' && b <= '9', b == '-', b == '_':
		return true
	case b >= 'A' && b <= 'Z':
		return !m.foldCase
	case b == '.':
		return i > 0 // names never start with '.': no ".", "..", hidden or internal names
	}
	return false
}

// maxDirSegments bounds the directory depth a key's "/" segments create.
// The rest of a deeper key, slashes and all, is escaped into the object's
// own name, so no key, however many slashes it holds, makes more than
// maxDirSegments + MaxKeyLen*3/maxPieceName (about 30) levels.
const maxDirSegments = 16

// components returns the path of key's object file as names relative to the
// root: directories first, the object file last. Every name is non-empty,
// at most maxPieceName+2 bytes, free of '/', NUL and '\\', and never starts
// with '.'. Distinct keys give distinct paths (keyOf inverts components).
// It returns an error wrapping location.ErrInvalidKey for keys
// location.ValidateKey rejects.
func (m mapper) components(key string) ([]string, error) {
	if err := location.ValidateKey(key); err != nil {
		return nil, err
	}
	// The last element keeps any "/" beyond the first maxDirSegments.
	segments := strings.SplitN(key, "/", maxDirSegments+1)
	comps := make([]string, 0, len(segments)+1)
	for i, seg := range segments {
		pieces := m.pieces(seg)
		for j, p := range pieces {
			switch {
			case j < len(pieces)-1:
				comps = append(comps, p+continueSuffix)
			case i < len(segments)-1:
				comps = append(comps, p)
			default:
				comps = append(comps, p+objectSuffix)
			}
		}
	}
	return comps, nil
}

// pieces escapes seg and cuts it into names of at most maxPieceName bytes,
// greedily, so the cut depends on seg alone.
func (m mapper) pieces(seg string) []string {
	if seg == "" {
		return []string{emptyPiece}
	}
	var out []string
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		width := 3
		if m.plain(c, b.Len()) {
			width = 1
		}
		if b.Len()+width > maxPieceName {
			out = append(out, b.String())
			b.Reset()
			width = 3
			if m.plain(c, 0) {
				width = 1
			}
		}
		if width == 1 {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
	}
	return append(out, b.String())
}

const hexDigits = "0123456789ABCDEF"

// parseName decodes one name of the layout into the bytes of key it stands
// for and its kind. It accepts only names components could have produced
// (canonical escaping), so stray files never show up as objects; ok is
// false for anything else, including internal names that start with '.'.
func (m mapper) parseName(name string) (piece string, kind entryKind, ok bool) {
	switch {
	case strings.HasSuffix(name, objectSuffix):
		kind, name = kindObject, strings.TrimSuffix(name, objectSuffix)
	case strings.HasSuffix(name, continueSuffix):
		kind, name = kindContinue, strings.TrimSuffix(name, continueSuffix)
	default:
		kind = kindDir
	}
	if name == emptyPiece {
		return "", kind, kind != kindContinue
	}
	if name == "" || len(name) > maxPieceName {
		return "", 0, false
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '%' {
			if !m.plain(c, i) {
				return "", 0, false
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(name) {
			return "", 0, false
		}
		hi, lo := strings.IndexByte(hexDigits, name[i+1]), strings.IndexByte(hexDigits, name[i+2])
		if hi < 0 || lo < 0 {
			return "", 0, false
		}
		v := byte(hi<<4 | lo)
		if m.plain(v, i) { // non-canonical: would have been written plain
			return "", 0, false
		}
		b.WriteByte(v)
		i += 2
	}
	piece = b.String()
	if kind == kindDir && strings.Contains(piece, "/") { // only the object's name and its continuations hold "/"
		return "", 0, false
	}
	return piece, kind, true
}

// keyOf inverts components: it returns the key whose object file has the
// given path, or false if comps is not such a path.
func (m mapper) keyOf(comps []string) (string, bool) {
	var b strings.Builder
	for i, c := range comps {
		piece, kind, ok := m.parseName(c)
		if !ok || (kind == kindObject) != (i == len(comps)-1) {
			return "", false
		}
		b.WriteString(piece)
		if kind == kindDir {
			b.WriteByte('/')
		}
	}
	return b.String(), len(comps) > 0
}

// join makes a path relative to the root from names, checking again (in
// depth, beyond what os.Root enforces) that it stays inside the root. It
// returns an error wrapping location.ErrInvalidKey if it would not.
func join(comps []string) (string, error) {
	for _, c := range comps {
		if c == "" || c == "." || c == ".." || strings.ContainsAny(c, "/\\\x00") || c[0] == '.' {
			return "", fmt.Errorf("%w: unsafe path element %q", location.ErrInvalidKey, c)
		}
	}
	p := filepath.Join(comps...)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("%w: path %q leaves the root", location.ErrInvalidKey, p)
	}
	return p, nil
}
