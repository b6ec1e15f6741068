package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// readRetries is how often a download that breaks is resumed, from the
// same version of the blob (If-Match its ETag).
const readRetries = 3

// Get implements location.Driver with one Get Blob, resumed from the same
// version if the connection breaks. Azure has no suffix ranges, so a
// suffix range first reads the blob's properties and then downloads from
// exactly that version.
func (d *driver) Get(ctx context.Context, key string, rng *location.Range) (io.ReadCloser, location.ObjectInfo, error) {
	rc, info, err := d.get(ctx, key, rng)
	if err != nil {
		return nil, location.ObjectInfo{}, fmt.Errorf("azure: get %q: %w", key, err)
	}
	return rc, info, nil
}

func (d *driver) get(ctx context.Context, key string, rng *location.Range) (io.ReadCloser, location.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, location.ObjectInfo{}, err
	}
	name, err := d.blobName(key)
	if err != nil {
		return nil, location.ObjectInfo{}, err
	}
	if rng != nil {
		// Malformed ranges fail here; unsatisfiable ones need the size.
		if _, _, err := rng.Resolve(math.MaxInt64); err != nil {
			return nil, location.ObjectInfo{}, err
		}
	}
	bc := d.c.NewBlobClient(name)
	for attempt := 0; ; attempt++ {
		opts := &blob.DownloadStreamOptions{}
		if rng != nil && rng.Offset >= 0 {
			opts.Range = blob.HTTPRange{Offset: rng.Offset, Count: rng.Length}
		} else if rng != nil {
			info, etag, err := d.stat(ctx, key)
			if err != nil {
				return nil, location.ObjectInfo{}, err
			}
			off, n, err := rng.Resolve(info.Size)
			if err != nil {
				return nil, location.ObjectInfo{}, err
			}
			opts.Range = blob.HTTPRange{Offset: off, Count: n}
			opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}}
		}
		resp, err := bc.DownloadStream(ctx, opts)
		if bloberror.HasCode(err, bloberror.ConditionNotMet) && attempt < readRetries {
			continue // overwritten between the properties and the download
		}
		if err != nil {
			return nil, location.ObjectInfo{}, mapError(ctx, err)
		}
		size := deref(resp.ContentLength)
		if cr := deref(resp.ContentRange); cr != "" {
			if size, err = remote.TotalSize(cr); err != nil {
				resp.Body.Close()
				return nil, location.ObjectInfo{}, err
			}
		}
		if rng != nil {
			// Azure answers some unsatisfiable ranges (of an empty blob,
			// or starting at its end) with a success.
			if _, _, err := rng.Resolve(size); err != nil {
				resp.Body.Close()
				return nil, location.ObjectInfo{}, err
			}
		}
		sum := resp.BlobContentMD5 // of the whole blob, on ranged reads
		if sum == nil && rng == nil {
			sum = resp.ContentMD5
		}
		info := objectInfo(key, size, sum, deref(resp.ETag), deref(resp.ContentType), resp.Metadata, deref(resp.LastModified))
		body := resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: readRetries})
		return &bodyReader{ctx: ctx, body: body}, info, nil
	}
}

// bodyReader reads a blob's body and fails with ctx's error once ctx is
// done.
type bodyReader struct {
	ctx  context.Context
	body io.ReadCloser
	once sync.Once
	err  error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, fmt.Errorf("azure: read: %w", err)
	}
	n, err := b.body.Read(p)
	if errors.Is(err, io.EOF) {
		return n, io.EOF
	}
	if err != nil {
		if cerr := b.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			return n, fmt.Errorf("azure: read: %w (%w)", cerr, err)
		}
		return n, fmt.Errorf("azure: read: %w", err)
	}
	return n, err
}

// Close closes the body; later calls return the first result.
func (b *bodyReader) Close() error {
	b.once.Do(func() { b.err = b.body.Close() })
	return b.err
}
