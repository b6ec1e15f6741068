package fs

import (
	"context"
	"fmt"
	"io"

	"github.com/sluice-io/sluice/services/location"
)

// maxComposeSources bounds Compose's source list (S3 allows 10,000 parts).
const maxComposeSources = 10000

// Compose implements location.Composer. It streams each source in turn
// through one buffer into a temp file and commits it like Put, so the ETag
// is the hex MD5 of the whole result. Each source is read from one
// consistent version; sources are opened one at a time.
func (d *driver) Compose(ctx context.Context, dst string, srcs []string, opts location.ComposeOptions) (location.ObjectInfo, error) {
	info, err := d.compose(ctx, dst, srcs, opts)
	if err != nil {
		return location.ObjectInfo{}, fmt.Errorf("fs: compose %q: %w", dst, err)
	}
	return info, nil
}

func (d *driver) compose(ctx context.Context, dst string, srcs []string, opts location.ComposeOptions) (location.ObjectInfo, error) {
	comps, _, err := d.prepare(dst)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	if len(srcs) == 0 || len(srcs) > maxComposeSources {
		return location.ObjectInfo{}, fmt.Errorf("%w: %d sources", location.ErrInvalidArgument, len(srcs))
	}
	for _, src := range srcs {
		if _, _, err := d.prepare(src); err != nil {
			return location.ObjectInfo{}, fmt.Errorf("source %q: %w", src, err)
		}
	}
	rec := &record{key: dst, contentType: opts.ContentType, metadata: opts.Metadata}
	return d.write(ctx, comps, rec, -1, nil, func(w io.Writer) error {
		for _, src := range srcs {
			if err := d.appendObject(ctx, w, src); err != nil {
				return fmt.Errorf("source %q: %w", src, err)
			}
		}
		return nil
	})
}

// appendObject streams the data of key to w.
func (d *driver) appendObject(ctx context.Context, w io.Writer, key string) error {
	f, rec, err := d.open(key)
	if err != nil {
		return err
	}
	defer f.Close()
	return d.streamTo(ctx, w, io.NewSectionReader(f, 0, rec.size))
}
