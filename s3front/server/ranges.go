package server

import (
	"strconv"
	"strings"
)

// byteRange is a resolved, satisfiable single byte range [Start, Start+Length).
type byteRange struct {
	Start  int64
	Length int64
}

// rangeResult says what a Range header asks for.
type rangeResult int

const (
	// rangeNone: no usable Range header; serve the whole object with 200.
	// Malformed and multi-range headers land here too, as in S3.
	rangeNone rangeResult = iota
	// rangeOK: serve the returned byteRange with 206.
	rangeOK
	// rangeUnsatisfiable: answer InvalidRange (416).
	rangeUnsatisfiable
)

// parseRange interprets a single-range "bytes=" header against an object of
// size bytes, as S3 does. Syntax errors (including blanks inside the spec)
// and multiple ranges are ignored: S3 returns the whole object. A
// well-formed range that starts at or beyond the end of the object, and the
// empty suffix "bytes=-0", are unsatisfiable; a suffix range of an empty
// object returns the whole (empty) object.
func parseRange(h string, size int64) (byteRange, rangeResult) {
	h = strings.TrimSpace(h)
	if h == "" {
		return byteRange{}, rangeNone
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return byteRange{}, rangeNone
	}
	if strings.Contains(spec, ",") {
		return byteRange{}, rangeNone
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return byteRange{}, rangeNone
	}
	if first == "" {
		// Suffix range: the last N bytes.
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return byteRange{}, rangeNone
		}
		if n == 0 {
			return byteRange{}, rangeUnsatisfiable
		}
		if size == 0 {
			return byteRange{}, rangeNone
		}
		if n > size {
			n = size
		}
		return byteRange{Start: size - n, Length: n}, rangeOK
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return byteRange{}, rangeNone
	}
	end := size - 1
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < start {
			return byteRange{}, rangeNone
		}
		if e < end {
			end = e
		}
	}
	if start >= size {
		return byteRange{}, rangeUnsatisfiable
	}
	return byteRange{Start: start, Length: end - start + 1}, rangeOK
}

// parseCopySourceRange parses x-amz-copy-source-range ("bytes=first-last",
// both required) against a source of size bytes. ok is false when the
// header is malformed or out of bounds.
func parseCopySourceRange(h string, size int64) (byteRange, bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found {
		return byteRange{}, false
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return byteRange{}, false
	}
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start || end >= size {
		return byteRange{}, false
	}
	return byteRange{Start: start, Length: end - start + 1}, true
}
