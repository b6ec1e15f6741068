package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
)

// Options tunes a Store.
type Options struct {
	// Now is the clock used for CreatedAt, LastModified, Initiated and outbox
	// timestamps; time.Now when nil.
	Now func() time.Time
}

// Store implements meta.Store on a Backend.
type Store struct {
	b       Backend
	now     func() time.Time
	notify  chan struct{}
	closed  atomic.Bool
	claimMu sync.Mutex // serializes OutboxClaim when !b.ClaimInTx()
}

var _ meta.Store = (*Store)(nil)

// New returns a Store on b. The schema must already be migrated.
func New(b Backend, opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{b: b, now: now, notify: make(chan struct{}, 1)}
}

// Ping implements meta.Store.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return meta.ErrClosed
	}
	return s.b.Ping(ctx)
}

// Close implements meta.Store.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.b.Close()
}

// txState carries per-transaction bookkeeping of a write.
type txState struct {
	outboxRows int
}

// write runs fn in a write transaction and signals OutboxNotify after a commit
// that inserted outbox rows.
func (s *Store) write(ctx context.Context, op string, fn func(tx Tx, st *txState) error) error {
	if s.closed.Load() {
		return meta.ErrClosed
	}
	var st txState
	err := s.b.WriteTx(ctx, func(tx Tx) error {
		st = txState{}
		return fn(tx, &st)
	})
	if err != nil {
		return wrap(op, err)
	}
	if st.outboxRows > 0 {
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
	return nil
}

func (s *Store) read(ctx context.Context, op string, fn func(tx Tx) error) error {
	if s.closed.Load() {
		return meta.ErrClosed
	}
	return wrap(op, s.b.ReadTx(ctx, fn))
}

// readOne is read for fn that issues a single statement (see Backend.ReadOne).
func (s *Store) readOne(ctx context.Context, op string, fn func(tx Tx) error) error {
	if s.closed.Load() {
		return meta.ErrClosed
	}
	return wrap(op, s.b.ReadOne(ctx, fn))
}

// wrap prefixes err with the operation unless it is a typed sentinel carrier.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var dm *meta.DeleteMarkerError
	if errors.As(err, &dm) {
		return err
	}
	return fmt.Errorf("meta: %s: %w", op, err)
}

func (s *Store) lockClause(m LockMode) string {
	c := s.b.LockClause(m)
	if c == "" {
		return ""
	}
	return " " + c
}

// bucketRow loads a bucket, optionally locking its row.
func (s *Store) bucketRow(ctx context.Context, tx Tx, name string, mode LockMode) (meta.Bucket, error) {
	if checkText("bucket", name) != nil {
		return meta.Bucket{}, fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, name) // cannot exist
	}
	var (
		b       meta.Bucket
		created int64
	)
	err := tx.QueryRow(ctx, `SELECT name, owner, location, created_at, versioning FROM buckets WHERE name = ?`+s.lockClause(mode), name).
		Scan(&b.Name, &b.Owner, &b.Location, &created, &b.Versioning)
	if s.b.IsNoRows(err) {
		return b, fmt.Errorf("%w: %s", meta.ErrNoSuchBucket, name)
	}
	if err != nil {
		return b, err
	}
	b.CreatedAt = fromMicros(created)
	return b, nil
}

// CreateBucket implements meta.BucketStore.
func (s *Store) CreateBucket(ctx context.Context, b meta.Bucket) (meta.Bucket, error) {
	if b.Name == "" {
		return b, fmt.Errorf("%w: empty bucket name", meta.ErrInvalidArgument)
	}
	if err := checkFields("bucket", "Name", b.Name, "Owner", b.Owner, "Location", b.Location); err != nil {
		return b, err
	}
	switch b.Versioning {
	case meta.VersioningUnset, meta.VersioningEnabled, meta.VersioningSuspended:
	default:
		return b, fmt.Errorf("%w: versioning %q", meta.ErrInvalidArgument, b.Versioning)
	}
	b.CreatedAt = normTime(b.CreatedAt, s.now)
	err := s.write(ctx, "create bucket", func(tx Tx, _ *txState) error {
		n, err := tx.Exec(ctx, `INSERT INTO buckets (name, owner, location, created_at, versioning) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			b.Name, b.Owner, b.Location, toMicros(b.CreatedAt), b.Versioning)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: %s", meta.ErrBucketExists, b.Name)
		}
		return nil
	})
	return b, err
}

// GetBucket implements meta.BucketStore.
func (s *Store) GetBucket(ctx context.Context, name string) (meta.Bucket, error) {
	var b meta.Bucket
	err := s.readOne(ctx, "get bucket", func(tx Tx) error {
		var err error
		b, err = s.bucketRow(ctx, tx, name, LockNone)
		return err
	})
	return b, err
}

// ListBuckets implements meta.BucketStore.
func (s *Store) ListBuckets(ctx context.Context, owner string) ([]meta.Bucket, error) {
	var out []meta.Bucket
	err := s.read(ctx, "list buckets", func(tx Tx) error {
		out = nil
		if checkText("owner", owner) != nil {
			return nil // no bucket can have that owner
		}
		q := `SELECT name, owner, location, created_at, versioning FROM buckets`
		var args []any
		if owner != "" {
			q += ` WHERE owner = ?`
			args = append(args, owner)
		}
		rows, err := tx.Query(ctx, q+` ORDER BY name`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				b       meta.Bucket
				created int64
			)
			if err := rows.Scan(&b.Name, &b.Owner, &b.Location, &created, &b.Versioning); err != nil {
				return err
			}
			b.CreatedAt = fromMicros(created)
			out = append(out, b)
		}
		return rows.Err()
	})
	return out, err
}

// DeleteBucket implements meta.BucketStore.
func (s *Store) DeleteBucket(ctx context.Context, name string) error {
	return s.write(ctx, "delete bucket", func(tx Tx, _ *txState) error {
		if _, err := s.bucketRow(ctx, tx, name, LockUpdate); err != nil {
			return err
		}
		for _, q := range []string{
			`SELECT COUNT(*) FROM (SELECT 1 FROM objects WHERE bucket = ? LIMIT 1) t`,
			`SELECT COUNT(*) FROM (SELECT 1 FROM uploads WHERE bucket = ? LIMIT 1) t`,
		} {
			var n int64
			if err := tx.QueryRow(ctx, q, name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: %s", meta.ErrBucketNotEmpty, name)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM bucket_configs WHERE bucket = ?`, name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM buckets WHERE name = ?`, name)
		return err
	})
}

// SetVersioning implements meta.BucketStore.
func (s *Store) SetVersioning(ctx context.Context, bucket, status string) error {
	if status != meta.VersioningEnabled && status != meta.VersioningSuspended {
		return fmt.Errorf("%w: versioning status %q", meta.ErrInvalidArgument, status)
	}
	if checkText("bucket", bucket) != nil {
		return fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, bucket)
	}
	return s.write(ctx, "set versioning", func(tx Tx, _ *txState) error {
		n, err := tx.Exec(ctx, `UPDATE buckets SET versioning = ? WHERE name = ?`, status, bucket)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: %s", meta.ErrNoSuchBucket, bucket)
		}
		return nil
	})
}

func checkKind(kind string) error {
	if !meta.ValidConfigKind(kind) {
		return fmt.Errorf("%w: config kind %q", meta.ErrInvalidArgument, kind)
	}
	return nil
}

// PutBucketConfig implements meta.BucketStore.
func (s *Store) PutBucketConfig(ctx context.Context, bucket, kind string, doc []byte) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	if doc == nil {
		doc = []byte{}
	}
	return s.write(ctx, "put bucket config", func(tx Tx, _ *txState) error {
		if _, err := s.bucketRow(ctx, tx, bucket, LockShare); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO bucket_configs (bucket, kind, doc) VALUES (?, ?, ?)
ON CONFLICT (bucket, kind) DO UPDATE SET doc = excluded.doc`, bucket, kind, doc)
		return err
	})
}

// GetBucketConfig implements meta.BucketStore.
func (s *Store) GetBucketConfig(ctx context.Context, bucket, kind string) ([]byte, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	var doc []byte
	err := s.read(ctx, "get bucket config", func(tx Tx) error {
		if _, err := s.bucketRow(ctx, tx, bucket, LockNone); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT doc FROM bucket_configs WHERE bucket = ? AND kind = ?`, bucket, kind).Scan(&doc)
		if s.b.IsNoRows(err) {
			return fmt.Errorf("%w: %s %s", meta.ErrNoSuchConfig, bucket, kind)
		}
		return err
	})
	if doc == nil && err == nil {
		doc = []byte{}
	}
	return doc, err
}

// DeleteBucketConfig implements meta.BucketStore.
func (s *Store) DeleteBucketConfig(ctx context.Context, bucket, kind string) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	return s.write(ctx, "delete bucket config", func(tx Tx, _ *txState) error {
		if _, err := s.bucketRow(ctx, tx, bucket, LockShare); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM bucket_configs WHERE bucket = ? AND kind = ?`, bucket, kind)
		return err
	})
}
