package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// Checkpoints. The writer commits into the WAL (synchronous NORMAL: no
// fsync per commit) and copies the WAL into the database only as a last
// resort (wal_autocheckpoint = backstopPages). A checkpointer on its own
// connection copies it in the background instead, off the writer's path
// and on another core: a PASSIVE checkpoint (which never blocks the writer)
// once checkpointRows rows were committed, and a RESTART checkpoint (which
// waits for the writer to finish its transaction, then lets the next one
// start the WAL over) when the WAL has grown past restartFrames, so that it
// stays bounded under a steady stream of writes.
const backstopPages = 1 << 17 // 512 MiB

// The checkpointer's thresholds (variables for tests).
var (
	checkpointRows int64 = 2000
	restartFrames        = 32768 // 128 MiB of 4 KiB pages
)

type checkpointer struct {
	db      *sql.DB
	pending atomic.Int64
	rounds  atomic.Int64 // checkpoint rounds done
	kick    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.run()
	return c
}

// committed counts rows the writer committed, and wakes the checkpointer
// once enough were.
func (c *checkpointer) committed(rows int) {
	if c.pending.Add(int64(rows)) < checkpointRows {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.kick:
		}
		c.pending.Store(0)
		// Errors (SQLITE_BUSY while a RESTART waits too long) are left to
		// the next round and to the writer's own backstop checkpoint.
		frames, err := c.checkpoint("PASSIVE")
		if err == nil && frames > restartFrames {
			_, _ = c.checkpoint("RESTART")
		}
		c.rounds.Add(1)
	}
}

// checkpoint runs one checkpoint and returns the WAL's size in frames.
func (c *checkpointer) checkpoint(mode string) (int, error) {
	var busy, frames, copied int
	err := c.db.QueryRowContext(c.ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied)
	return frames, err
}

// close stops the checkpointer; the database stays open.
func (c *checkpointer) close() {
	c.cancel()
	c.wg.Wait()
}
