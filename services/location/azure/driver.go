package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// Type is the location.Config.Type this driver registers under.
const Type = location.TypeAzure

// ErrBlocksDiscarded means a concurrent Put to the same key committed
// first and Azure discarded this Put's staged blocks: nothing of this Put
// was stored, and retrying it stores it. Put returns it wrapped.
var ErrBlocksDiscarded = errors.New("azure: staged blocks discarded by a concurrent Put to the key")

// Defaults and limits of Config.
const (
	// DefaultBlockSize is the block size when Config.BlockSize is 0.
	DefaultBlockSize = 8 << 20
	// MinBlockSize is the smallest Config.BlockSize.
	MinBlockSize = 1 << 20
	// MaxBlockSize is the largest block Azure accepts.
	MaxBlockSize = 4000 << 20
	// DefaultConcurrency is the block buffers one Put holds when
	// Config.Concurrency is 0: one filling while one uploads.
	DefaultConcurrency = 2
	// DefaultMemoryBlocks is Config.MemoryLimit in blocks when it is 0.
	DefaultMemoryBlocks = 8
	// maxBlocks is Azure's limit on the blocks of one blob.
	maxBlocks = 50000
	// commitTimeout bounds Put Block List once it has been sent, which
	// runs even when the Put's ctx ends, so a committed blob is reported.
	commitTimeout = 30 * time.Second
)

func init() {
	// Register fails only if another package registered "azure" too; the
	// package tests check that this driver is the one Open finds.
	_ = location.Register(Type, func(ctx context.Context, _ string, cfg location.Config, logger *zap.Logger) (location.Driver, error) {
		if cfg.Azure == nil {
			return nil, fmt.Errorf("%w: an azure location needs azure settings", location.ErrInvalidConfig)
		}
		c := Config{AzureConfig: *cfg.Azure, Logger: logger}
		if err := c.applyOptions(cfg.Options); err != nil {
			return nil, err
		}
		return New(ctx, c)
	})
}

// Config configures New.
type Config struct {
	// AzureConfig holds the container, prefix and credentials: either a
	// ConnectionString, or an AccountName and AccountKey with an optional
	// Endpoint (the blob service URL, by default
	// https://<account>.blob.core.windows.net).
	location.AzureConfig
	// BlockSize is the size of each staged block, and the largest body
	// sent with one Put Blob; 0 means DefaultBlockSize. It must lie
	// between MinBlockSize and MaxBlockSize. A known-size object too large
	// for 50000 blocks gets larger blocks; an unknown-size one fails with
	// location.ErrInvalidArgument past 50000 blocks.
	BlockSize int64
	// Concurrency is the number of block buffers one Put holds: one is
	// filled from the reader while the others upload. 0 means
	// DefaultConcurrency.
	Concurrency int
	// MemoryLimit bounds the bytes all Puts of the driver buffer at once;
	// 0 means DefaultMemoryBlocks blocks. It is raised to one block if
	// smaller.
	MemoryLimit int64
	// HTTPClient sends the requests; nil means a client of the driver's
	// own, whose idle connections Close closes.
	HTTPClient *http.Client
	// Logger receives start-up logs; nil discards them. Secrets are never
	// logged.
	Logger *zap.Logger
}

// driver implements location.Driver on an Azure Blob Storage container.
type driver struct {
	c           *container.Client
	httpClient  *http.Client
	ownsHTTP    bool
	prefix      string
	blockSize   int64
	concurrency int
	bufs        *remote.BufferPool
	log         *zap.Logger
	closed      atomic.Bool
}

var _ location.Driver = (*driver)(nil)

// New returns a driver for cfg.Container under cfg.Prefix. It sends no
// request, so a service can start while the account is unreachable. It
// returns errors wrapping location.ErrInvalidConfig.
func New(_ context.Context, cfg Config) (location.Driver, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &driver{prefix: cfg.Prefix, blockSize: cfg.BlockSize, concurrency: cfg.Concurrency, httpClient: cfg.HTTPClient, log: cfg.Logger}
	if d.blockSize == 0 {
		d.blockSize = DefaultBlockSize
	}
	if d.concurrency == 0 {
		d.concurrency = DefaultConcurrency
	}
	if d.log == nil {
		d.log = zap.NewNop()
	}
	limit := cfg.MemoryLimit
	if limit == 0 {
		limit = DefaultMemoryBlocks * d.blockSize
	}
	d.bufs = remote.NewBufferPool(d.blockSize, limit)
	if d.httpClient == nil {
		d.httpClient = remote.NewHTTPClient()
		d.ownsHTTP = true
	}
	opts := &container.ClientOptions{}
	opts.Transport = d.httpClient
	// Short retries: callers (the replicator) retry with their own
	// backoff, and must learn soon that the service is down. A
	// Retry-After from the service still wins.
	opts.Retry = policy.RetryOptions{MaxRetries: 3, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second}
	var err error
	endpoint := cfg.Endpoint
	if cfg.ConnectionString != "" {
		d.c, err = container.NewClientFromConnectionString(cfg.ConnectionString.Value(), cfg.Container, opts)
		endpoint = "(from connection string)"
	} else {
		if endpoint == "" {
			endpoint = "https://" + cfg.AccountName + ".blob.core.windows.net"
		}
		var cred *container.SharedKeyCredential
		if cred, err = container.NewSharedKeyCredential(cfg.AccountName, cfg.AccountKey.Value()); err == nil {
			d.c, err = container.NewClientWithSharedKeyCredential(strings.TrimSuffix(endpoint, "/")+"/"+cfg.Container, cred, opts)
		}
	}
	if err != nil {
		// The SDK's errors quote neither the key nor the connection
		// string.
		return nil, fmt.Errorf("%w: azure: %w", location.ErrInvalidConfig, err)
	}
	d.log.Info("azure location opened",
		zap.String("endpoint", endpoint), zap.String("account", cfg.AccountName),
		zap.String("container", cfg.Container), zap.String("prefix", d.prefix),
		zap.Int64("blockSize", d.blockSize), zap.Int("concurrency", d.concurrency), zap.Int64("memoryLimit", d.bufs.Limit()))
	return d, nil
}

// validate checks cfg; it returns an error wrapping
// location.ErrInvalidConfig.
func (cfg Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: azure: %s", location.ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case cfg.Container == "":
		return bad("container is required")
	case strings.ContainsAny(cfg.Container, "/\x00"):
		return bad("container %q holds a '/' or NUL", cfg.Container)
	case cfg.ConnectionString == "" && (cfg.AccountName == "" || cfg.AccountKey == ""):
		return bad("a connection string, or an account name and key, is required")
	case cfg.ConnectionString != "" && (cfg.AccountKey != "" || cfg.Endpoint != ""):
		return bad("a connection string excludes an account key and endpoint")
	case cfg.Endpoint != "" && !strings.HasPrefix(cfg.Endpoint, "http://") && !strings.HasPrefix(cfg.Endpoint, "https://"):
		return bad("endpoint %q is not an http:// or https:// URL", cfg.Endpoint)
	case cfg.Prefix != "" && checkName(cfg.Prefix+"x") != nil:
		return bad("prefix %q: %v", cfg.Prefix, checkName(cfg.Prefix+"x"))
	case len(cfg.Prefix) >= location.MaxKeyLen-64:
		return bad("prefix is %d bytes, too long for keys to fit in %d", len(cfg.Prefix), location.MaxKeyLen)
	case cfg.BlockSize != 0 && (cfg.BlockSize < MinBlockSize || cfg.BlockSize > MaxBlockSize):
		return bad("block size %d outside [%d, %d]", cfg.BlockSize, MinBlockSize, int64(MaxBlockSize))
	case cfg.Concurrency < 0:
		return bad("concurrency %d is negative", cfg.Concurrency)
	case cfg.MemoryLimit < 0:
		return bad("memory limit %d is negative", cfg.MemoryLimit)
	}
	return nil
}

// checkName reports why name cannot be a blob name the driver stores
// faithfully, or nil.
func checkName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: Azure blob names must be valid UTF-8", location.ErrInvalidKey)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%w: Azure blob names cannot hold control characters", location.ErrInvalidKey)
	case name[0] == '/' || strings.Contains(name, "//"):
		return fmt.Errorf("%w: empty path segments are folded by URL paths", location.ErrInvalidKey)
	case strings.IndexByte(name, '\\') >= 0:
		return fmt.Errorf("%w: Azure turns '\\' into '/' in blob names", location.ErrInvalidKey)
	}
	for seg := range strings.SplitSeq(name, "/") {
		if strings.HasSuffix(seg, ".") {
			return fmt.Errorf("%w: Azure drops the dots that end a path segment (%q)", location.ErrInvalidKey, seg)
		}
	}
	return nil
}

// blobName checks that the driver is open and key can be stored, and
// returns the blob name.
func (d *driver) blobName(key string) (string, error) {
	if d.closed.Load() {
		return "", location.ErrClosed
	}
	if err := location.ValidateKey(key); err != nil {
		return "", err
	}
	name := d.prefix + key
	if len(name) > location.MaxKeyLen {
		return "", fmt.Errorf("%w: prefix and key are %d bytes, the limit is %d", location.ErrInvalidKey, len(name), location.MaxKeyLen)
	}
	if err := checkName(name); err != nil {
		return "", err
	}
	return name, nil
}

// Stat implements location.Driver with Get Blob Properties.
func (d *driver) Stat(ctx context.Context, key string) (location.ObjectInfo, error) {
	info, _, err := d.stat(ctx, key)
	if err != nil {
		return location.ObjectInfo{}, fmt.Errorf("azure: stat %q: %w", key, err)
	}
	return info, nil
}

// stat returns key's info and its blob's ETag.
func (d *driver) stat(ctx context.Context, key string) (location.ObjectInfo, azcore.ETag, error) {
	if err := ctx.Err(); err != nil {
		return location.ObjectInfo{}, "", err
	}
	name, err := d.blobName(key)
	if err != nil {
		return location.ObjectInfo{}, "", err
	}
	p, err := d.c.NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		return location.ObjectInfo{}, "", mapError(ctx, err)
	}
	etag := deref(p.ETag)
	return objectInfo(key, deref(p.ContentLength), p.ContentMD5, etag, deref(p.ContentType), p.Metadata, deref(p.LastModified)), etag, nil
}

// Delete implements location.Driver; it deletes the blob's snapshots too.
func (d *driver) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("azure: delete %q: %w", key, err)
	}
	name, err := d.blobName(key)
	if err != nil {
		return fmt.Errorf("azure: delete %q: %w", key, err)
	}
	_, err = d.c.NewBlobClient(name).Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to(blob.DeleteSnapshotsOptionTypeInclude)})
	if err != nil {
		if err := mapError(ctx, err); !errors.Is(err, location.ErrNotFound) {
			return fmt.Errorf("azure: delete %q: %w", key, err)
		}
	}
	return nil
}

// Close implements location.Driver: later calls fail with
// location.ErrClosed. Readers from Get stay readable.
func (d *driver) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	if d.ownsHTTP {
		d.httpClient.CloseIdleConnections()
	}
	return nil
}

// mapError turns an Azure error into one wrapping the location sentinel it
// means, keeping the original in the chain. When ctx has ended, the result
// wraps ctx.Err().
func mapError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	var sentinel error
	switch {
	case bloberror.HasCode(err, bloberror.BlobNotFound):
		sentinel = location.ErrNotFound
	case bloberror.HasCode(err, bloberror.InvalidRange):
		sentinel = location.ErrInvalidRange
	case bloberror.HasCode(err, bloberror.MD5Mismatch):
		sentinel = location.ErrBadDigest
	case bloberror.HasCode(err, bloberror.InvalidMetadata, bloberror.MetadataTooLarge, bloberror.RequestBodyTooLarge):
		sentinel = location.ErrInvalidArgument
	case bloberror.HasCode(err, bloberror.InvalidResourceName, bloberror.InvalidURI):
		sentinel = location.ErrInvalidKey
	case bloberror.HasCode(err, bloberror.InvalidBlockList):
		sentinel = ErrBlocksDiscarded
	}
	if sentinel == nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			sentinel = location.ErrInvalidRange
		}
	}
	if sentinel == nil {
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func to[T any](v T) *T { return &v }
