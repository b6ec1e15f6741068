// Package sqlcore implements meta.Store once, on top of a small Backend interface
// that meta/sqlite and meta/postgres provide. Queries use '?' placeholders; a backend
// that needs another style rewrites them in its Tx.
package sqlcore

import "context"

// Tx is a database transaction as the core sees it.
type Tx interface {
	// Exec runs a statement and returns the number of affected rows.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query returning rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a query returning at most one row; Scan returns ErrNoRows when
	// there is none.
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows iterates a query result.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is one result row.
type Row interface {
	Scan(dest ...any) error
}

// LockMode selects the row-locking clause appended to a SELECT.
type LockMode int

// Lock modes.
const (
	LockNone       LockMode = iota
	LockShare               // FOR SHARE
	LockUpdate              // FOR UPDATE
	LockSkipLocked          // FOR UPDATE SKIP LOCKED
)

// Backend is what a database must provide.
type Backend interface {
	// ReadTx runs fn in a read-only transaction that sees one snapshot.
	ReadTx(ctx context.Context, fn func(Tx) error) error
	// ReadOne runs fn outside an explicit transaction: each statement fn issues
	// reads the latest committed state on its own. It is for reads of one
	// statement, which it spares the transaction's own statements (and, on a
	// server, their round trips).
	ReadOne(ctx context.Context, fn func(Tx) error) error
	// WriteTx runs fn in a read-write transaction and commits it when fn returns
	// nil. It may run fn again after a transient conflict (fn must be re-runnable).
	WriteTx(ctx context.Context, fn func(Tx) error) error
	// NextSequencer returns the next value of the database-wide sequencer.
	NextSequencer(ctx context.Context, tx Tx) (uint64, error)
	// LockKey serializes writers of one object key until the transaction ends.
	LockKey(ctx context.Context, tx Tx, bucket, key string) error
	// LockMigrations serializes schema migrations across processes.
	LockMigrations(ctx context.Context, tx Tx) error
	// LockClause returns the clause to append to a SELECT for mode ("" if the
	// backend serializes writers otherwise).
	LockClause(mode LockMode) string
	// ClaimInTx reports whether OutboxClaim runs its handler inside a write
	// transaction holding row locks (true), or under an in-process lock with the
	// rows read and deleted in separate transactions (false).
	ClaimInTx() bool
	// IsNoRows reports whether err means "no rows" from Row.Scan.
	IsNoRows(err error) bool
	// Ping checks the connection.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// RelayLane is implemented by a Backend whose ClaimInTx is false and which can
// serve the outbox relay ahead of other work. Under load the writer's queue and
// the read pool fill with S3 requests; if the relay's reads and deletes waited
// behind them, each claim would take as long as the queue and events would pile
// up in the outbox exactly when they arrive fastest.
type RelayLane interface {
	// RelayRead is ReadOne on a connection only the relay uses.
	RelayRead(ctx context.Context, fn func(Tx) error) error
	// RelayWrite is WriteTx, run ahead of the writes already queued.
	RelayWrite(ctx context.Context, fn func(Tx) error) error
}
