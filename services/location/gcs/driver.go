package gcs

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/storage"
	gax "github.com/googleapis/gax-go/v2"
	"go.uber.org/zap"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// Type is the location.Config.Type this driver registers under.
const Type = location.TypeGCS

// Defaults and limits of Config.
const (
	// DefaultChunkSize is the chunk size when Config.ChunkSize is 0.
	DefaultChunkSize = 8 << 20
	// MinChunkSize is the smallest chunk GCS accepts (chunks are
	// multiples of it).
	MinChunkSize = 256 << 10
	// DefaultMemoryChunks is Config.MemoryLimit in chunks when it is 0.
	DefaultMemoryChunks = 8
	// peekSize is how much of an unknown-size body Put reads before it
	// decides between one request and a resumable upload.
	peekSize = 256 << 10
)

func init() {
	// Register fails only if another package registered "gcs" too; the
	// package tests check that this driver is the one Open finds.
	_ = location.Register(Type, func(ctx context.Context, _ string, cfg location.Config, logger *zap.Logger) (location.Driver, error) {
		if cfg.GCS == nil {
			return nil, fmt.Errorf("%w: a gcs location needs gcs settings", location.ErrInvalidConfig)
		}
		c := Config{GCSConfig: *cfg.GCS, Logger: logger}
		if err := c.applyOptions(cfg.Options); err != nil {
			return nil, err
		}
		return New(ctx, c)
	})
}

// Config configures New.
type Config struct {
	// GCSConfig holds the bucket, prefix, and either credentials
	// (CredentialsFile or CredentialsJSON: a service account,
	// authorized user, impersonated service account or external account
	// JSON) or an Endpoint. With an Endpoint and no credentials the
	// driver sends no credentials, as emulators want
	// (http://127.0.0.1:4443/storage/v1/ for fake-gcs-server). With
	// neither, it uses Application Default Credentials.
	location.GCSConfig
	// ChunkSize is the size of the chunks of a resumable upload, and the
	// largest known-size body sent in one request; 0 means
	// DefaultChunkSize. It is rounded up to a multiple of MinChunkSize.
	ChunkSize int64
	// MemoryLimit bounds the bytes the chunk buffers of all Puts of the
	// driver hold at once; 0 means DefaultMemoryChunks chunks. It is
	// raised to one chunk if smaller. Each Put also streams through a
	// 256 KiB copy buffer.
	MemoryLimit int64
	// HTTPClient sends the requests when the driver sends no credentials;
	// nil means a client of the driver's own, whose idle connections
	// Close closes.
	HTTPClient *http.Client
	// Logger receives start-up logs; nil discards them. Secrets are never
	// logged.
	Logger *zap.Logger
}

// driver implements location.Driver on a Google Cloud Storage bucket.
type driver struct {
	client     *storage.Client
	bucket     *storage.BucketHandle
	httpClient *http.Client // nil when the storage client owns its transport
	prefix     string
	chunkSize  int64
	mem        *memory
	log        *zap.Logger
	closed     atomic.Bool
}

var _ location.Driver = (*driver)(nil)

// New returns a driver for cfg.Bucket under cfg.Prefix. It sends no
// request, so a service can start while GCS is unreachable; credentials
// files are read now. It returns errors wrapping location.ErrInvalidConfig.
func New(ctx context.Context, cfg Config) (location.Driver, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &driver{prefix: cfg.Prefix, chunkSize: cfg.ChunkSize, log: cfg.Logger}
	if d.chunkSize == 0 {
		d.chunkSize = DefaultChunkSize
	}
	d.chunkSize = (d.chunkSize + MinChunkSize - 1) / MinChunkSize * MinChunkSize
	if d.log == nil {
		d.log = zap.NewNop()
	}
	limit := cfg.MemoryLimit
	if limit == 0 {
		limit = DefaultMemoryChunks * d.chunkSize
	}
	d.mem = newMemory(d.chunkSize, limit)

	opts := []option.ClientOption{storage.WithJSONReads()}
	auth := "application default credentials"
	switch {
	case cfg.CredentialsFile != "":
		data, err := os.ReadFile(cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("%w: gcs: read credentials file: %w", location.ErrInvalidConfig, err)
		}
		typ, err := credentialsType(data)
		if err != nil {
			return nil, fmt.Errorf("%w: gcs: credentials file %s: %w", location.ErrInvalidConfig, cfg.CredentialsFile, err)
		}
		opts = append(opts, option.WithAuthCredentialsFile(typ, cfg.CredentialsFile))
		auth = "credentials file"
	case cfg.CredentialsJSON != "":
		typ, err := credentialsType([]byte(cfg.CredentialsJSON.Value()))
		if err != nil {
			return nil, fmt.Errorf("%w: gcs: credentials JSON: %w", location.ErrInvalidConfig, err)
		}
		opts = append(opts, option.WithAuthCredentialsJSON(typ, []byte(cfg.CredentialsJSON.Value())))
		auth = "credentials JSON"
	case cfg.Endpoint != "":
		d.httpClient = cfg.HTTPClient
		if d.httpClient == nil {
			d.httpClient = remote.NewHTTPClient()
		}
		opts = append(opts, option.WithoutAuthentication(), option.WithHTTPClient(d.httpClient))
		auth = "none"
	}
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
	}
	client, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: gcs: %w", location.ErrInvalidConfig, err)
	}
	// Few, short retries: callers (the replicator) retry with their own
	// backoff, and must learn soon that GCS is unreachable; the library
	// would otherwise retry until ctx ends.
	client.SetRetry(storage.WithMaxAttempts(4), storage.WithBackoff(gax.Backoff{Initial: 200 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2}))
	d.client, d.bucket = client, client.Bucket(cfg.Bucket)
	d.log.Info("gcs location opened",
		zap.String("endpoint", cfg.Endpoint), zap.String("bucket", cfg.Bucket), zap.String("prefix", d.prefix),
		zap.String("auth", auth), zap.Int64("chunkSize", d.chunkSize), zap.Int64("memoryLimit", d.mem.limit))
	return d, nil
}

// credentialsType returns the type field of a credentials JSON document.
func credentialsType(data []byte) (option.CredentialsType, error) {
	var doc struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return "", errors.New("not a JSON document") // the parser's error may quote the secret
	}
	switch typ := option.CredentialsType(doc.Type); typ {
	case option.ServiceAccount, option.AuthorizedUser, option.ImpersonatedServiceAccount, option.ExternalAccount:
		return typ, nil
	}
	return "", fmt.Errorf("credentials of type %q: want service_account, authorized_user, impersonated_service_account or external_account", doc.Type)
}

// validate checks cfg; it returns an error wrapping
// location.ErrInvalidConfig.
func (cfg Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: gcs: %s", location.ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case cfg.Bucket == "":
		return bad("bucket is required")
	case strings.ContainsAny(cfg.Bucket, "/\x00"):
		return bad("bucket %q holds a '/' or NUL", cfg.Bucket)
	case cfg.CredentialsFile != "" && cfg.CredentialsJSON != "":
		return bad("give a credentials file or credentials JSON, not both")
	case cfg.Endpoint != "" && !strings.HasPrefix(cfg.Endpoint, "http://") && !strings.HasPrefix(cfg.Endpoint, "https://"):
		return bad("endpoint %q is not an http:// or https:// URL", cfg.Endpoint)
	case cfg.Prefix != "" && checkName(cfg.Prefix+"x") != nil:
		return bad("prefix %q: %v", cfg.Prefix, checkName(cfg.Prefix+"x"))
	case len(cfg.Prefix) >= location.MaxKeyLen-64:
		return bad("prefix is %d bytes, too long for keys to fit in %d", len(cfg.Prefix), location.MaxKeyLen)
	case cfg.ChunkSize < 0:
		return bad("chunk size %d is negative", cfg.ChunkSize)
	case cfg.MemoryLimit < 0:
		return bad("memory limit %d is negative", cfg.MemoryLimit)
	}
	return nil
}

// checkName reports why name cannot be a GCS object name, or nil.
func checkName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: GCS object names must be valid UTF-8", location.ErrInvalidKey)
	case strings.ContainsAny(name, "\x00\r\n"):
		return fmt.Errorf("%w: GCS object names cannot hold NUL, CR or LF", location.ErrInvalidKey)
	case name == "." || name == "..":
		return fmt.Errorf("%w: GCS object names cannot be %q", location.ErrInvalidKey, name)
	case strings.HasPrefix(name, ".well-known/acme-challenge/"):
		return fmt.Errorf("%w: GCS reserves names under .well-known/acme-challenge/", location.ErrInvalidKey)
	}
	return nil
}

// objectName checks that the driver is open and key can be stored, and
// returns the object name.
func (d *driver) objectName(key string) (string, error) {
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

// Stat implements location.Driver.
func (d *driver) Stat(ctx context.Context, key string) (location.ObjectInfo, error) {
	info, _, err := d.stat(ctx, key)
	if err != nil {
		return location.ObjectInfo{}, fmt.Errorf("gcs: stat %q: %w", key, err)
	}
	return info, nil
}

// stat returns key's info and the generation it describes.
func (d *driver) stat(ctx context.Context, key string) (location.ObjectInfo, int64, error) {
	if err := ctx.Err(); err != nil {
		return location.ObjectInfo{}, 0, err
	}
	name, err := d.objectName(key)
	if err != nil {
		return location.ObjectInfo{}, 0, err
	}
	attrs, err := d.bucket.Object(name).Attrs(ctx)
	if err != nil {
		return location.ObjectInfo{}, 0, mapError(ctx, err)
	}
	return objectInfo(key, attrs), attrs.Generation, nil
}

// objectInfo builds the ObjectInfo of an object: the ETag is its MD5 hash,
// or GCS's ETag when it has none (composite objects, written by others).
func objectInfo(key string, attrs *storage.ObjectAttrs) location.ObjectInfo {
	etag := hex.EncodeToString(attrs.MD5)
	if len(attrs.MD5) == 0 {
		etag = attrs.Etag
	}
	mod := attrs.Created
	if mod.IsZero() {
		mod = attrs.Updated
	}
	var meta map[string]string
	if len(attrs.Metadata) > 0 {
		meta = attrs.Metadata
	}
	return location.ObjectInfo{Key: key, Size: attrs.Size, ETag: etag, ContentType: attrs.ContentType, Metadata: meta, ModTime: mod}
}

// Delete implements location.Driver; it deletes the live version only.
func (d *driver) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gcs: delete %q: %w", key, err)
	}
	name, err := d.objectName(key)
	if err != nil {
		return fmt.Errorf("gcs: delete %q: %w", key, err)
	}
	if err := d.bucket.Object(name).Delete(ctx); err != nil {
		if err := mapError(ctx, err); !errors.Is(err, location.ErrNotFound) {
			return fmt.Errorf("gcs: delete %q: %w", key, err)
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
	// The storage client's Close only releases gRPC resources, which a
	// JSON client has none of; it never ends reads in flight.
	err := d.client.Close()
	if d.httpClient != nil {
		d.httpClient.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("gcs: close: %w", err)
	}
	return nil
}

// mapError turns a GCS error into one wrapping the location sentinel it
// means, keeping the original in the chain. When ctx has ended, the result
// wraps ctx.Err().
func mapError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	var sentinel error
	var gerr *googleapi.Error
	switch {
	case errors.Is(err, storage.ErrObjectNotExist):
		sentinel = location.ErrNotFound
	case errors.As(err, &gerr):
		switch gerr.Code {
		case http.StatusRequestedRangeNotSatisfiable:
			sentinel = location.ErrInvalidRange
		case http.StatusNotFound:
			// A missing bucket is not a missing object.
			if !errors.Is(err, storage.ErrBucketNotExist) && !strings.Contains(strings.ToLower(gerr.Message), "bucket") {
				sentinel = location.ErrNotFound
			}
		}
	}
	if sentinel == nil {
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
