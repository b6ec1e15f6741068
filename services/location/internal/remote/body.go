package remote

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"hash"
	"io"

	"github.com/sluice-io/sluice/services/location"
)

// Body reads the data of one Put, hashing it with MD5 and counting it
// against the declared size and digest of its location.PutOptions. It is
// not safe for concurrent use.
type Body struct {
	src  io.Reader
	h    hash.Hash // MD5 of the bytes read so far
	n    int64     // bytes read so far
	size int64     // declared size; negative when unknown
	md5  []byte    // declared MD5; nil when none
}

// NewBody returns a Body reading r for a Put with opts. A body of known
// size is read to at most one byte beyond it, which reveals one running
// long.
func NewBody(r io.Reader, opts location.PutOptions) *Body {
	b := &Body{src: r, h: md5.New(), size: opts.Size, md5: opts.ContentMD5}
	if opts.Size >= 0 {
		b.src = io.LimitReader(r, opts.Size+1) // one more byte reveals a long body
	}
	return b
}

// N returns the bytes read so far.
func (b *Body) N() int64 { return b.n }

// Fill reads into buf until it is full or the body ends, hashing what it
// reads. It checks ctx before every read and returns its error once it
// ends; it fails early with location.ErrSizeMismatch once a known-size
// body runs long, and with io.ErrNoProgress (wrapped) after 100 empty reads.
func (b *Body) Fill(ctx context.Context, buf []byte) (n int, eof bool, err error) {
	empty := 0
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, false, err
		}
		m, rerr := b.src.Read(buf[n:])
		if m > 0 {
			b.h.Write(buf[n : n+m])
			n += m
			b.n += int64(m)
			empty = 0
		} else if rerr == nil {
			if empty++; empty > 100 {
				rerr = io.ErrNoProgress
			}
		}
		if rerr == io.EOF {
			eof = true
			break
		}
		if rerr != nil {
			return n, false, fmt.Errorf("read data: %w", rerr)
		}
	}
	if b.size >= 0 && b.n > b.size {
		return n, false, fmt.Errorf("%w: body longer than %d bytes", location.ErrSizeMismatch, b.size)
	}
	return n, eof, nil
}

// Check verifies the whole body read against the declared size
// (location.ErrSizeMismatch) and MD5 (location.ErrBadDigest), and returns
// its MD5.
func (b *Body) Check() ([]byte, error) {
	if b.size >= 0 && b.n != b.size {
		return nil, fmt.Errorf("%w: read %d bytes, want %d", location.ErrSizeMismatch, b.n, b.size)
	}
	sum := b.h.Sum(nil)
	if b.md5 != nil && !bytes.Equal(sum, b.md5) {
		return nil, fmt.Errorf("%w: data MD5 is %x, want %x", location.ErrBadDigest, sum, b.md5)
	}
	return sum, nil
}

// CheckPutOptions reports a size below -1 or a ContentMD5 that is neither
// empty nor 16 bytes long, with an error wrapping
// location.ErrInvalidArgument; otherwise nil.
func CheckPutOptions(opts location.PutOptions) error {
	if opts.Size < -1 {
		return fmt.Errorf("%w: size %d", location.ErrInvalidArgument, opts.Size)
	}
	if n := len(opts.ContentMD5); n != 0 && n != md5.Size {
		return fmt.Errorf("%w: content MD5 of %d bytes", location.ErrInvalidArgument, n)
	}
	return nil
}
