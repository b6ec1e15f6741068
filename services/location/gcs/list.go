package gcs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// maxListResults is the largest page the objects list returns.
const maxListResults = 1000

// List implements location.Driver with the objects list, starting at
// startAfter (startOffset) and fetching only the fields ObjectInfo needs.
func (d *driver) List(ctx context.Context, prefix, startAfter string, limit int) ([]location.ObjectInfo, error) {
	out, err := d.list(ctx, prefix, startAfter, limit)
	if err != nil {
		return nil, fmt.Errorf("gcs: list %q after %q: %w", prefix, startAfter, err)
	}
	return out, nil
}

func (d *driver) list(ctx context.Context, prefix, startAfter string, limit int) ([]location.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.closed.Load() {
		return nil, location.ErrClosed
	}
	if limit <= 0 {
		limit = location.DefaultListLimit
	}
	// Object names are UTF-8; any other prefix or start is narrowed to
	// the part GCS can take, and the rest is filtered here.
	q := &storage.Query{Prefix: d.prefix + remote.Storable(prefix), Projection: storage.ProjectionNoACL}
	if sa := d.prefix + remote.Storable(startAfter); sa != "" {
		q.StartOffset = sa // inclusive: startAfter itself is skipped below
	}
	if err := q.SetAttrSelection([]string{"Name", "Size", "MD5", "Etag", "Created", "Updated", "ContentType"}); err != nil {
		return nil, err
	}
	it := d.bucket.Objects(ctx, q)
	it.PageInfo().MaxSize = min(limit, maxListResults)
	var out []location.ObjectInfo
	for {
		attrs, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, mapError(ctx, err)
		}
		key, ok := strings.CutPrefix(attrs.Name, d.prefix)
		switch {
		case !ok || key <= startAfter:
			continue
		case !strings.HasPrefix(key, prefix):
			if key > prefix {
				return out, nil // sorted: no later key has the prefix
			}
			continue
		}
		info := objectInfo(key, attrs)
		info.Metadata = nil // not selected
		out = append(out, info)
		if len(out) == limit {
			return out, nil
		}
	}
}
