package s3

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// maxListKeys is the largest page ListObjectsV2 returns.
const maxListKeys = 1000

// List implements location.Driver with ListObjectsV2. Keys are listed
// URL-encoded, so keys holding control characters survive the XML. The
// ETag of an object whose S3 ETag is not an MD5 (a multipart upload) comes
// from a HeadObject. Temporary objects of uploads in progress are never
// listed.
func (d *driver) List(ctx context.Context, prefix, startAfter string, limit int) ([]location.ObjectInfo, error) {
	out, err := d.list(ctx, prefix, startAfter, limit)
	if err != nil {
		return nil, fmt.Errorf("s3: list %q after %q: %w", prefix, startAfter, err)
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
	// S3 takes UTF-8 without NUL; any other prefix or start is narrowed
	// to the part S3 can take, and the rest is filtered here.
	in := &s3.ListObjectsV2Input{
		Bucket:       &d.bucket,
		Prefix:       aws.String(d.prefix + remote.Storable(prefix)),
		EncodingType: types.EncodingTypeUrl,
	}
	if sa := d.prefix + remote.Storable(startAfter); sa != "" {
		in.StartAfter = &sa
	}
	var out []location.ObjectInfo
	for {
		in.MaxKeys = aws.Int32(int32(min(limit-len(out), maxListKeys)))
		page, err := d.client.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, mapError(ctx, err)
		}
		for _, obj := range page.Contents {
			name, err := url.QueryUnescape(aws.ToString(obj.Key))
			if err != nil {
				return nil, fmt.Errorf("undecodable key %q in listing: %w", aws.ToString(obj.Key), err)
			}
			key, ok := strings.CutPrefix(name, d.prefix)
			switch {
			case !ok || key <= startAfter || strings.HasPrefix(key, tmpDir):
				continue
			case !strings.HasPrefix(key, prefix):
				if key > prefix {
					return out, nil // sorted: no later key has the prefix
				}
				continue
			}
			info, err := d.listed(ctx, key, name, obj)
			if errors.Is(err, location.ErrNotFound) {
				continue // deleted since it was listed
			}
			if err != nil {
				return nil, err
			}
			out = append(out, info)
			if len(out) == limit {
				return out, nil
			}
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			return out, nil
		}
		in.ContinuationToken = page.NextContinuationToken
	}
}

// listed returns the info of a listed object, asking HeadObject for its
// MD5 when the listing's ETag is not one.
func (d *driver) listed(ctx context.Context, key, full string, obj types.Object) (location.ObjectInfo, error) {
	etag := strings.Trim(aws.ToString(obj.ETag), `"`)
	if !isMD5Hex(etag) {
		return d.head(ctx, key, full)
	}
	return location.ObjectInfo{Key: key, Size: aws.ToInt64(obj.Size), ETag: etag, ModTime: aws.ToTime(obj.LastModified)}, nil
}
