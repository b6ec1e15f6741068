package s3

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// Get implements location.Driver with one GetObject, so the data comes
// from one version of the object whatever happens to the key meanwhile.
func (d *driver) Get(ctx context.Context, key string, rng *location.Range) (io.ReadCloser, location.ObjectInfo, error) {
	rc, info, err := d.get(ctx, key, rng)
	if err != nil {
		return nil, location.ObjectInfo{}, fmt.Errorf("s3: get %q: %w", key, err)
	}
	return rc, info, nil
}

func (d *driver) get(ctx context.Context, key string, rng *location.Range) (io.ReadCloser, location.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, location.ObjectInfo{}, err
	}
	full, err := d.objectKey(key)
	if err != nil {
		return nil, location.ObjectInfo{}, err
	}
	in := &s3.GetObjectInput{Bucket: &d.bucket, Key: &full}
	if rng != nil {
		// Malformed ranges fail here; unsatisfiable ones need the size,
		// which the store checks.
		if _, _, err := rng.Resolve(math.MaxInt64); err != nil {
			return nil, location.ObjectInfo{}, err
		}
		in.Range = aws.String(rng.String())
	}
	out, err := d.client.GetObject(ctx, in)
	if err != nil {
		return nil, location.ObjectInfo{}, mapError(ctx, err)
	}
	length := aws.ToInt64(out.ContentLength)
	size := length
	skip := int64(0)
	if cr := aws.ToString(out.ContentRange); cr != "" {
		if size, err = remote.TotalSize(cr); err != nil {
			out.Body.Close()
			return nil, location.ObjectInfo{}, err
		}
	}
	if rng != nil {
		// Some stores answer unsatisfiable ranges with a success, or
		// ignore a range and send the whole object.
		off, n, err := rng.Resolve(size)
		if err != nil {
			out.Body.Close()
			return nil, location.ObjectInfo{}, err
		}
		if aws.ToString(out.ContentRange) == "" {
			skip, length = off, n
		}
	}
	info := objectInfo(key, size, aws.ToString(out.ETag), aws.ToString(out.ContentType), out.Metadata, aws.ToTime(out.LastModified))
	return &bodyReader{ctx: ctx, body: out.Body, skip: skip, left: length}, info, nil
}

// bodyReader reads an object's body: it skips skip bytes, yields left
// bytes, and fails with ctx's error once ctx is done.
type bodyReader struct {
	ctx        context.Context
	body       io.ReadCloser
	skip, left int64
	once       sync.Once
	err        error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, fmt.Errorf("s3: read: %w", err)
	}
	if b.skip > 0 {
		if _, err := io.CopyN(io.Discard, b.body, b.skip); err != nil {
			return 0, b.readErr(err)
		}
		b.skip = 0
	}
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	if err == io.EOF && b.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		err = b.readErr(err)
	}
	return n, err
}

// readErr wraps a body read error, as ctx's error when ctx has ended.
func (b *bodyReader) readErr(err error) error {
	if cerr := b.ctx.Err(); cerr != nil {
		return fmt.Errorf("s3: read: %w (%w)", cerr, err)
	}
	return fmt.Errorf("s3: read: %w", err)
}

// Close closes the body; later calls return the first result.
func (b *bodyReader) Close() error {
	b.once.Do(func() { b.err = b.body.Close() })
	return b.err
}
