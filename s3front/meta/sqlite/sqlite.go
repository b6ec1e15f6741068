// Package sqlite is the embedded meta.Store: one SQLite file (modernc.org/sqlite,
// pure Go) in WAL mode. Writes are serialized through a single connection that
// begins transactions IMMEDIATE; write transactions that arrive while another
// commits are grouped into one transaction, each in its own savepoint, so one
// WAL fsync covers many of them while each keeps its own outcome (see group.go).
// Reads use a separate pool and see consistent snapshots. The schema is migrated
// on Open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/internal/sqlcore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Config configures Open.
type Config struct {
	// Path is the database file; it and its -wal/-shm companions are created when
	// missing. Required.
	Path string
	// ReadConns is the size of the read pool; 4 when zero.
	ReadConns int
	// BusyTimeout bounds waits for locks held by other processes; 10s when zero.
	BusyTimeout time.Duration
	// Now is the store's clock; time.Now when nil.
	Now func() time.Time
	// RelaxedSync sets synchronous=NORMAL instead of FULL: commits skip an fsync
	// and are faster, and on power loss (not on a crash of the process) the last
	// committed transactions may be lost (together with their outbox rows: never
	// one without the other). The database is never corrupted either way.
	//
	// FULL stays the default: a write reported successful survives power loss,
	// and a reader or the outbox relay never sees a commit that is not durable
	// yet. Group commit (see group.go) makes FULL cheap under concurrency, since
	// one fsync covers every transaction of a group.
	RelaxedSync bool
}

// Open opens (creating and migrating if needed) the SQLite database at cfg.Path.
// The returned store must be closed.
func Open(ctx context.Context, cfg Config) (meta.Store, error) {
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return sqlcore.New(b, sqlcore.Options{Now: cfg.Now}), nil
}

// openBackend opens and migrates the database.
func openBackend(ctx context.Context, cfg Config) (*backend, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("sqlite: %w: empty path", meta.ErrInvalidArgument)
	}
	if strings.ContainsAny(cfg.Path, "?#") {
		return nil, fmt.Errorf("sqlite: %w: path %q must not contain '?' or '#'", meta.ErrInvalidArgument, cfg.Path)
	}
	if cfg.ReadConns <= 0 {
		cfg.ReadConns = 4
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 10 * time.Second
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	if cfg.RelaxedSync {
		q.Add("_pragma", "synchronous(NORMAL)")
	} else {
		q.Add("_pragma", "synchronous(FULL)")
	}
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	writer, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	b := &backend{writer: writer, wstmts: newStmtCache(writer)}
	b.group = newCommitter(writer, b.wstmts)
	// The writer connection creates the file and switches it to WAL before any
	// reader opens it.
	if err := writer.PingContext(ctx); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	rq := url.Values{}
	for k, v := range q {
		rq[k] = v
	}
	rq.Add("_pragma", "query_only(1)")
	reader, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+rq.Encode())
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	reader.SetMaxOpenConns(cfg.ReadConns)
	reader.SetMaxIdleConns(cfg.ReadConns)
	b.reader, b.rstmts = reader, newStmtCache(reader)
	relay, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+rq.Encode())
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("sqlite: open relay reader: %w", err)
	}
	relay.SetMaxOpenConns(1)
	relay.SetMaxIdleConns(1)
	b.relay, b.relayStmts = relay, newStmtCache(relay)
	ms, err := sqlcore.LoadMigrations(migrationFS, "migrations")
	if err == nil {
		err = sqlcore.Migrate(ctx, b, ms)
	}
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return b, nil
}

// backend implements sqlcore.Backend.
type backend struct {
	writer *sql.DB // one connection: all writes
	reader *sql.DB // read pool
	relay  *sql.DB // one read connection for the outbox relay (see RelayRead)
	wstmts *stmtCache
	rstmts *stmtCache
	group  *committer // queues and groups write transactions

	relayStmts *stmtCache
}

var _ sqlcore.RelayLane = (*backend)(nil)

func (b *backend) ReadTx(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return runTx(ctx, b.reader, b.rstmts, &sql.TxOptions{ReadOnly: true}, fn)
}

// ReadOne runs fn's statements on the read pool, each in its own implicit
// transaction.
func (b *backend) ReadOne(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return readOne(ctx, b.reader, b.rstmts, fn)
}

// RelayRead is ReadOne on the relay's own connection, which S3 requests
// waiting for the read pool cannot delay.
func (b *backend) RelayRead(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return readOne(ctx, b.relay, b.relayStmts, fn)
}

func readOne(ctx context.Context, db *sql.DB, cache *stmtCache, fn func(sqlcore.Tx) error) error {
	var misses []string
	err := fn(dbTx{db: db, cache: cache, misses: &misses})
	if len(misses) > 0 && ctx.Err() == nil {
		cache.prepare(ctx, misses)
	}
	return err
}

// WriteTx runs fn in a write transaction, grouped with concurrent ones under
// one commit (see group.go).
func (b *backend) WriteTx(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return b.group.write(ctx, fn, false)
}

// RelayWrite is WriteTx placed in the next group, ahead of the writes queued
// for later groups.
func (b *backend) RelayWrite(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return b.group.write(ctx, fn, true)
}

func runTx(ctx context.Context, db *sql.DB, cache *stmtCache, opts *sql.TxOptions, fn func(sqlcore.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	var misses []string
	err = fn(sqlTx{tx: tx, cache: cache, misses: &misses})
	if err != nil {
		_ = tx.Rollback()
	} else {
		err = tx.Commit()
	}
	if len(misses) > 0 && ctx.Err() == nil {
		cache.prepare(ctx, misses)
	}
	return err
}

func (b *backend) NextSequencer(ctx context.Context, tx sqlcore.Tx) (uint64, error) {
	var v int64
	err := tx.QueryRow(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'sequencer' RETURNING value`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("next sequencer: %w", err)
	}
	return uint64(v), nil
}

// LockKey is a no-op: the single writer connection serializes all writes.
func (b *backend) LockKey(context.Context, sqlcore.Tx, string, string) error { return nil }

// LockMigrations is a no-op: BEGIN IMMEDIATE already excludes other writers.
func (b *backend) LockMigrations(context.Context, sqlcore.Tx) error { return nil }

func (b *backend) LockClause(sqlcore.LockMode) string { return "" }

func (b *backend) ClaimInTx() bool { return false }

func (b *backend) IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func (b *backend) Ping(ctx context.Context) error {
	if err := b.reader.PingContext(ctx); err != nil {
		return err
	}
	if err := b.relay.PingContext(ctx); err != nil {
		return err
	}
	return b.writer.PingContext(ctx)
}

func (b *backend) Close() error {
	b.group.close()
	var errs []error
	if b.reader != nil {
		b.rstmts.close()
		errs = append(errs, b.reader.Close())
	}
	if b.relay != nil {
		b.relayStmts.close()
		errs = append(errs, b.relay.Close())
	}
	b.wstmts.close()
	errs = append(errs, b.writer.Close())
	return errors.Join(errs...)
}

// stmtCache keeps prepared statements for one *sql.DB: parsing dominates the cost
// of SQLite's short queries. database/sql prepares each on every connection that
// uses it and reuses it there. A statement is prepared after the transaction that
// first missed it has ended: preparing needs a connection, and a transaction
// already holds one (the writer pool has only one), so preparing inside it could
// deadlock.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache; the core issues a small fixed set of queries.
const maxCachedStmts = 512

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmtCache) lookup(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[q]
}

// prepare prepares and caches the queries not cached yet; failures only mean the
// queries stay unprepared.
func (c *stmtCache) prepare(ctx context.Context, qs []string) {
	for _, q := range qs {
		c.mu.Lock()
		_, ok := c.m[q]
		full := len(c.m) >= maxCachedStmts
		c.mu.Unlock()
		if ok || full {
			continue
		}
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return
		}
		c.mu.Lock()
		if _, ok := c.m[q]; ok {
			_ = st.Close()
		} else {
			c.m[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// sqlTx adapts *sql.Tx to sqlcore.Tx. Statements use the cache and record
// misses, except text that may hold several statements (migrations). A detached sqlTx (a member of a group transaction)
// runs its statements without the cancellation of their ctx.
type sqlTx struct {
	tx       *sql.Tx
	cache    *stmtCache
	misses   *[]string
	detached bool
}

// ctx returns the context to run a statement with.
func (t sqlTx) ctx(ctx context.Context) context.Context {
	if t.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// stmt returns the transaction-bound prepared statement for q, or nil. Text
// holding ';' may be several statements (migrations) and is never cached.
func (t sqlTx) stmt(ctx context.Context, q string) *sql.Stmt {
	if strings.IndexByte(q, ';') >= 0 {
		return nil
	}
	st := t.cache.lookup(q)
	if st == nil {
		*t.misses = append(*t.misses, q)
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

func (t sqlTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	ctx = t.ctx(ctx)
	var (
		r   sql.Result
		err error
	)
	if st := t.stmt(ctx, q); st != nil {
		r, err = st.ExecContext(ctx, args...)
	} else {
		r, err = t.tx.ExecContext(ctx, q, args...)
	}
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (t sqlTx) Query(ctx context.Context, q string, args ...any) (sqlcore.Rows, error) {
	ctx = t.ctx(ctx)
	var (
		rows *sql.Rows
		err  error
	)
	if st := t.stmt(ctx, q); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = t.tx.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (t sqlTx) QueryRow(ctx context.Context, q string, args ...any) sqlcore.Row {
	ctx = t.ctx(ctx)
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

// dbTx adapts a *sql.DB to sqlcore.Tx for ReadOne: each statement runs on its
// own, through the statement cache.
type dbTx struct {
	db     *sql.DB
	cache  *stmtCache
	misses *[]string
}

// stmt returns the cached prepared statement for q, or nil (recording a miss).
func (t dbTx) stmt(q string) *sql.Stmt {
	if strings.IndexByte(q, ';') >= 0 {
		return nil
	}
	st := t.cache.lookup(q)
	if st == nil {
		*t.misses = append(*t.misses, q)
	}
	return st
}

func (t dbTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	var (
		r   sql.Result
		err error
	)
	if st := t.stmt(q); st != nil {
		r, err = st.ExecContext(ctx, args...)
	} else {
		r, err = t.db.ExecContext(ctx, q, args...)
	}
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (t dbTx) Query(ctx context.Context, q string, args ...any) (sqlcore.Rows, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if st := t.stmt(q); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = t.db.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (t dbTx) QueryRow(ctx context.Context, q string, args ...any) sqlcore.Row {
	if st := t.stmt(q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.db.QueryRowContext(ctx, q, args...)
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }
