package replicator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluice-io/sluice/events/bus"
)

// errSourceGone is returned by head when the source has no current object.
var errSourceGone = errors.New("replicator: source object not found")

// sourceObject is the current state of a source object.
type sourceObject struct {
	VersionID    string
	ETag         string // without quotes
	Size         int64
	ContentType  string
	Metadata     map[string]string
	LastModified time.Time
	Tags         map[string]string
}

// sourceAbsence describes a source key with no current object.
type sourceAbsence struct {
	// DeleteMarker is true when the current version is a delete marker.
	DeleteMarker bool
}

var md5ETag = regexp.MustCompile(`^[0-9a-f]{32}$`)

// MD5 returns the object's MD5 when its ETag is one (single-part upload),
// and "" otherwise.
func (o sourceObject) MD5() string {
	if e := strings.ToLower(o.ETag); md5ETag.MatchString(e) {
		return e
	}
	return ""
}

// source reads objects through an S3 endpoint.
type source struct {
	c *s3.Client
}

func newSource(cfg SourceConfig, hc *http.Client) *source {
	return &source{c: s3.New(s3.Options{
		HTTPClient:   hc,
		Region:       cfg.Region,
		BaseEndpoint: aws.String(cfg.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey.Value(), ""),
		// The replicator verifies integrity itself; response checksum
		// validation would buffer nothing but costs CPU on large objects.
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})}
}

// httpStatus returns the HTTP status of an S3 error, or 0.
func httpStatus(err error) (int, http.Header) {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode, re.Response.Header
	}
	return 0, nil
}

// classify maps a source error: 404 → errSourceGone (with absence info);
// other 4xx except 408/429 → permanent; the rest transient.
func classify(op string, err error) (sourceAbsence, error) {
	st, h := httpStatus(err)
	switch {
	case st == http.StatusNotFound:
		return sourceAbsence{DeleteMarker: strings.EqualFold(h.Get("x-amz-delete-marker"), "true")}, errSourceGone
	case st == http.StatusMethodNotAllowed && strings.EqualFold(h.Get("x-amz-delete-marker"), "true"):
		return sourceAbsence{DeleteMarker: true}, errSourceGone
	case st >= 400 && st < 500 && st != http.StatusRequestTimeout && st != http.StatusTooManyRequests &&
		st != http.StatusPreconditionFailed:
		return sourceAbsence{}, bus.Permanent(fmt.Errorf("replicator: source %s: %w", op, err))
	default:
		return sourceAbsence{}, fmt.Errorf("replicator: source %s: %w", op, err)
	}
}

// head returns the current state of bucket/key, with tags when withTags.
// A missing object returns errSourceGone and what is known of its absence.
func (s *source) head(ctx context.Context, bucket, key string, withTags bool) (sourceObject, sourceAbsence, error) {
	out, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		abs, cerr := classify("HeadObject", err)
		return sourceObject{}, abs, cerr
	}
	o := newSourceObject(out.VersionId, out.ETag, out.ContentLength, out.ContentType, out.Metadata, out.LastModified)
	if aws.ToBool(out.DeleteMarker) {
		return sourceObject{}, sourceAbsence{DeleteMarker: true}, errSourceGone
	}
	if withTags {
		if o.Tags, err = s.tags(ctx, bucket, key, o.VersionID); err != nil {
			abs, cerr := classify("GetObjectTagging", err)
			return sourceObject{}, abs, cerr
		}
	}
	return o, sourceAbsence{}, nil
}

// get returns the current state of bucket/key and a stream of its data,
// with one GetObject: the headers and the body of one response describe
// the same version, so no second request can see another one. Tags are
// read (pinned to the version) only when the response counts some
// (x-amz-tagging-count). A missing object returns errSourceGone and what is
// known of its absence; a version that disappears between the GetObject and
// the tagging request is a transient error. The caller closes the body.
func (s *source) get(ctx context.Context, bucket, key string) (sourceObject, io.ReadCloser, sourceAbsence, error) {
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		abs, cerr := classify("GetObject", err)
		return sourceObject{}, nil, abs, cerr
	}
	o := newSourceObject(out.VersionId, out.ETag, out.ContentLength, out.ContentType, out.Metadata, out.LastModified)
	if aws.ToBool(out.DeleteMarker) {
		out.Body.Close()
		return sourceObject{}, nil, sourceAbsence{DeleteMarker: true}, errSourceGone
	}
	if aws.ToInt32(out.TagCount) > 0 {
		if o.Tags, err = s.tags(ctx, bucket, key, o.VersionID); err != nil {
			out.Body.Close()
			_, cerr := classify("GetObjectTagging", err)
			if errors.Is(cerr, errSourceGone) {
				cerr = fmt.Errorf("replicator: source %s/%s changed while it was read: %w", bucket, key, err)
			}
			return sourceObject{}, nil, sourceAbsence{}, cerr
		}
	}
	return o, out.Body, sourceAbsence{}, nil
}

// tags returns the tags of a version ("" or "null": the current one).
func (s *source) tags(ctx context.Context, bucket, key, versionID string) (map[string]string, error) {
	in := &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" && versionID != "null" {
		in.VersionId = aws.String(versionID)
	}
	out, err := s.c.GetObjectTagging(ctx, in)
	if err != nil {
		return nil, err
	}
	tags := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

// open streams the exact version o describes (by version id, or by ETag
// when the bucket is unversioned). The caller closes the body. A changed
// object fails with a transient error (412) and a deleted one with
// errSourceGone.
func (s *source) open(ctx context.Context, bucket, key string, o sourceObject) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if o.VersionID != "" && o.VersionID != "null" {
		in.VersionId = aws.String(o.VersionID)
	} else {
		in.IfMatch = aws.String(`"` + o.ETag + `"`)
	}
	out, err := s.c.GetObject(ctx, in)
	if err != nil {
		_, cerr := classify("GetObject", err)
		return nil, cerr
	}
	return out.Body, nil
}

// listedObject is one entry of a source listing.
type listedObject struct {
	Key  string
	ETag string
	Size int64
}

// list calls fn for every current object of bucket, in key order, until fn
// returns an error.
func (s *source) list(ctx context.Context, bucket, prefix string, fn func(listedObject) error) error {
	p := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			_, cerr := classify("ListObjectsV2", err)
			return cerr
		}
		for _, o := range page.Contents {
			if err := fn(listedObject{Key: aws.ToString(o.Key), ETag: strings.Trim(aws.ToString(o.ETag), `"`), Size: aws.ToInt64(o.Size)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// newSourceObject is the state a HeadObject or GetObject response describes.
func newSourceObject(versionID, etag *string, size *int64, contentType *string, md map[string]string, lastModified *time.Time) sourceObject {
	return sourceObject{
		VersionID:    aws.ToString(versionID),
		ETag:         strings.Trim(aws.ToString(etag), `"`),
		Size:         aws.ToInt64(size),
		ContentType:  aws.ToString(contentType),
		Metadata:     md,
		LastModified: aws.ToTime(lastModified),
	}
}
