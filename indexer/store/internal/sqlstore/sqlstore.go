// Package sqlstore is the store.Store shared by the SQLite and PostgreSQL
// implementations: one schema shape, one apply algorithm, one query
// compiler, over database/sql. A Dialect supplies what differs.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
)

// Dialect is what differs between databases.
type Dialect struct {
	// Name names the database in errors ("sqlite", "postgres").
	Name string
	// Rebind turns the "?" placeholders of a statement into the driver's
	// form; nil keeps them.
	Rebind func(string) string
	// RegexpCond returns the SQL condition "col matches the regular
	// expression bound at the next placeholder".
	RegexpCond func(col string) string
	// RegexpArg returns the value bound for a LIKE's pattern. An error must
	// be a *query.Error.
	RegexpArg func(l *query.Like) (any, error)
	// Lock takes transaction-scoped locks on the given key hashes (sorted,
	// distinct), so that concurrent writers of one key serialize; nil when
	// the database serializes all writers.
	Lock func(ctx context.Context, tx *sql.Tx, hashes []int64) error
	// MaxParams bounds the parameters of one statement.
	MaxParams int
	// Probe makes searches choose their plan: they count (up to a bound)
	// the ids each indexed conjunct selects and start from the most
	// selective one, or scan in key order when none is selective. For
	// databases without a statistics-driven planner (SQLite).
	Probe bool
	// KeyOrderHint follows "versions v" in a key-order scan (SQLite:
	// " INDEXED BY versions_key").
	KeyOrderHint string
	// Analyze refreshes the planner's statistics; when set, it runs in the
	// background whenever the index has grown by half since the last run
	// (at least analyzeMinGrowth versions), so that plans stay good after
	// bulk loads (PostgreSQL: "ANALYZE versions, attrs").
	Analyze string
	// Committed, when set, is called after every committed Apply with the
	// number of rows it wrote (SQLite: to checkpoint the WAL in the
	// background).
	Committed func(rows int)
	// Insert starts the inserts of new rows: "INSERT" (the default), or
	// SQLite's "INSERT OR FAIL", which keeps no statement journal (a
	// failing insert fails the whole Apply anyway).
	Insert string
	// Schema creates the schema (the current layout); every statement must
	// be idempotent.
	Schema []string
	// SchemaLock, when set, runs first in the schema transaction and
	// serializes processes opening the index at once (PostgreSQL: an
	// advisory lock); SQLite's IMMEDIATE transactions serialize already.
	SchemaLock string
	// Layout returns two counts: tables named versions, and columns of
	// versions named maps. (1, 0) is a version 1 index, which MigrateV1
	// upgrades.
	Layout string
	// MigrateV1 upgrades a version 1 index (attributes keyed by version,
	// no maps or applied_at columns) to the current layout, in the schema
	// transaction, before Schema runs.
	MigrateV1 []string
}

// Store implements store.Store.
type Store struct {
	d      Dialect
	now    func() time.Time
	writer *sql.DB
	reader *sql.DB
	closed atomic.Bool
	close  func() error

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // prepared on writer

	// The multi-row inserts of full chunks, built once.
	fullVersionInsert, fullAttrInsert string

	buckets sync.Map // bucket names known to be in the buckets table

	grown     atomic.Int64 // versions inserted since the last statistics refresh
	baseline  atomic.Int64 // versions inserted before it
	analyzing atomic.Bool
	bg        sync.WaitGroup
	bgCtx     context.Context
	bgCancel  context.CancelFunc
}

// analyzeMinGrowth is the least growth (in versions) that triggers a
// statistics refresh.
const analyzeMinGrowth = 10000

// grew records inserted versions and starts a statistics refresh when the
// index has grown enough.
func (s *Store) grew(n int) {
	if s.d.Analyze == "" || n == 0 {
		return
	}
	g := s.grown.Add(int64(n))
	if g < max(analyzeMinGrowth, s.baseline.Load()/2) || !s.analyzing.CompareAndSwap(false, true) {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer s.analyzing.Store(false)
		if _, err := s.writer.ExecContext(s.bgCtx, s.d.Analyze); err != nil {
			return // the next growth retries
		}
		s.baseline.Add(s.grown.Swap(0))
	}()
}

var _ store.Store = (*Store)(nil)

// New returns a store over writer (used for every write transaction) and
// reader (used for searches; may be writer), creating the schema or
// upgrading an older one. now is the clock of tombstone ages (time.Now when
// nil). close is called by Close after the statements are released.
func New(ctx context.Context, d Dialect, writer, reader *sql.DB, now func() time.Time, close func() error) (*Store, error) {
	if d.Rebind == nil {
		d.Rebind = func(s string) string { return s }
	}
	if d.MaxParams <= 0 {
		d.MaxParams = 999
	}
	if d.Insert == "" {
		d.Insert = "INSERT"
	}
	if now == nil {
		now = time.Now
	}
	s := &Store{d: d, now: now, writer: writer, reader: reader, close: close, stmts: map[string]*sql.Stmt{}}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	if err := s.createSchema(ctx); err != nil {
		s.bgCancel()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		for _, st := range s.stmts {
			_ = st.Close()
		}
		s.bgCancel()
		return nil, err
	}
	return s, nil
}

// SchemaVersion is the layout of the index this package writes. Version 1
// kept attributes keyed by version id; version 2 keys them by value (the
// only index on them a search needs) and keeps a version's maps in its row.
const SchemaVersion = 2

// ErrNewerSchema is returned by New for an index written by a newer
// Sluice.
var ErrNewerSchema = errors.New("index written by a newer version of Sluice")

// createSchema creates the schema, or upgrades a version 1 index, in one
// transaction.
func (s *Store) createSchema(ctx context.Context) error {
	d := s.d
	fail := func(err error) error { return fmt.Errorf("%s: schema: %w", d.Name, err) }
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = tx.Rollback() }()
	if d.SchemaLock != "" {
		if _, err := tx.ExecContext(ctx, d.SchemaLock); err != nil {
			return fail(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS index_schema (version INTEGER NOT NULL)`); err != nil {
		return fail(err)
	}
	var version sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(version) FROM index_schema`).Scan(&version); err != nil {
		return fail(err)
	}
	if version.Int64 > SchemaVersion {
		return fail(fmt.Errorf("%w (schema version %d, this one writes %d)", ErrNewerSchema, version.Int64, SchemaVersion))
	}
	if !version.Valid && d.Layout != "" {
		var tables, mapsCols int
		if err := tx.QueryRowContext(ctx, d.Layout).Scan(&tables, &mapsCols); err != nil {
			return fail(err)
		}
		if tables > 0 && mapsCols == 0 {
			for _, q := range d.MigrateV1 {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return fail(fmt.Errorf("upgrading from version 1: %w (in %.60q)", err, q))
				}
			}
			// Tombstones and update-only versions keep a full retention
			// from the upgrade.
			q := d.Rebind(`UPDATE versions SET applied_at = ? WHERE removed <> 0 OR life = ''`)
			if _, err := tx.ExecContext(ctx, q, s.now().UnixMicro()); err != nil {
				return fail(fmt.Errorf("upgrading from version 1: %w", err))
			}
		}
	}
	for _, q := range d.Schema {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: schema: %w (in %.60q)", d.Name, err, q)
		}
	}
	if version.Int64 < SchemaVersion {
		if _, err := tx.ExecContext(ctx, `DELETE FROM index_schema`); err != nil {
			return fail(err)
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO index_schema (version) VALUES (?)`), SchemaVersion); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.bgCancel()
	s.bg.Wait()
	s.mu.Lock()
	for _, st := range s.stmts {
		_ = st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
	if s.close != nil {
		return s.close()
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := s.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("%s: ping: %w", s.d.Name, err)
	}
	return nil
}

// prepare prepares the statements Apply runs for every key, on the writer.
// They cannot be prepared lazily: a SQLite writer has one connection, held
// by the transaction that would need them.
func (s *Store) prepare(ctx context.Context) error {
	s.fullVersionInsert, s.fullAttrInsert = s.versionInsert(insertChunk), s.attrInsert(s.attrChunk())
	for _, q := range []string{loadRowsQuery(loadChunk), s.fullVersionInsert, qUpdateVersion, qDeleteAttr, s.fullAttrInsert} {
		st, err := s.writer.PrepareContext(ctx, s.d.Rebind(q))
		if err != nil {
			return fmt.Errorf("%s: prepare: %w", s.d.Name, err)
		}
		s.stmts[q] = st
	}
	return nil
}

// stmt returns q bound to tx: the prepared statement when there is one,
// nil otherwise (run q on tx directly).
func (s *Store) stmt(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	s.mu.Lock()
	st := s.stmts[q]
	s.mu.Unlock()
	if st == nil {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// exec runs a write statement in tx.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
	var err error
	if st := s.stmt(ctx, tx, q); st != nil {
		_, err = st.ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, s.d.Rebind(q), args...)
	}
	return err
}

// DeclareTypes implements store.Store.
func (s *Store) DeclareTypes(ctx context.Context, bucket string, types map[string]store.FieldType) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if bucket == "" || len(bucket) > store.MaxBucketLen {
		return fmt.Errorf("%w: bad bucket name", store.ErrInvalidInput)
	}
	norm := make(map[string]store.FieldType, len(types))
	for name, t := range types {
		f, ok := query.ParseTypedField(name)
		if !ok || len(f.Name) > store.MaxNameLen {
			return fmt.Errorf("%w: %q is not a metadata (x-amz-meta-<name>) or tag (tags.<name>) field", store.ErrInvalidInput, name)
		}
		pt, err := store.ParseFieldType(string(t))
		if err != nil {
			return err
		}
		norm[f.String()] = pt
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: declare types: %w", s.d.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	for field, t := range norm {
		var q string
		args := []any{bucket, field}
		if t == store.TypeString {
			q = `DELETE FROM field_types WHERE bucket = ? AND field = ?`
		} else {
			q = `INSERT INTO field_types (bucket, field, type) VALUES (?, ?, ?)
				ON CONFLICT (bucket, field) DO UPDATE SET type = excluded.type`
			args = append(args, string(t))
		}
		if _, err := tx.ExecContext(ctx, s.d.Rebind(q), args...); err != nil {
			return fmt.Errorf("%s: declare types: %w", s.d.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: declare types: %w", s.d.Name, err)
	}
	return nil
}

// FieldTypes implements store.Store.
func (s *Store) FieldTypes(ctx context.Context, bucket string) (map[string]store.FieldType, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, s.d.Rebind(`SELECT field, type FROM field_types WHERE bucket = ? ORDER BY field`), bucket)
	if err != nil {
		return nil, fmt.Errorf("%s: field types: %w", s.d.Name, err)
	}
	defer rows.Close()
	out := map[string]store.FieldType{}
	for rows.Next() {
		var f, t string
		if err := rows.Scan(&f, &t); err != nil {
			return nil, fmt.Errorf("%s: field types: %w", s.d.Name, err)
		}
		out[f] = store.FieldType(t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: field types: %w", s.d.Name, err)
	}
	return out, nil
}

// ResetBucket implements store.Store.
func (s *Store) ResetBucket(ctx context.Context, bucket string) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: reset bucket: %w", s.d.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{`DELETE FROM attrs WHERE bucket = ?`, `DELETE FROM versions WHERE bucket = ?`} {
		if _, err := tx.ExecContext(ctx, s.d.Rebind(q), bucket); err != nil {
			return fmt.Errorf("%s: reset bucket: %w", s.d.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: reset bucket: %w", s.d.Name, err)
	}
	return nil
}

// RebindQuestion rewrites "?" placeholders as $1, $2, ... (PostgreSQL). The
// statements of this package hold no "?" inside literals.
func RebindQuestion(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// wrap prefixes a database error with the dialect name, leaving context
// errors recognizable.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := query.AsError(err); ok {
		return err
	}
	if errors.Is(err, store.ErrInvalidInput) || errors.Is(err, store.ErrInvalidCursor) || errors.Is(err, store.ErrClosed) {
		return err
	}
	return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
}
