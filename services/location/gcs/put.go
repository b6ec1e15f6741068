package gcs

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"unicode/utf8"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// defaultContentType is stored when PutOptions.ContentType is empty, so
// that Put and Stat agree.
const defaultContentType = "application/octet-stream"

// Put implements location.Driver; see the package documentation for how
// it uploads.
func (d *driver) Put(ctx context.Context, key string, r io.Reader, opts location.PutOptions) (location.ObjectInfo, error) {
	info, err := d.put(ctx, key, r, opts)
	if err != nil {
		return location.ObjectInfo{}, fmt.Errorf("gcs: put %q: %w", key, err)
	}
	return info, nil
}

// upload is one Put in progress.
type upload struct {
	opts location.PutOptions
	body *remote.Body
}

func (d *driver) put(ctx context.Context, key string, r io.Reader, opts location.PutOptions) (location.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return location.ObjectInfo{}, err
	}
	name, err := d.objectName(key)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	if err := remote.CheckPutOptions(opts); err != nil {
		return location.ObjectInfo{}, err
	}
	for k, v := range opts.Metadata {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return location.ObjectInfo{}, fmt.Errorf("%w: metadata %q=%q is not UTF-8 with a non-empty key", location.ErrInvalidArgument, k, v)
		}
	}
	u := &upload{opts: opts, body: remote.NewBody(r, opts)}

	// One pooled buffer carries the whole body to the writer; the first
	// fill tells a small unknown-size body from a large one.
	buf := d.mem.copyBuffer()
	defer d.mem.putCopyBuffer(buf)
	n, eof, err := u.body.Fill(ctx, buf)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	// A body wholly in buf is checked before anything is sent, and goes
	// up in one request. Any other goes up as a resumable upload, which
	// GCS finalizes only when Close sends the last chunk: a Put that
	// fails midway leaves nothing, whatever the server makes of a broken
	// request.
	var sum []byte
	chunk := int64(0)
	if eof {
		if sum, err = u.body.Check(); err != nil {
			return location.ObjectInfo{}, err
		}
	} else {
		chunk = d.chunkSize
		if opts.Size >= 0 {
			chunk = min(chunk, (opts.Size+MinChunkSize-1)/MinChunkSize*MinChunkSize)
		}
		if err := d.mem.reserve(ctx, chunk); err != nil { // the writer buffers one chunk
			return location.ObjectInfo{}, err
		}
		defer d.mem.release(chunk)
	}

	// Cancelling wctx abandons the upload.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := d.bucket.Object(name).NewWriter(wctx)
	w.ChunkSize = int(chunk)
	w.ContentType = opts.ContentType
	if w.ContentType == "" {
		w.ContentType = defaultContentType
	}
	w.Metadata = maps.Clone(opts.Metadata)
	w.MD5 = opts.ContentMD5 // GCS checks it too
	if sum != nil {
		w.MD5 = sum
	}
	abandon := func(err error) (location.ObjectInfo, error) {
		// Cancelling wctx makes the writer abort its request, but from
		// another goroutine: a Close racing with it could still end the
		// request body cleanly and publish the object. CloseWithError
		// aborts the body here and now (it is deprecated only in favour
		// of cancelling, which is not synchronous); Close then waits for
		// the upload goroutine to end.
		cancel()
		_ = w.CloseWithError(err) //nolint:staticcheck // see above
		_ = w.Close()             // reports the abort
		return location.ObjectInfo{}, err
	}
	for {
		if _, err := w.Write(buf[:n]); err != nil {
			return abandon(mapError(ctx, fmt.Errorf("write: %w", err)))
		}
		if eof {
			break
		}
		if n, eof, err = u.body.Fill(ctx, buf); err != nil {
			return abandon(err)
		}
	}
	if sum, err = u.body.Check(); err != nil {
		return abandon(err)
	}
	if err := ctx.Err(); err != nil {
		return abandon(err)
	}
	if err := w.Close(); err != nil {
		return location.ObjectInfo{}, mapError(ctx, err)
	}
	attrs := w.Attrs()
	if len(attrs.MD5) != 0 && !bytes.Equal(attrs.MD5, sum) {
		return location.ObjectInfo{}, fmt.Errorf("%w: GCS stored MD5 %x, the data read had %x", location.ErrBadDigest, attrs.MD5, sum)
	}
	info := objectInfo(key, attrs)
	info.ETag = hex.EncodeToString(sum)
	return info, nil
}
