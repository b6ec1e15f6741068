package remote

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/sluice-io/sluice/services/location"
)

// Parts describes how UploadParts cuts a body into parts.
type Parts struct {
	Pool        *BufferPool // the driver's buffers
	Concurrency int         // the most buffers one Put holds (at least 1)
	Size        int64       // bytes of a part; every buffer but the last is full
	Max         int         // the most parts the store accepts
	Unit        string      // what the store calls a part, plural, for errors: "parts"
}

// UploadParts uploads body part by part with upload, the first of which
// (n bytes) is already in first, a buffer of p.Size bytes from p.Pool that
// UploadParts takes over. It fills one buffer from body while the others
// upload, calling upload concurrently with the 1-based part number and the
// part's data, which stays valid until upload returns. It holds at most
// p.Concurrency buffers and takes more than the first only when the pool
// has memory free, so concurrent Puts cannot deadlock on it. All buffers
// go back to the pool. It returns the number of parts uploaded; or the
// first error of upload; or ctx's error when ctx ends while it reads the
// body; or a read error of body.Fill; or one wrapping
// location.ErrInvalidArgument when the body needs more than p.Max parts.
// When ctx ends while it waits for a free buffer and no upload failed, it
// stops without an error before the body's end: callers check body.Check
// and ctx.Err before they publish the parts.
func UploadParts(ctx context.Context, p Parts, body *Body, first []byte, n int, upload func(ctx context.Context, num int, data []byte) error) (int, error) {
	g, gctx := errgroup.WithContext(ctx)
	free := make(chan []byte, p.Concurrency)
	owned := 1
	defer func() {
		for range owned {
			p.Pool.Put(<-free)
		}
	}()

	buf, num, eof := first, 1, false
	var fillErr error
	for {
		b, data, pn := buf, buf[:n], num
		g.Go(func() error {
			// The buffer is reused once upload returns: by then the store
			// has answered, so whatever the transport may still read
			// belongs to a request whose outcome is settled.
			defer func() { free <- b }()
			return upload(gctx, pn, data)
		})
		if eof {
			break
		}
		buf = nil
		select {
		case buf = <-free:
		default:
			if owned < p.Concurrency {
				var ok bool
				if buf, ok = p.Pool.TryGet(p.Size); ok {
					owned++
				}
			}
		}
		if buf == nil {
			select {
			case buf = <-free:
			case <-gctx.Done():
			}
		}
		if buf == nil {
			break // an upload failed: g.Wait has its error
		}
		n, eof, fillErr = body.Fill(gctx, buf)
		if fillErr == nil && n == 0 {
			free <- buf // the body ended exactly at a part boundary
			break
		}
		if fillErr == nil && num == p.Max {
			fillErr = fmt.Errorf("%w: body exceeds %d %s of %d bytes", location.ErrInvalidArgument, p.Max, p.Unit, p.Size)
		}
		if fillErr != nil {
			free <- buf
			break
		}
		num++
	}
	if err := g.Wait(); err != nil {
		return 0, err // the cause; a fill error then only says gctx ended
	}
	if fillErr != nil {
		if cerr := ctx.Err(); cerr != nil {
			return 0, cerr
		}
		return 0, fillErr
	}
	return num, nil
}
