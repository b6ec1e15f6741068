package load

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"sync"
)

// patternBlockLen is the period of the generated object content. It is not a power of two
// so that objects of power-of-two sizes do not all start and end on the same bytes.
const patternBlockLen = 1<<18 + 7

var (
	patternOnce  sync.Once
	patternBlock []byte
)

// block returns the shared, read-only pseudo-random block every object's content is cut
// from. It is generated once from a fixed seed, so every run writes the same bytes.
func block() []byte {
	patternOnce.Do(func() {
		rng := rand.New(rand.NewPCG(0x5111ce, 0x10ad))
		patternBlock = make([]byte, patternBlockLen)
		for i := range patternBlock {
			patternBlock[i] = byte(rng.Uint32())
		}
	})
	return patternBlock
}

// keyPhase is where in the block the content of key starts, so objects under different
// keys have different bytes and a GET that returns another key's object is caught.
func keyPhase(key string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return int64(h.Sum64() % patternBlockLen)
}

// patternReader produces the content of one object, size bytes long, without holding it in
// memory: byte i is block()[(phase+i) % patternBlockLen]. It implements io.ReadSeeker, so
// the SDK can hash the body and rewind it without copying. Reset reuses it for another
// key, so each worker allocates one.
type patternReader struct {
	phase, size, off int64
}

var _ io.ReadSeeker = (*patternReader)(nil)

// Reset points r at the start of key's content, size bytes long.
func (r *patternReader) Reset(key string, size int64) {
	r.phase, r.size, r.off = keyPhase(key), size, 0
}

// Read copies the next bytes of the object into p; it returns io.EOF at the end.
func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	b := block()
	p = p[:min(int64(len(p)), r.size-r.off)]
	n := 0
	for n < len(p) {
		pos := (r.phase + r.off) % patternBlockLen
		c := copy(p[n:], b[pos:])
		n += c
		r.off += int64(c)
	}
	return n, nil
}

// errSeek is returned for a seek before the start of the object.
var errSeek = errors.New("load: seek before start of object")

// Seek implements io.Seeker; offsets beyond the end are allowed and read as EOF.
func (r *patternReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, fmt.Errorf("load: seek whence %d: %w", whence, errSeek)
	}
	if abs < 0 {
		return 0, errSeek
	}
	r.off = abs
	return abs, nil
}

// verifyContent reads body to its end, comparing it with key's content of the given size,
// using buf as scratch space. It returns the number of bytes read and an error wrapping
// ErrContentMismatch when the bytes or the length differ, or the read error.
func verifyContent(body io.Reader, key string, size int64, buf []byte) (int64, error) {
	b := block()
	phase := keyPhase(key)
	var off int64
	for {
		n, err := body.Read(buf)
		chunk := buf[:n]
		for len(chunk) > 0 {
			if off >= size {
				return off + int64(len(chunk)), fmt.Errorf("%w: %s: longer than %d bytes", ErrContentMismatch, key, size)
			}
			pos := (phase + off) % patternBlockLen
			m := min(len(chunk), len(b)-int(pos), int(size-off))
			if !bytes.Equal(chunk[:m], b[pos:pos+int64(m)]) {
				return off, fmt.Errorf("%w: %s: differs within bytes %d-%d", ErrContentMismatch, key, off, off+int64(m)-1)
			}
			chunk = chunk[m:]
			off += int64(m)
		}
		if errors.Is(err, io.EOF) {
			if off != size {
				return off, fmt.Errorf("%w: %s: %d bytes, want %d", ErrContentMismatch, key, off, size)
			}
			return off, nil
		}
		if err != nil {
			return off, fmt.Errorf("load: read %s: %w", key, err)
		}
	}
}
