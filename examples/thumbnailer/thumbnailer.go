package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/deliver/signature"
)

// Defaults of Config.
const (
	DefaultPrefix         = "thumbnails/"
	DefaultMaxSide        = 256
	DefaultMaxSourceBytes = 64 << 20
	DefaultMaxPixels      = 50_000_000
	// metaSourceETag is the user metadata naming the source version a
	// thumbnail was made from, so that a repeated event is skipped.
	metaSourceETag = "source-etag"
)

// Config configures a Thumbnailer.
type Config struct {
	// S3 reads sources and writes thumbnails (path-style, Sluice endpoint).
	S3 *s3.Client
	// Prefix is where thumbnails go ("thumbnails/<key>"); events for keys
	// under it are ignored, so thumbnails never trigger thumbnails.
	Prefix string
	// MaxSide bounds the thumbnail's width and height.
	MaxSide int
	// MaxSourceBytes and MaxPixels bound what is decoded (images are
	// decoded in memory; these keep a hostile upload from exhausting it).
	MaxSourceBytes int64
	MaxPixels      int
	// Secrets verify X-Sluice-Signature; empty means no verification.
	Secrets [][]byte
	// Logger receives one line per thumbnail and per failure.
	Logger *zap.Logger
}

// Thumbnailer is an HTTP function for Sluice's function targets: it
// receives ObjectCreated events as CloudEvents (binary or structured
// mode) and writes a scaled-down copy of each PNG or JPEG image under
// Prefix. Answers follow Sluice's function contract: 2xx done (also for
// events it ignores), 4xx permanent (dead letter), 5xx retry.
type Thumbnailer struct {
	cfg  Config
	log  *zap.Logger
	made atomic.Int64
}

// New returns a Thumbnailer; zero Config fields take their defaults. It
// returns an error when cfg.S3 is nil.
func New(cfg Config) (*Thumbnailer, error) {
	if cfg.S3 == nil {
		return nil, errors.New("thumbnailer: nil S3 client")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.MaxSide <= 0 {
		cfg.MaxSide = DefaultMaxSide
	}
	if cfg.MaxSourceBytes <= 0 {
		cfg.MaxSourceBytes = DefaultMaxSourceBytes
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = DefaultMaxPixels
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Thumbnailer{cfg: cfg, log: log}, nil
}

// Made returns how many thumbnails were written.
func (t *Thumbnailer) Made() int64 { return t.made.Load() }

// Handler returns the HTTP handler: signature check, then the CloudEvents
// SDK's HTTP receiver calling Receive. It returns the SDK's errors.
func (t *Thumbnailer) Handler(ctx context.Context) (http.Handler, error) {
	p, err := cloudevents.NewHTTP()
	if err != nil {
		return nil, fmt.Errorf("thumbnailer: %w", err)
	}
	h, err := cloudevents.NewHTTPReceiveHandler(ctx, p, t.Receive)
	if err != nil {
		return nil, fmt.Errorf("thumbnailer: %w", err)
	}
	if len(t.cfg.Secrets) == 0 {
		return h, nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := signature.VerifyRequest(r, 0, t.cfg.Secrets...); err != nil {
			t.log.Warn("rejected request", zap.Error(err))
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}), nil
}

// Receive handles one event.
func (t *Thumbnailer) Receive(ctx context.Context, e cloudevents.Event) protocol.Result {
	var rec events.Record
	if err := json.Unmarshal(e.Data(), &rec); err != nil {
		return cehttp.NewResult(http.StatusBadRequest, "data is not an S3 event record: %v", err)
	}
	if err := rec.Validate(); err != nil {
		return cehttp.NewResult(http.StatusBadRequest, "%v", err)
	}
	if rec.EventName == events.TestEvent || rec.EventName.Category() != events.CategoryObjectCreated {
		return cloudevents.ResultACK
	}
	key, _ := rec.ObjectKey() // Validate checked it decodes
	if strings.HasPrefix(key, t.cfg.Prefix) {
		return cloudevents.ResultACK // our own output: never re-trigger
	}
	contentType := ""
	if rec.Sluice != nil {
		contentType = rec.Sluice.ContentType
	}
	if format := imageFormat(key, contentType); format == "" {
		return cloudevents.ResultACK
	}
	if rec.S3.Object.Size > t.cfg.MaxSourceBytes {
		t.log.Info("image too large, skipped", zap.String("key", key), zap.Int64("size", rec.S3.Object.Size))
		return cloudevents.ResultACK
	}
	err := t.thumbnail(ctx, rec.Bucket(), key)
	switch {
	case err == nil:
		return cloudevents.ResultACK
	case errors.Is(err, errGone):
		return cloudevents.ResultACK // deleted since: nothing to match
	case errors.Is(err, errBadImage):
		t.log.Warn("not a usable image", zap.String("bucket", rec.Bucket()), zap.String("key", key), zap.Error(err))
		return cehttp.NewResult(http.StatusUnprocessableEntity, "%v", err)
	default:
		t.log.Warn("thumbnail failed; Sluice will retry", zap.String("bucket", rec.Bucket()), zap.String("key", key), zap.Error(err))
		return cehttp.NewResult(http.StatusServiceUnavailable, "%v", err)
	}
}

var (
	errGone     = errors.New("source object no longer exists")
	errBadImage = errors.New("not a decodable PNG or JPEG within the limits")
)

// imageFormat returns "png" or "jpeg" for an image key or content type,
// "" otherwise.
func imageFormat(key, contentType string) string {
	switch strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0])) {
	case "image/png":
		return "png"
	case "image/jpeg", "image/jpg":
		return "jpeg"
	}
	switch strings.ToLower(path.Ext(key)) {
	case ".png":
		return "png"
	case ".jpg", ".jpeg":
		return "jpeg"
	}
	return ""
}

// thumbnail makes the thumbnail of bucket/key unless the current one was
// made from the same source version (events are delivered at least once,
// and may be stale: the thumbnail follows the object as it is now).
func (t *Thumbnailer) thumbnail(ctx context.Context, bucket, key string) error {
	thumbKey := t.cfg.Prefix + key
	var done string
	head, err := t.cfg.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &thumbKey})
	switch {
	case err == nil:
		done = head.Metadata[metaSourceETag]
	case !isNotFound(err):
		return fmt.Errorf("head %s: %w", thumbKey, err)
	}
	src, err := t.cfg.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if isNotFound(err) {
		return errGone
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	defer func() { _ = src.Body.Close() }()
	etag := aws.ToString(src.ETag)
	if done != "" && done == etag {
		return nil
	}
	if n := aws.ToInt64(src.ContentLength); n > t.cfg.MaxSourceBytes {
		return fmt.Errorf("%w: %d bytes", errBadImage, n)
	}
	img, format, err := decodeBounded(src.Body, t.cfg.MaxSourceBytes, t.cfg.MaxPixels)
	if err != nil {
		return fmt.Errorf("%w: %w", errBadImage, err)
	}
	var out bytes.Buffer
	ct, err := encode(&out, fit(img, t.cfg.MaxSide), format)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	_, err = t.cfg.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &bucket,
		Key:           &thumbKey,
		Body:          bytes.NewReader(out.Bytes()),
		ContentLength: aws.Int64(int64(out.Len())),
		ContentType:   &ct,
		Metadata:      map[string]string{metaSourceETag: etag},
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", thumbKey, err)
	}
	t.made.Add(1)
	t.log.Info("thumbnail written", zap.String("bucket", bucket), zap.String("key", thumbKey), zap.Int("bytes", out.Len()))
	return nil
}

// isNotFound reports whether an S3 error means the object does not exist.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}
