package indexer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/indexer/store"
)

// ListedVersion is one object version or delete marker as a listing of the
// source of truth shows it.
type ListedVersion struct {
	Key               string
	VersionID         string // "null" for the null version
	IsDeleteMarker    bool
	Size              int64
	ETag              string // without quotes
	LastModified      time.Time
	ContentType       string
	Location          string // Sluice location (or storage class)
	UserMetadata      map[string]string
	Tags              map[string]string
	ReplicationStatus string
}

// Lister lists the source of truth (S3ListObjectVersions in S3Lister).
type Lister interface {
	// ListBuckets returns every bucket.
	ListBuckets(ctx context.Context) ([]string, error)
	// ListVersions calls fn for every version and delete marker of
	// bucket, with its metadata and tags, and stops at fn's first error.
	ListVersions(ctx context.Context, bucket string, fn func(ListedVersion) error) error
}

// RebuildOptions tune Rebuild.
type RebuildOptions struct {
	// Source is the source recorded on listed versions; default
	// events.DefaultEventSource.
	Source string
	// BatchSize is the number of versions per store transaction; default
	// DefaultBatchSize.
	BatchSize int
}

// RebuildStats says what Rebuild did.
type RebuildStats struct {
	Buckets  int
	Versions int
}

// Rebuild reconstructs the index of bucket ("" for every bucket the lister
// knows) from a listing: it removes the bucket's records, then indexes
// every listed version. Listed versions carry no sequencer, so they order
// before every real event: an event applied during or after the rebuild
// (the running consumer keeps following the stream) always wins over the
// listing, and the index converges to the stream's latest state. Declared
// field types are kept.
//
// It returns the lister's or the store's error (wrapped); a version that
// cannot be indexed (store.ErrInvalidEvent) is skipped and counted out.
func Rebuild(ctx context.Context, st store.Store, l Lister, bucket string, opts RebuildOptions) (RebuildStats, error) {
	var stats RebuildStats
	if opts.Source == "" {
		opts.Source = events.DefaultEventSource
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	buckets := []string{bucket}
	if bucket == "" {
		var err error
		if buckets, err = l.ListBuckets(ctx); err != nil {
			return stats, fmt.Errorf("indexer: rebuild: list buckets: %w", err)
		}
	}
	for _, b := range buckets {
		n, err := rebuildBucket(ctx, st, l, b, opts)
		stats.Versions += n
		if err != nil {
			return stats, err
		}
		stats.Buckets++
	}
	return stats, nil
}

func rebuildBucket(ctx context.Context, st store.Store, l Lister, bucket string, opts RebuildOptions) (int, error) {
	if err := st.ResetBucket(ctx, bucket); err != nil {
		return 0, fmt.Errorf("indexer: rebuild %s: %w", bucket, err)
	}
	n := 0
	batch := make([]store.Event, 0, opts.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := st.Apply(ctx, batch); err != nil {
			if !errors.Is(err, store.ErrInvalidEvent) {
				return err
			}
			// One bad version: apply the others one by one.
			for _, e := range batch {
				if _, err := st.Apply(ctx, []store.Event{e}); err != nil && !errors.Is(err, store.ErrInvalidEvent) {
					return err
				} else if err == nil {
					n++
				}
			}
		} else {
			n += len(batch)
		}
		batch = batch[:0]
		return nil
	}
	err := l.ListVersions(ctx, bucket, func(v ListedVersion) error {
		e := store.Event{
			Op: store.OpPut, Bucket: bucket, Key: v.Key, VersionID: v.VersionID, Time: v.LastModified,
			Source: opts.Source, Size: v.Size, ETag: strings.Trim(v.ETag, `"`), ContentType: v.ContentType,
			Location: v.Location, UserMetadata: lowerKeys(v.UserMetadata), Tags: v.Tags, ReplicationStatus: v.ReplicationStatus,
		}
		if v.IsDeleteMarker {
			e = store.Event{Op: store.OpDeleteMarker, Bucket: bucket, Key: v.Key, VersionID: v.VersionID,
				Time: v.LastModified, Source: opts.Source}
		}
		batch = append(batch, e)
		if len(batch) >= opts.BatchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("indexer: rebuild %s: %w", bucket, err)
	}
	return n, nil
}

// Rebuild runs Rebuild on the service's open index; the service keeps
// following the stream meanwhile. It returns errNotReady (wrapped) when
// the service does not run.
func (s *Service) Rebuild(ctx context.Context, l Lister, bucket string) (RebuildStats, error) {
	st := s.Store()
	if st == nil {
		return RebuildStats{}, fmt.Errorf("indexer: rebuild: %w", errNotReady)
	}
	return Rebuild(ctx, st, l, bucket, RebuildOptions{BatchSize: s.cfg.BatchSize})
}
