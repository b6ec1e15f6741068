package location

import "fmt"

// Range selects part of an object for Driver.Get, with the semantics of one
// HTTP byte range (RFC 9110 section 14.1.2):
//
//	Offset >= 0, Length > 0   bytes [Offset, Offset+Length), cut at the end
//	                          of the object          ("bytes=first-last")
//	Offset >= 0, Length == 0  bytes [Offset, end)    ("bytes=first-")
//	Offset <  0, Length == 0  the last -Offset bytes ("bytes=-suffix")
//
// Anything else is malformed. A range whose first byte lies at or beyond the
// end of the object, including any range of an empty object, is
// unsatisfiable.
type Range struct {
	// Offset is the first byte, or minus the suffix length.
	Offset int64
	// Length is the byte count, or 0 for "through the end".
	Length int64
}

// Resolve returns the absolute offset and length r selects within an object
// of size bytes. The length is at least 1. It returns an error wrapping
// ErrInvalidRange when r is malformed or unsatisfiable.
func (r Range) Resolve(size int64) (offset, length int64, err error) {
	switch {
	case r.Length < 0, r.Offset < 0 && r.Length != 0:
		return 0, 0, fmt.Errorf("%w: offset %d length %d", ErrInvalidRange, r.Offset, r.Length)
	case size <= 0:
		return 0, 0, fmt.Errorf("%w: object is empty", ErrInvalidRange)
	case r.Offset < 0:
		if r.Offset <= -size { // also avoids negating math.MinInt64
			return 0, size, nil
		}
		return size + r.Offset, -r.Offset, nil
	case r.Offset >= size:
		return 0, 0, fmt.Errorf("%w: offset %d at or beyond size %d", ErrInvalidRange, r.Offset, size)
	case r.Length == 0 || r.Length > size-r.Offset:
		return r.Offset, size - r.Offset, nil
	default:
		return r.Offset, r.Length, nil
	}
}

// String formats r as the value of an HTTP Range header.
func (r Range) String() string {
	switch {
	case r.Offset < 0:
		return fmt.Sprintf("bytes=%d", r.Offset)
	case r.Length == 0:
		return fmt.Sprintf("bytes=%d-", r.Offset)
	default:
		return fmt.Sprintf("bytes=%d-%d", r.Offset, r.Offset+r.Length-1)
	}
}
