package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/internal/sqlcore"
)

// Group commit.
//
// SQLite has one writer, and with synchronous=FULL (the default, see
// Config.RelaxedSync) every commit waits for an fsync of the WAL. Write transactions that arrive while another commit is in
// progress are queued; the next leader runs all of them (up to maxGroup) in one
// BEGIN IMMEDIATE transaction, each inside its own SAVEPOINT, and commits once.
// One fsync then covers the whole group, and each caller still gets its own
// result:
//
//   - a member whose fn fails is rolled back to its savepoint: its changes and
//     outbox rows disappear and it receives fn's error, while the other members
//     commit;
//   - a member whose ctx ended before it ran is skipped with ctx.Err();
//   - once a member's fn has run, its caller waits for the group's commit and
//     learns the definitive outcome. Statements inside a group ignore the
//     cancellation of their ctx: interrupting a statement could roll back the
//     whole shared transaction (sqlite3_interrupt), and a caller must never be
//     told "failed" about a change that committed. (A transaction that runs
//     alone runs under its caller's ctx, as an ungrouped one would: cancelling
//     it rolls it back and returns the error.)
//   - if a statement error rolls back the whole transaction (SQLite does so for
//     SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY and SQLITE_NOMEM), the member that
//     hit it receives the error and every other member is run again in a fresh
//     group (WriteTx's fn must be re-runnable);
//   - if COMMIT fails, every member receives the error; none of the group's
//     changes is visible.
//
// Writes run in arrival order, except the outbox relay's (RelayWrite), which
// joins the next group ahead of the writes queued for later groups; the relay
// has at most one write queued per store, so it delays each other write by at
// most one place.
//
// A transaction that finds the writer idle runs at once, alone, exactly as
// without grouping, so an idle store adds no latency. Leadership passes from
// group to group, so no caller keeps committing other callers' work after its
// own is done.

// maxGroup bounds the members of one group transaction, so a group stays short
// and no caller waits behind an unbounded queue.
const maxGroup = 128

// groupSavepoint names the savepoint each member of a group runs in; members run
// one after another, so one name suffices.
const groupSavepoint = "sluice_member"

// errGroupClosed is returned to writes that arrive after the store closed.
var errGroupClosed = fmt.Errorf("sqlite: writer: %w", meta.ErrClosed)

// writeReq is one queued WriteTx call.
type writeReq struct {
	ctx  context.Context
	fn   func(sqlcore.Tx) error
	done chan writeResult // buffered (1): the leader never blocks delivering
}

// writeResult is delivered on writeReq.done: either the call's outcome, or
// lead, telling the waiting caller to become the next leader.
type writeResult struct {
	err  error
	lead bool
}

// committer queues write transactions and runs them in groups on the single
// writer connection.
type committer struct {
	db    *sql.DB
	cache *stmtCache

	mu      sync.Mutex
	pending []*writeReq
	busy    bool // a leader is running a group or handing over to the next
	closed  bool

	// groupHook, when set (tests only), is called with the size of each group
	// before it runs.
	groupHook func(n int)
}

func newCommitter(db *sql.DB, cache *stmtCache) *committer {
	return &committer{db: db, cache: cache}
}

// write runs fn in a write transaction, possibly grouped with concurrent ones,
// and returns fn's error, ctx.Err() if ctx ended before fn ran, or the
// transaction's error. An urgent write joins the next group even when more
// than maxGroup writes are queued: it is queued right behind the next leader
// (whose request must stay first, see lead), ahead of the others.
func (c *committer) write(ctx context.Context, fn func(sqlcore.Tx) error, urgent bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errGroupClosed
	}
	if urgent && len(c.pending) > 1 {
		c.pending = slices.Insert(c.pending, 1, req)
	} else {
		c.pending = append(c.pending, req)
	}
	if c.busy {
		c.mu.Unlock()
		res := <-req.done
		if !res.lead {
			return res.err
		}
		c.mu.Lock() // lead passed to us: our request is first in pending
	} else {
		c.busy = true
	}
	c.lead()
	return (<-req.done).err
}

// lead runs the group holding the caller's request, which is first in
// c.pending (a new leader's request was queued first, and only leaders remove
// requests). It is entered with c.mu held and returns with it released, after
// handing leadership to the first waiting caller or marking the committer idle.
func (c *committer) lead() {
	n := min(len(c.pending), maxGroup)
	batch := c.pending[:n:n]
	c.pending = append([]*writeReq(nil), c.pending[n:]...)
	c.mu.Unlock()

	c.runGroup(batch)

	c.mu.Lock()
	if len(c.pending) == 0 {
		c.busy = false
		c.mu.Unlock()
		return
	}
	next := c.pending[0]
	c.mu.Unlock()
	next.done <- writeResult{lead: true}
}

// close makes later writes fail with errGroupClosed. Requests already queued
// still run (and fail on the closed database).
func (c *committer) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
}

// runGroup runs batch and delivers every member's result. Members re-run after
// a whole-transaction rollback are run again here, in a new group.
func (c *committer) runGroup(batch []*writeReq) {
	for len(batch) > 0 {
		live := batch[:0:0]
		for _, r := range batch {
			if err := r.ctx.Err(); err != nil {
				r.done <- writeResult{err: err}
				continue
			}
			live = append(live, r)
		}
		if c.groupHook != nil && len(live) > 0 {
			c.groupHook(len(live))
		}
		switch len(live) {
		case 0:
			return
		case 1:
			live[0].done <- writeResult{err: runTx(live[0].ctx, c.db, c.cache, nil, live[0].fn)}
			return
		}
		batch = c.runShared(live)
	}
}

// runShared runs live (two or more members) in one transaction, delivers the
// results it can, and returns the members to run again because the transaction
// was rolled back under them.
func (c *committer) runShared(live []*writeReq) (retry []*writeReq) {
	var misses []string
	defer func() {
		if len(misses) > 0 {
			c.cache.prepare(context.Background(), misses)
		}
	}()
	// The transaction belongs to no caller: no caller's cancellation may end it.
	bg := context.Background()
	tx, err := c.db.BeginTx(bg, nil)
	if err != nil {
		for _, r := range live {
			r.done <- writeResult{err: err}
		}
		return nil
	}
	errs := make([]error, len(live))
	for i, r := range live {
		mt := sqlTx{tx: tx, cache: c.cache, misses: &misses, detached: true}
		if _, err := mt.Exec(bg, `SAVEPOINT `+groupSavepoint); err != nil {
			// The transaction is unusable: this member fails without having
			// run; the members before it lost their changes and run again, as
			// do the rest. Each round settles at least one member.
			_ = tx.Rollback()
			r.done <- writeResult{err: err}
			return append(retryAll(live[:i], errs[:i]), live[i+1:]...)
		}
		ferr := r.fn(mt)
		var end error
		if ferr != nil {
			_, end = mt.Exec(bg, `ROLLBACK TO `+groupSavepoint)
		}
		if end == nil {
			_, end = mt.Exec(bg, `RELEASE `+groupSavepoint)
		}
		if end != nil {
			// SQLite rolled back the whole transaction: this member caused
			// it (or it was already gone). It gets its own error; the members
			// before it lost their changes and run again, as do the rest.
			_ = tx.Rollback()
			if ferr == nil {
				ferr = fmt.Errorf("group transaction rolled back: %w", end)
			}
			r.done <- writeResult{err: ferr}
			return append(retryAll(live[:i], errs[:i]), live[i+1:]...)
		}
		errs[i] = ferr
	}
	if err := tx.Commit(); err != nil {
		for _, r := range live {
			r.done <- writeResult{err: err}
		}
		return nil
	}
	for i, r := range live {
		r.done <- writeResult{err: errs[i]}
	}
	return nil
}

// retryAll returns the members of done whose fn succeeded (their changes were
// lost with the transaction, so they run again) and delivers the errors of the
// others, which changed nothing.
func retryAll(done []*writeReq, errs []error) []*writeReq {
	var again []*writeReq
	for i, r := range done {
		if errs[i] != nil {
			r.done <- writeResult{err: errs[i]}
			continue
		}
		again = append(again, r)
	}
	return again
}
