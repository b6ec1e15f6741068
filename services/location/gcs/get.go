package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/sluice-io/sluice/services/location"
)

// readAttempts bounds how often Get starts over when the generation it
// read the attributes of is replaced before its data is read.
const readAttempts = 3

// Get implements location.Driver: it reads the object's attributes, then
// the data of exactly that generation.
func (d *driver) Get(ctx context.Context, key string, rng *location.Range) (io.ReadCloser, location.ObjectInfo, error) {
	rc, info, err := d.get(ctx, key, rng)
	if err != nil {
		return nil, location.ObjectInfo{}, fmt.Errorf("gcs: get %q: %w", key, err)
	}
	return rc, info, nil
}

func (d *driver) get(ctx context.Context, key string, rng *location.Range) (io.ReadCloser, location.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, location.ObjectInfo{}, err
	}
	name, err := d.objectName(key)
	if err != nil {
		return nil, location.ObjectInfo{}, err
	}
	if rng != nil {
		// Malformed ranges fail before any request.
		if _, _, err := rng.Resolve(math.MaxInt64); err != nil {
			return nil, location.ObjectInfo{}, err
		}
	}
	for attempt := 1; ; attempt++ {
		info, gen, err := d.stat(ctx, key)
		if err != nil {
			return nil, location.ObjectInfo{}, err
		}
		off, n := int64(0), int64(-1)
		if rng != nil {
			if off, n, err = rng.Resolve(info.Size); err != nil {
				return nil, location.ObjectInfo{}, err
			}
		}
		r, err := d.bucket.Object(name).Generation(gen).NewRangeReader(ctx, off, n)
		if err != nil {
			err = mapError(ctx, err)
			if errors.Is(err, location.ErrNotFound) && attempt < readAttempts {
				continue // that generation was replaced or deleted: look again
			}
			return nil, location.ObjectInfo{}, err
		}
		return &bodyReader{ctx: ctx, body: r}, info, nil
	}
}

// bodyReader reads an object's data and fails with ctx's error once ctx
// is done.
type bodyReader struct {
	ctx  context.Context
	body io.ReadCloser
	once sync.Once
	err  error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, fmt.Errorf("gcs: read: %w", err)
	}
	n, err := b.body.Read(p)
	if errors.Is(err, io.EOF) {
		return n, io.EOF
	}
	if err != nil {
		if cerr := b.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			return n, fmt.Errorf("gcs: read: %w (%w)", cerr, err)
		}
		return n, fmt.Errorf("gcs: read: %w", err)
	}
	return n, nil
}

// Close closes the reader; later calls return the first result.
func (b *bodyReader) Close() error {
	b.once.Do(func() { b.err = b.body.Close() })
	return b.err
}
