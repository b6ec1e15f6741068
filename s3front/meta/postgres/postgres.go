// Package postgres is the shared meta.Store: PostgreSQL through a pgx/v5 pool, for
// several s3front replicas serving one namespace. Writers of one object key are
// serialized by a transaction-scoped advisory lock; the sequencer is a SEQUENCE
// drawn after that lock, so per-key commit order equals sequencer order. Outbox
// claims use SELECT ... FOR UPDATE SKIP LOCKED, so concurrent relays never hand
// out the same row. The schema is migrated on Open.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/internal/sqlcore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Config configures Open.
type Config struct {
	// DSN is a libpq connection string or postgres:// URL. Required. It may hold a
	// password: it is never logged or included in errors by this package.
	DSN string
	// MaxConns caps the pool; pgxpool's default (max(4, GOMAXPROCS)) when zero.
	MaxConns int32
	// Now is the store's clock; time.Now when nil.
	Now func() time.Time
}

// maxAttempts bounds retries of a write that hit a serialization failure or a
// deadlock.
const maxAttempts = 5

// Open connects to PostgreSQL, migrates the schema and returns the store. The
// returned store must be closed.
func Open(ctx context.Context, cfg Config) (meta.Store, error) {
	if cfg.DSN == "" {
		return nil, fmt.Errorf("postgres: %w: empty DSN", meta.ErrInvalidArgument)
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// The parse error may echo the DSN, password included: do not wrap it.
		return nil, fmt.Errorf("postgres: %w: DSN does not parse", meta.ErrInvalidArgument)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	b := &backend{pool: pool}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	ms, err := sqlcore.LoadMigrations(migrationFS, "migrations")
	if err == nil {
		err = sqlcore.Migrate(ctx, b, ms)
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return sqlcore.New(b, sqlcore.Options{Now: cfg.Now}), nil
}

// backend implements sqlcore.Backend.
type backend struct {
	pool *pgxpool.Pool
}

func (b *backend) ReadTx(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return b.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// ReadOne runs fn's statements on the pool, each on its own (no BEGIN and
// COMMIT round trips).
func (b *backend) ReadOne(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return fn(pgTx{b.pool})
}

func (b *backend) WriteTx(ctx context.Context, fn func(sqlcore.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = b.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
		if !retryable(err) {
			return err
		}
	}
	return err
}

func (b *backend) run(ctx context.Context, opts pgx.TxOptions, fn func(sqlcore.Tx) error) error {
	tx, err := b.pool.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(pgTx{tx}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

// retryable reports serialization failures and deadlocks.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func (b *backend) NextSequencer(ctx context.Context, tx sqlcore.Tx) (uint64, error) {
	var v int64
	if err := tx.QueryRow(ctx, `SELECT nextval('sequencer')`).Scan(&v); err != nil {
		return 0, fmt.Errorf("next sequencer: %w", err)
	}
	return uint64(v), nil
}

func (b *backend) LockKey(ctx context.Context, tx sqlcore.Tx, bucket, key string) error {
	h := fnv.New64a()
	_, _ = h.Write([]byte(bucket))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(h.Sum64()))
	return err
}

// migrationLock is the advisory lock key serializing migrations ("sluicemg").
const migrationLock = 0x736c756963656d67

func (b *backend) LockMigrations(ctx context.Context, tx sqlcore.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(migrationLock))
	return err
}

func (b *backend) LockClause(m sqlcore.LockMode) string {
	switch m {
	case sqlcore.LockShare:
		return "FOR SHARE"
	case sqlcore.LockUpdate:
		return "FOR UPDATE"
	case sqlcore.LockSkipLocked:
		return "FOR UPDATE SKIP LOCKED"
	}
	return ""
}

func (b *backend) ClaimInTx() bool { return true }

func (b *backend) IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func (b *backend) Ping(ctx context.Context) error { return b.pool.Ping(ctx) }

func (b *backend) Close() error {
	b.pool.Close()
	return nil
}

// querier is what pgTx needs of a pgx.Tx or a pool.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgTx adapts a pgx.Tx (or, for ReadOne, the pool) to sqlcore.Tx, rewriting
// '?' placeholders to $n.
type pgTx struct{ tx querier }

func (t pgTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, rebind(q, len(args)), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (t pgTx) Query(ctx context.Context, q string, args ...any) (sqlcore.Rows, error) {
	rows, err := t.tx.Query(ctx, rebind(q, len(args)), args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (t pgTx) QueryRow(ctx context.Context, q string, args ...any) sqlcore.Row {
	return t.tx.QueryRow(ctx, rebind(q, len(args)), args...)
}

var rebound sync.Map // query → rewritten query

// rebind rewrites '?' placeholders to $1, $2, ... The core's queries never contain
// '?' inside literals. Queries without arguments are left untouched.
func rebind(q string, nargs int) string {
	if nargs == 0 {
		return q
	}
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var sb strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
			continue
		}
		sb.WriteByte(q[i])
	}
	out := sb.String()
	rebound.Store(q, out)
	return out
}
