package indexer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// LocationHeader is the response header in which an S3 endpoint may name
// the Sluice location holding an object; S3Lister prefers it to the
// storage class.
const LocationHeader = "X-Sluice-Location"

// DefaultListConcurrency is how many HeadObject/GetObjectTagging calls
// S3Lister runs at once.
const DefaultListConcurrency = 8

// S3Lister lists buckets through the S3 API (aws-sdk-go-v2):
// ListObjectVersions for the versions and delete markers, HeadObject for
// content type, user metadata, replication status and location, and
// GetObjectTagging for tags. A version that disappears between the listing
// and its HEAD is skipped (its removal event follows).
type S3Lister struct {
	// Client talks to the S3 endpoint; required.
	Client *s3.Client
	// Concurrency bounds the HEAD and tagging calls in flight; zero means
	// DefaultListConcurrency.
	Concurrency int
}

// ListBuckets implements Lister.
func (l *S3Lister) ListBuckets(ctx context.Context) ([]string, error) {
	var out []string
	p := s3.NewListBucketsPaginator(l.Client, &s3.ListBucketsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list buckets: %w", err)
		}
		for _, b := range page.Buckets {
			if b.Name != nil {
				out = append(out, *b.Name)
			}
		}
	}
	return out, nil
}

// ListVersions implements Lister. fn is called from one goroutine, page by
// page, in listing order.
func (l *S3Lister) ListVersions(ctx context.Context, bucket string, fn func(ListedVersion) error) error {
	conc := l.Concurrency
	if conc <= 0 {
		conc = DefaultListConcurrency
	}
	p := s3.NewListObjectVersionsPaginator(l.Client, &s3.ListObjectVersionsInput{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list versions of %s: %w", bucket, err)
		}
		var listed []*ListedVersion
		for _, d := range page.DeleteMarkers {
			listed = append(listed, &ListedVersion{Key: deref(d.Key), VersionID: versionOr(d.VersionId),
				IsDeleteMarker: true, LastModified: derefTime(d.LastModified)})
		}
		var todo []*ListedVersion
		for _, v := range page.Versions {
			lv := &ListedVersion{Key: deref(v.Key), VersionID: versionOr(v.VersionId), Size: derefInt(v.Size),
				ETag: strings.Trim(deref(v.ETag), `"`), LastModified: derefTime(v.LastModified), Location: string(v.StorageClass)}
			listed = append(listed, lv)
			todo = append(todo, lv)
		}
		gone, err := l.describe(ctx, bucket, todo, conc)
		if err != nil {
			return err
		}
		for _, lv := range listed {
			if gone[lv] {
				continue
			}
			if err := fn(*lv); err != nil {
				return err
			}
		}
	}
	return nil
}

// describe fills metadata and tags of versions with at most conc calls in
// flight. It returns the versions that no longer exist.
func (l *S3Lister) describe(ctx context.Context, bucket string, vs []*ListedVersion, conc int) (map[*ListedVersion]bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		gone     = map[*ListedVersion]bool{}
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, conc)
	)
	for _, v := range vs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ok, err := l.describeOne(ctx, bucket, v)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && firstErr == nil:
				firstErr = err
				cancel()
			case err == nil && !ok:
				gone[v] = true
			}
		}()
	}
	wg.Wait()
	return gone, firstErr
}

func (l *S3Lister) describeOne(ctx context.Context, bucket string, v *ListedVersion) (bool, error) {
	vid := &v.VersionID
	head, err := l.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &v.Key, VersionId: vid})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("head %s/%s@%s: %w", bucket, v.Key, v.VersionID, err)
	}
	v.ContentType = deref(head.ContentType)
	v.UserMetadata = head.Metadata
	v.ReplicationStatus = string(head.ReplicationStatus)
	if head.StorageClass != "" {
		v.Location = string(head.StorageClass)
	}
	if raw, ok := awsmiddleware.GetRawResponse(head.ResultMetadata).(*smithyhttp.Response); ok && raw != nil {
		if loc := raw.Header.Get(LocationHeader); loc != "" {
			v.Location = loc
		}
	}
	tags, err := l.Client.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &bucket, Key: &v.Key, VersionId: vid})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tagging of %s/%s@%s: %w", bucket, v.Key, v.VersionID, err)
	}
	for _, t := range tags.TagSet {
		if v.Tags == nil {
			v.Tags = map[string]string{}
		}
		v.Tags[deref(t.Key)] = deref(t.Value)
	}
	return true, nil
}

func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NoSuchVersion", "NotFound":
			return true
		}
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func versionOr(s *string) string {
	if s == nil || *s == "" {
		return "null"
	}
	return *s
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefTime(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}
