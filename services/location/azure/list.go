package azure

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// maxListResults is the largest page List Blobs returns.
const maxListResults = 5000

// List implements location.Driver with List Blobs (flat). It asks the
// service to start at startAfter (the startFrom parameter); a service that
// ignores it, as Azurite 3.35 does, lists from the prefix's start and the
// driver skips what comes before, which costs time, not correctness.
func (d *driver) List(ctx context.Context, prefix, startAfter string, limit int) ([]location.ObjectInfo, error) {
	out, err := d.list(ctx, prefix, startAfter, limit)
	if err != nil {
		return nil, fmt.Errorf("azure: list %q after %q: %w", prefix, startAfter, err)
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
	// Blob names are UTF-8 without NUL; any other prefix or start is
	// narrowed to the part the service can take, and the rest is
	// filtered here.
	opts := &container.ListBlobsFlatOptions{
		Prefix:     to(d.prefix + remote.Storable(prefix)),
		MaxResults: to(int32(min(limit, maxListResults))),
	}
	if sa := d.prefix + remote.Storable(startAfter); sa != "" {
		opts.StartFrom = &sa
	}
	var out []location.ObjectInfo
	pager := d.c.NewListBlobsFlatPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, mapError(ctx, err)
		}
		for _, item := range page.Segment.BlobItems {
			key, ok := strings.CutPrefix(deref(item.Name), d.prefix)
			switch {
			case !ok || key <= startAfter:
				continue
			case !strings.HasPrefix(key, prefix):
				if key > prefix {
					return out, nil // sorted: no later key has the prefix
				}
				continue
			}
			p := item.Properties
			if p == nil {
				return nil, fmt.Errorf("listing of %q has no properties", key)
			}
			info := objectInfo(key, deref(p.ContentLength), p.ContentMD5, deref(p.ETag), deref(p.ContentType), nil, deref(p.LastModified))
			out = append(out, info)
			if len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}
