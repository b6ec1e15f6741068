package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// Put implements location.Driver; see the package documentation for how
// it uploads.
func (d *driver) Put(ctx context.Context, key string, r io.Reader, opts location.PutOptions) (location.ObjectInfo, error) {
	info, err := d.put(ctx, key, r, opts)
	if err != nil {
		return location.ObjectInfo{}, fmt.Errorf("azure: put %q: %w", key, err)
	}
	return info, nil
}

// upload is one Put in progress.
type upload struct {
	d           *driver
	key         string
	bb          *blockblob.Client
	opts        location.PutOptions
	meta        map[string]*string
	contentType string
	body        *remote.Body
}

func (d *driver) put(ctx context.Context, key string, r io.Reader, opts location.PutOptions) (location.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return location.ObjectInfo{}, err
	}
	name, err := d.blobName(key)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	if err := remote.CheckPutOptions(opts); err != nil {
		return location.ObjectInfo{}, err
	}
	meta, err := encodeMetadata(opts.Metadata)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	u := &upload{d: d, key: key, bb: d.c.NewBlockBlobClient(name), opts: opts, meta: meta, contentType: opts.ContentType, body: remote.NewBody(r, opts)}
	if u.contentType == "" {
		u.contentType = defaultContentType
	}

	blockSize := d.blockSize
	if opts.Size >= 0 && opts.Size <= blockSize {
		blockSize = opts.Size // one Put Blob; the buffer need be no larger
	} else if opts.Size > 0 {
		need := (opts.Size + maxBlocks - 1) / maxBlocks
		need = (need + 1<<20 - 1) &^ (1<<20 - 1) // whole MiB
		if need > MaxBlockSize {
			return location.ObjectInfo{}, fmt.Errorf("%w: %d bytes exceed Azure's largest blob", location.ErrInvalidArgument, opts.Size)
		}
		blockSize = max(blockSize, need)
	}
	buf, err := d.bufs.Get(ctx, blockSize)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	n, eof, err := u.body.Fill(ctx, buf)
	if err == nil && !eof && opts.Size >= 0 && opts.Size <= d.blockSize {
		var probe [1]byte // the whole body should be in buf: only EOF may follow
		_, eof, err = u.body.Fill(ctx, probe[:])
	}
	if err != nil || eof {
		defer d.bufs.Put(buf)
		if err != nil {
			return location.ObjectInfo{}, err
		}
		return u.putBlob(ctx, buf[:n])
	}
	return u.blocks(ctx, buf, n, blockSize)
}

// info returns the ObjectInfo of the stored blob.
func (u *upload) info(sum []byte, modTime *time.Time) location.ObjectInfo {
	var meta map[string]string
	if len(u.opts.Metadata) > 0 {
		meta = maps.Clone(u.opts.Metadata)
	}
	mt := time.Now()
	if modTime != nil {
		mt = *modTime
	}
	return location.ObjectInfo{Key: u.key, Size: u.body.N(), ETag: hex.EncodeToString(sum), ContentType: u.contentType, Metadata: meta, ModTime: mt}
}

// putBlob stores the whole body, data, with one Put Blob.
func (u *upload) putBlob(ctx context.Context, data []byte) (location.ObjectInfo, error) {
	sum, err := u.body.Check()
	if err != nil {
		return location.ObjectInfo{}, err
	}
	resp, err := u.bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		Metadata:                u.meta,
		HTTPHeaders:             &blob.HTTPHeaders{BlobContentType: &u.contentType, BlobContentMD5: sum},
		TransactionalContentMD5: sum,
	})
	if err != nil {
		return location.ObjectInfo{}, mapError(ctx, err)
	}
	return u.info(sum, resp.LastModified), nil
}

// blocks stages the body block by block, the first of which (n bytes) is
// in first, a buffer of blockSize bytes that blocks takes over, and
// commits the block list. It fills one buffer from the reader while the
// others upload, holding at most d.concurrency buffers; it takes more than
// the first only when the pool has memory free, so concurrent Puts cannot
// deadlock on it. All buffers go back to the pool.
func (u *upload) blocks(ctx context.Context, first []byte, n int, blockSize int64) (location.ObjectInfo, error) {
	d := u.d
	// Block IDs are unique to this Put, all of one length as Azure
	// requires: concurrent Puts to the key never overwrite each other's
	// uncommitted blocks.
	putID := rand.Text()
	blockID := func(num int) string {
		return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s-%06d", putID, num))
	}
	p := remote.Parts{Pool: d.bufs, Concurrency: d.concurrency, Size: blockSize, Max: maxBlocks, Unit: "blocks"}
	count, err := remote.UploadParts(ctx, p, u.body, first, n, func(gctx context.Context, num int, data []byte) error {
		sum := md5.Sum(data)
		_, err := u.bb.StageBlock(gctx, blockID(num), streaming.NopCloser(bytes.NewReader(data)), &blockblob.StageBlockOptions{
			TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
		})
		if err != nil {
			return fmt.Errorf("stage block %d: %w", num, mapError(gctx, err))
		}
		return nil
	})
	if err != nil {
		return location.ObjectInfo{}, err
	}
	ids := make([]string, count)
	for i := range ids {
		ids[i] = blockID(i + 1)
	}
	sum, err := u.body.Check()
	if err != nil {
		return location.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return location.ObjectInfo{}, err
	}
	// Committing publishes the blob: once asked, let it finish even if
	// ctx ends, so that success is not reported as failure.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	resp, err := u.bb.CommitBlockList(cctx, ids, &blockblob.CommitBlockListOptions{
		Metadata:    u.meta,
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &u.contentType, BlobContentMD5: sum},
	})
	if err != nil {
		return location.ObjectInfo{}, mapError(cctx, err)
	}
	return u.info(sum, resp.LastModified), nil
}
