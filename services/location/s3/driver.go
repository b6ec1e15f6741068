package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/internal/remote"
)

// Type is the location.Config.Type this driver registers under.
const Type = location.TypeS3

// Defaults and limits of Config.
const (
	// DefaultPartSize is the part size when Config.PartSize is 0.
	DefaultPartSize = 8 << 20
	// MinPartSize is the smallest part S3 accepts (except the last).
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part S3 accepts.
	MaxPartSize = 5 << 30
	// DefaultConcurrency is the part buffers one Put holds when
	// Config.Concurrency is 0: one filling while one uploads.
	DefaultConcurrency = 2
	// DefaultMemoryParts is Config.MemoryLimit in parts when it is 0.
	DefaultMemoryParts = 8
	// MaxCopyObjectSize is the largest object CopyObject copies; larger
	// ones are copied with UploadPartCopy.
	MaxCopyObjectSize = 5 << 30
	// maxParts is S3's limit on the parts of one multipart upload.
	maxParts = 10000
	// cleanupTimeout bounds the requests that clean up after a failed Put
	// (abort, delete), which run even when the Put's ctx has ended.
	cleanupTimeout = 30 * time.Second
)

// Checksum modes of Config.ChecksumMode.
const (
	// ChecksumWhenRequired sends only the Content-MD5 the driver computes:
	// the mode every S3-compatible store understands. The default.
	ChecksumWhenRequired = "when_required"
	// ChecksumWhenSupported also lets the AWS SDK add its flexible
	// checksums (CRC32 and friends) to every upload and validate them on
	// downloads, for stores that support them (AWS itself).
	ChecksumWhenSupported = "when_supported"
)

// tmpDir is the reserved key prefix of temporary objects. It is relative
// to Config.Prefix.
const tmpDir = ".sluice-tmp/"

func init() {
	// Register fails only if another package registered "s3" too; the
	// package tests check that this driver is the one Open finds.
	_ = location.Register(Type, func(ctx context.Context, _ string, cfg location.Config, logger *zap.Logger) (location.Driver, error) {
		if cfg.S3 == nil {
			return nil, fmt.Errorf("%w: an s3 location needs s3 settings", location.ErrInvalidConfig)
		}
		c := Config{S3Config: *cfg.S3, Logger: logger}
		if err := c.applyOptions(cfg.Options); err != nil {
			return nil, err
		}
		return New(ctx, c)
	})
}

// Config configures New.
type Config struct {
	// S3Config holds the endpoint, region, bucket, prefix, credentials and
	// addressing style. Without AccessKeyID, credentials (and a missing
	// Region) come from the AWS SDK's default chain: environment, shared
	// files, web identity, instance role.
	location.S3Config
	// PartSize is the size of each part of a multipart upload, and the
	// largest object sent with one PutObject; 0 means DefaultPartSize. It
	// must lie between MinPartSize and MaxPartSize. A known-size object
	// too large for 10000 parts gets larger parts; an unknown-size one
	// fails with location.ErrInvalidArgument past 10000 parts.
	PartSize int64
	// Concurrency is the number of part buffers one Put holds: one is
	// filled from the reader while the others upload. 0 means
	// DefaultConcurrency.
	Concurrency int
	// MemoryLimit bounds the bytes all Puts of the driver buffer at once;
	// a Put waits for memory before it reads. 0 means DefaultMemoryParts
	// parts. It is raised to one part if smaller.
	MemoryLimit int64
	// ChecksumMode is ChecksumWhenRequired (the default when empty) or
	// ChecksumWhenSupported.
	ChecksumMode string
	// MaxCopyObjectSize is the largest temporary object copied with one
	// CopyObject (see the package documentation); larger ones use
	// UploadPartCopy. 0 means MaxCopyObjectSize; tests lower it.
	MaxCopyObjectSize int64
	// HTTPClient sends the requests; nil means a client of the driver's
	// own, whose idle connections Close closes.
	HTTPClient *http.Client
	// Logger receives start-up logs; nil discards them. Secrets are never
	// logged.
	Logger *zap.Logger
	// ReplicaMarker makes every request carry ReplicaHeader, so that a
	// Sluice endpoint stores the objects written through the driver as
	// replicas (x-amz-replication-status REPLICA) and never replicates them
	// again. Other S3 stores ignore the header. The replicator sets it for
	// its destinations (location option OptionReplicaMarker); s3front's own
	// locations leave it off.
	ReplicaMarker bool
}

// ReplicaHeader is the header ReplicaMarker adds (value "1"); s3front reads
// it on object writes.
const ReplicaHeader = "X-Sluice-Replica"

// driver implements location.Driver on a bucket of an S3-compatible store.
type driver struct {
	// partMD5 sends each part's Content-MD5 (ChecksumWhenSupported, where
	// the SDK may send a part's payload unsigned).
	partMD5     bool
	client      *s3.Client
	httpClient  *http.Client
	ownsHTTP    bool
	bucket      string
	prefix      string
	partSize    int64
	concurrency int
	maxCopy     int64
	bufs        *remote.BufferPool
	log         *zap.Logger
	closed      atomic.Bool
}

var _ location.Driver = (*driver)(nil)

// New returns a driver for cfg.Bucket under cfg.Prefix. It sends no
// request: a store that is down or a bucket that is missing shows up as
// errors of the driver's methods, so a service can start while a
// destination is unreachable. It returns errors wrapping
// location.ErrInvalidConfig.
func New(ctx context.Context, cfg Config) (location.Driver, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &driver{
		bucket:      cfg.Bucket,
		prefix:      cfg.Prefix,
		partSize:    cfg.PartSize,
		concurrency: cfg.Concurrency,
		maxCopy:     cfg.MaxCopyObjectSize,
		httpClient:  cfg.HTTPClient,
		log:         cfg.Logger,
	}
	if d.partSize == 0 {
		d.partSize = DefaultPartSize
	}
	if d.concurrency == 0 {
		d.concurrency = DefaultConcurrency
	}
	if d.maxCopy == 0 {
		d.maxCopy = MaxCopyObjectSize
	}
	if d.log == nil {
		d.log = zap.NewNop()
	}
	limit := cfg.MemoryLimit
	if limit == 0 {
		limit = DefaultMemoryParts * d.partSize
	}
	d.bufs = remote.NewBufferPool(d.partSize, limit)
	if d.httpClient == nil {
		d.httpClient = remote.NewHTTPClient()
		d.ownsHTTP = true
	}

	opts := s3.Options{
		HTTPClient:   d.httpClient,
		Region:       cfg.Region,
		UsePathStyle: cfg.ForcePathStyle,
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	if cfg.ChecksumMode == ChecksumWhenSupported {
		d.partMD5 = true
		opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		opts.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	} else {
		opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		opts.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}
	if cfg.AccessKeyID != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey.Value(), cfg.SessionToken.Value())
	} else {
		// The default chain: environment, shared config files, web
		// identity, container and instance roles. Loading reads files and
		// the environment only; credentials are fetched on first use.
		def, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: s3: load AWS default config: %w", location.ErrInvalidConfig, err)
		}
		opts.Credentials = def.Credentials
		if opts.Region == "" {
			opts.Region = def.Region
		}
	}
	if opts.Region == "" {
		if cfg.Endpoint == "" {
			return nil, fmt.Errorf("%w: s3: region is required (set it or AWS_REGION)", location.ErrInvalidConfig)
		}
		opts.Region = "us-east-1" // S3-compatible stores mostly ignore it
	}
	if cfg.ReplicaMarker {
		opts.APIOptions = append(opts.APIOptions, smithyhttp.AddHeaderValue(ReplicaHeader, "1"))
	}
	d.client = s3.New(opts)
	d.log.Info("s3 location opened",
		zap.String("endpoint", cfg.Endpoint), zap.String("region", opts.Region),
		zap.String("bucket", d.bucket), zap.String("prefix", d.prefix),
		zap.Bool("pathStyle", cfg.ForcePathStyle), zap.Bool("staticCredentials", cfg.AccessKeyID != ""), zap.Bool("replicaMarker", cfg.ReplicaMarker),
		zap.Int64("partSize", d.partSize), zap.Int("concurrency", d.concurrency), zap.Int64("memoryLimit", d.bufs.Limit()))
	return d, nil
}

// validate checks cfg; it returns an error wrapping
// location.ErrInvalidConfig.
func (cfg Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: s3: %s", location.ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case cfg.Bucket == "":
		return bad("bucket is required")
	case strings.ContainsAny(cfg.Bucket, "/\x00"):
		return bad("bucket %q holds a '/' or NUL", cfg.Bucket)
	case !utf8.ValidString(cfg.Prefix) || strings.IndexByte(cfg.Prefix, 0) >= 0:
		return bad("prefix %q is not UTF-8 without NUL", cfg.Prefix)
	case len(cfg.Prefix) >= location.MaxKeyLen-len(tmpDir)-32:
		return bad("prefix is %d bytes, too long for keys to fit in %d", len(cfg.Prefix), location.MaxKeyLen)
	case cfg.PartSize != 0 && (cfg.PartSize < MinPartSize || cfg.PartSize > MaxPartSize):
		return bad("part size %d outside [%d, %d]", cfg.PartSize, MinPartSize, MaxPartSize)
	case cfg.Concurrency < 0:
		return bad("concurrency %d is negative", cfg.Concurrency)
	case cfg.MemoryLimit < 0:
		return bad("memory limit %d is negative", cfg.MemoryLimit)
	case cfg.MaxCopyObjectSize < 0 || cfg.MaxCopyObjectSize > MaxCopyObjectSize:
		return bad("max copy object size %d outside [0, %d]", cfg.MaxCopyObjectSize, int64(MaxCopyObjectSize))
	case cfg.ChecksumMode != "" && cfg.ChecksumMode != ChecksumWhenRequired && cfg.ChecksumMode != ChecksumWhenSupported:
		return bad("checksum mode %q: want %q or %q", cfg.ChecksumMode, ChecksumWhenRequired, ChecksumWhenSupported)
	case cfg.Endpoint != "" && !strings.HasPrefix(cfg.Endpoint, "http://") && !strings.HasPrefix(cfg.Endpoint, "https://"):
		return bad("endpoint %q is not an http:// or https:// URL", cfg.Endpoint)
	case cfg.AccessKeyID == "" && (cfg.SecretAccessKey != "" || cfg.SessionToken != ""):
		return bad("a secret access key or session token without an access key ID")
	case cfg.AccessKeyID != "" && cfg.SecretAccessKey == "":
		return bad("an access key ID without a secret access key")
	}
	return nil
}

// objectKey checks that the driver is open and key can be stored, and
// returns the object key in the bucket.
func (d *driver) objectKey(key string) (string, error) {
	if d.closed.Load() {
		return "", location.ErrClosed
	}
	if err := location.ValidateKey(key); err != nil {
		return "", err
	}
	switch {
	case !utf8.ValidString(key):
		return "", fmt.Errorf("%w: S3 keys must be valid UTF-8", location.ErrInvalidKey)
	case strings.IndexByte(key, 0) >= 0:
		return "", fmt.Errorf("%w: S3 keys cannot hold NUL", location.ErrInvalidKey)
	case key[0] == '/':
		// MinIO (and some other stores) drop a leading slash, so "/a"
		// and "a" would be one object.
		return "", fmt.Errorf("%w: S3 keys cannot start with '/' (stores differ on what it means)", location.ErrInvalidKey)
	case strings.HasPrefix(key, tmpDir):
		return "", fmt.Errorf("%w: keys under %q are reserved for uploads in progress", location.ErrInvalidKey, tmpDir)
	case len(d.prefix)+len(key) > location.MaxKeyLen:
		return "", fmt.Errorf("%w: prefix and key are %d bytes, S3's limit is %d", location.ErrInvalidKey, len(d.prefix)+len(key), location.MaxKeyLen)
	}
	return d.prefix + key, nil
}

// Stat implements location.Driver.
func (d *driver) Stat(ctx context.Context, key string) (location.ObjectInfo, error) {
	info, err := d.stat(ctx, key)
	if err != nil {
		return location.ObjectInfo{}, fmt.Errorf("s3: stat %q: %w", key, err)
	}
	return info, nil
}

func (d *driver) stat(ctx context.Context, key string) (location.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return location.ObjectInfo{}, err
	}
	full, err := d.objectKey(key)
	if err != nil {
		return location.ObjectInfo{}, err
	}
	return d.head(ctx, key, full)
}

// head returns the info of the object full, stored under key.
func (d *driver) head(ctx context.Context, key, full string) (location.ObjectInfo, error) {
	out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &d.bucket, Key: &full})
	if err != nil {
		return location.ObjectInfo{}, mapError(ctx, err)
	}
	return objectInfo(key, aws.ToInt64(out.ContentLength), aws.ToString(out.ETag), aws.ToString(out.ContentType), out.Metadata, aws.ToTime(out.LastModified)), nil
}

// Delete implements location.Driver.
func (d *driver) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: delete %q: %w", key, err)
	}
	full, err := d.objectKey(key)
	if err != nil {
		return fmt.Errorf("s3: delete %q: %w", key, err)
	}
	if _, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.bucket, Key: &full}); err != nil {
		if err := mapError(ctx, err); !errors.Is(err, location.ErrNotFound) {
			return fmt.Errorf("s3: delete %q: %w", key, err)
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

// mapError turns an S3 error into one wrapping the location sentinel it
// means, keeping the original in the chain. When ctx has ended, the result
// wraps ctx.Err().
func mapError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	code, status := "", 0
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	var sentinel error
	switch {
	case code == "NoSuchKey", code == "NotFound", status == http.StatusNotFound && code != "NoSuchBucket" && code != "NoSuchUpload":
		sentinel = location.ErrNotFound
	case code == "InvalidRange", status == http.StatusRequestedRangeNotSatisfiable:
		sentinel = location.ErrInvalidRange
	case code == "KeyTooLongError", code == "XMinioInvalidObjectName", code == "XMinioInvalidResourceName", code == "InvalidObjectName":
		sentinel = location.ErrInvalidKey
	case code == "BadDigest", code == "InvalidDigest", code == "XAmzContentSHA256Mismatch":
		sentinel = location.ErrBadDigest
	case code == "MetadataTooLarge", code == "InvalidArgument", code == "EntityTooLarge":
		sentinel = location.ErrInvalidArgument
	case code == "IncompleteBody":
		sentinel = location.ErrSizeMismatch
	}
	if sentinel == nil {
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
