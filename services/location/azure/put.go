package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"maps"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-io/sluice/services/location"
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
	src         io.Reader
	h           hash.Hash // MD5 of the bytes read so far
	n           int64     // bytes read so far
}

func (d *driver) put(ctx context.Context, key string, r io.Reader, opts location.PutOptions) (location.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return location.ObjectInfo{}, err
	}
	name, err := d.blobName(key)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	if opts.Size < -1 {
		return location.ObjectInfo{}, fmt.Errorf("%w: size %d", location.ErrInvalidArgument, opts.Size)
	}
	if n := len(opts.ContentMD5); n != 0 && n != md5.Size {
		return location.ObjectInfo{}, fmt.Errorf("%w: content MD5 of %d bytes", location.ErrInvalidArgument, n)
	}
	meta, err := encodeMetadata(opts.Metadata)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	u := &upload{d: d, key: key, bb: d.c.NewBlockBlobClient(name), opts: opts, meta: meta, contentType: opts.ContentType, src: r, h: md5.New()}
	if u.contentType == "" {
		u.contentType = defaultContentType
	}
	if opts.Size >= 0 {
		u.src = io.LimitReader(r, opts.Size+1) // one more byte reveals a long body
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
	buf, err := d.bufs.get(ctx, blockSize)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	n, eof, err := u.fill(ctx, buf)
	if err == nil && !eof && opts.Size >= 0 && opts.Size <= d.blockSize {
		var probe [1]byte // the whole body should be in buf: only EOF may follow
		_, eof, err = u.fill(ctx, probe[:])
	}
	if err != nil || eof {
		defer d.bufs.put(buf)
		if err != nil {
			return location.ObjectInfo{}, err
		}
		return u.putBlob(ctx, buf[:n])
	}
	return u.blocks(ctx, buf, n, blockSize)
}

// fill reads into buf until it is full or the body ends, hashing what it
// reads. It checks ctx before every read and fails early with
// location.ErrSizeMismatch once a known-size body runs long.
func (u *upload) fill(ctx context.Context, buf []byte) (n int, eof bool, err error) {
	empty := 0
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, false, err
		}
		m, rerr := u.src.Read(buf[n:])
		if m > 0 {
			u.h.Write(buf[n : n+m])
			n += m
			u.n += int64(m)
			empty = 0
		} else if rerr == nil {
			if empty++; empty > 100 {
				rerr = io.ErrNoProgress
			}
		}
		if rerr == io.EOF {
			eof = true
			break
		}
		if rerr != nil {
			return n, false, fmt.Errorf("read data: %w", rerr)
		}
	}
	if u.opts.Size >= 0 && u.n > u.opts.Size {
		return n, false, fmt.Errorf("%w: body longer than %d bytes", location.ErrSizeMismatch, u.opts.Size)
	}
	return n, eof, nil
}

// check verifies the whole body against the declared size and MD5, and
// returns its MD5.
func (u *upload) check() ([]byte, error) {
	if u.opts.Size >= 0 && u.n != u.opts.Size {
		return nil, fmt.Errorf("%w: read %d bytes, want %d", location.ErrSizeMismatch, u.n, u.opts.Size)
	}
	sum := u.h.Sum(nil)
	if u.opts.ContentMD5 != nil && !bytes.Equal(sum, u.opts.ContentMD5) {
		return nil, fmt.Errorf("%w: data MD5 is %x, want %x", location.ErrBadDigest, sum, u.opts.ContentMD5)
	}
	return sum, nil
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
	return location.ObjectInfo{Key: u.key, Size: u.n, ETag: hex.EncodeToString(sum), ContentType: u.contentType, Metadata: meta, ModTime: mt}
}

// putBlob stores the whole body, data, with one Put Blob.
func (u *upload) putBlob(ctx context.Context, data []byte) (location.ObjectInfo, error) {
	sum, err := u.check()
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
	var ids []string
	g, gctx := errgroup.WithContext(ctx)
	free := make(chan []byte, d.concurrency)
	owned := 1
	defer func() {
		for range owned {
			d.bufs.put(<-free)
		}
	}()

	buf, eof := first, false
	var fillErr error
	for {
		num := len(ids) + 1
		id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s-%06d", putID, num))
		ids = append(ids, id)
		b, data := buf, buf[:n]
		g.Go(func() error {
			// The buffer is reused once StageBlock returns: by then the
			// service has answered, so whatever the transport may still
			// read belongs to a request whose outcome is settled.
			defer func() { free <- b }()
			sum := md5.Sum(data)
			_, err := u.bb.StageBlock(gctx, id, streaming.NopCloser(bytes.NewReader(data)), &blockblob.StageBlockOptions{
				TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
			})
			if err != nil {
				return fmt.Errorf("stage block %d: %w", num, mapError(gctx, err))
			}
			return nil
		})
		if eof {
			break
		}
		buf = nil
		select {
		case buf = <-free:
		default:
			if owned < d.concurrency {
				var ok bool
				if buf, ok = d.bufs.tryGet(blockSize); ok {
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
			break // a block failed: g.Wait has its error
		}
		n, eof, fillErr = u.fill(gctx, buf)
		if fillErr == nil && n == 0 {
			free <- buf // the body ended exactly at a block boundary
			break
		}
		if fillErr == nil && len(ids) == maxBlocks {
			fillErr = fmt.Errorf("%w: body exceeds %d blocks of %d bytes", location.ErrInvalidArgument, maxBlocks, blockSize)
		}
		if fillErr != nil {
			free <- buf
			break
		}
	}
	if err := g.Wait(); err != nil {
		return location.ObjectInfo{}, err // the cause; a fill error then only says gctx ended
	}
	if fillErr != nil {
		if cerr := ctx.Err(); cerr != nil {
			return location.ObjectInfo{}, cerr
		}
		return location.ObjectInfo{}, fillErr
	}
	sum, err := u.check()
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
