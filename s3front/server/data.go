package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/services/location"
)

// newDataKey returns a fresh data key for bytes of bucket. Keys never
// derive from the object key, so no object key can reach outside the
// location's namespace or collide with another object's data.
func newDataKey(bucket string) string {
	return bucket + "/" + uuid.NewString()
}

// written describes data stored by writeData.
type written struct {
	Location  string
	Key       string
	Size      int64
	ETag      string
	Checksums map[string]string
}

// bodySize returns the decoded payload length a request announces, or -1
// when unknown.
func (rc *reqCtx) bodySize() int64 {
	if rc.auth.AccessKey != "" {
		return rc.auth.DecodedContentLength
	}
	return bodySize(rc.r)
}

func bodySize(r *http.Request) int64 {
	if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return n
		}
		return -1
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		return -1
	}
	return r.ContentLength
}

// writeData streams body into a new data key of location loc, verifying
// Content-MD5 (contentMD5, may be nil) and the checksums of cs (may be nil)
// while it streams. On any verification failure the data is deleted and
// BadDigest returned.
func (s *Server) writeData(rc *reqCtx, loc string, body io.Reader, size int64, contentMD5 []byte, cs *checksumSet) (written, error) {
	d, err := s.location(loc)
	if err != nil {
		return written{}, err
	}
	if cs != nil {
		body = cs.Wrap(body)
	}
	key := newDataKey(rc.route.Bucket)
	info, err := d.Put(rc.ctx, key, body, location.PutOptions{Size: size, ContentMD5: contentMD5})
	if err != nil {
		return written{}, s.dataErr(err)
	}
	w := written{Location: loc, Key: key, Size: info.Size, ETag: info.ETag}
	if cs != nil {
		if err := cs.Verify(rc.trailers()); err != nil {
			s.deleteData(rc.ctx, []meta.DataRef{{Location: loc, Key: key}})
			return written{}, checksumError(err)
		}
		w.Checksums = cs.Values()
	}
	return w, nil
}

// dataErr maps a location driver error to an S3 error. Errors of the
// request body (sigv4 decoding, a client gone) keep their own code.
func (s *Server) dataErr(err error) error {
	var coded interface{ Code() string }
	switch {
	case errors.Is(err, location.ErrBadDigest):
		return s3err.Wrap(s3err.BadDigest, err)
	case errors.Is(err, location.ErrSizeMismatch):
		return s3err.Wrap(s3err.IncompleteBody, err)
	case errors.Is(err, location.ErrInvalidRange):
		return s3err.Wrap(s3err.InvalidRange, err)
	case errors.As(err, &coded):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return s3err.Wrap(s3err.IncompleteBody, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return s3err.Wrap(s3err.RequestTimeout, err)
	}
	return s3err.Internal(err)
}

// openData opens the bytes of obj, whole or the part rng selects. Objects
// whose data lives only in their parts are read part after part.
func (s *Server) openData(ctx context.Context, obj *meta.Object, rng *byteRange) (io.ReadCloser, error) {
	if obj.DataKey != "" {
		d, err := s.location(obj.Location)
		if err != nil {
			return nil, err
		}
		var lr *location.Range
		if rng != nil {
			lr = &location.Range{Offset: rng.Start, Length: rng.Length}
		}
		rc, _, err := d.Get(ctx, obj.DataKey, lr)
		if err != nil {
			return nil, s.dataErr(err)
		}
		return rc, nil
	}
	if obj.Size == 0 || len(obj.Parts) == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	start, length := int64(0), obj.Size
	if rng != nil {
		start, length = rng.Start, rng.Length
	}
	return &partsReader{s: s, ctx: ctx, obj: obj, pos: start, end: start + length}, nil
}

// partsReader streams [pos, end) of an object stored as separate parts,
// opening one part at a time.
type partsReader struct {
	s        *Server
	ctx      context.Context
	obj      *meta.Object
	pos, end int64
	cur      io.ReadCloser
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.pos >= p.end {
			return 0, io.EOF
		}
		if p.cur == nil {
			if err := p.open(); err != nil {
				return 0, err
			}
		}
		n, err := p.cur.Read(b[:min(int64(len(b)), p.end-p.pos)])
		p.pos += int64(n)
		if errors.Is(err, io.EOF) {
			_ = p.cur.Close()
			p.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// open opens the part holding p.pos, from p.pos to the part's end.
func (p *partsReader) open() error {
	var off int64
	for _, part := range p.obj.Parts {
		if p.pos < off+part.Size {
			loc := part.Location
			if loc == "" {
				loc = p.obj.Location
			}
			d, err := p.s.location(loc)
			if err != nil {
				return err
			}
			in := p.pos - off
			want := min(part.Size-in, p.end-p.pos)
			rc, _, err := d.Get(p.ctx, part.DataKey, &location.Range{Offset: in, Length: want})
			if err != nil {
				return err
			}
			p.cur = rc
			return nil
		}
		off += part.Size
	}
	return io.ErrUnexpectedEOF
}

func (p *partsReader) Close() error {
	if p.cur != nil {
		err := p.cur.Close()
		p.cur = nil
		return err
	}
	return nil
}
