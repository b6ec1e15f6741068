package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/internal/sqlcore"
)

func openTestBackend(t *testing.T) *backend {
	t.Helper()
	b, err := openBackend(context.Background(), Config{Path: filepath.Join(t.TempDir(), "meta.db")})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *committer) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// rowNames lists the rows the test inserted into counters.
func rowNames(t *testing.T, b *backend) []string {
	t.Helper()
	var names []string
	err := b.ReadTx(context.Background(), func(tx sqlcore.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT name FROM counters WHERE name <> ? ORDER BY name`, "sequencer")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			names = append(names, n)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// holdLeader starts a write that runs fn once release is closed, and returns
// when that write is inside its transaction, so that the writes queued next
// wait for it; leaderErr receives its result.
func holdLeader(b *backend, fn func(sqlcore.Tx) error) (release chan struct{}, leaderErr chan error) {
	inLeader := make(chan struct{})
	release, leaderErr = make(chan struct{}), make(chan error, 1)
	go func() {
		leaderErr <- b.WriteTx(context.Background(), func(tx sqlcore.Tx) error {
			close(inLeader)
			<-release
			return fn(tx)
		})
	}()
	<-inLeader
	return release, leaderErr
}

func insertRow(name string) func(sqlcore.Tx) error {
	return func(tx sqlcore.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO counters (name, value) VALUES (?, 1)`, name)
		return err
	}
}

// TestGroupCommit queues writers behind a leader that is inside its
// transaction, so that they run as one group, and checks that each member gets
// its own outcome: failures and a cancelled caller change nothing, a member
// that destroys the shared transaction fails alone while the members it took
// down with it run again, and everyone else commits.
func TestGroupCommit(t *testing.T) {
	b := openTestBackend(t)
	var (
		mu    sync.Mutex
		sizes []int
	)
	b.group.groupHook = func(n int) {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, n)
	}
	boom := errors.New("boom")
	type member struct {
		name    string
		fn      func(sqlcore.Tx) error
		cancel  bool // cancel the caller's ctx while it is queued
		wantErr error
		errAny  bool // any error
		stored  bool
		calls   int
	}
	members := []*member{
		{name: "ok1", stored: true, calls: 2},
		{name: "fails", wantErr: boom, calls: 1, fn: func(tx sqlcore.Tx) error {
			if err := insertRow("fails")(tx); err != nil {
				return err
			}
			return boom
		}},
		{name: "cancelled", cancel: true, wantErr: context.Canceled, calls: 0},
		{name: "ok2", stored: true, calls: 2},
		{name: "ends-tx", errAny: true, calls: 1, fn: func(tx sqlcore.Tx) error {
			if err := insertRow("ends-tx")(tx); err != nil {
				return err
			}
			// As SQLite does after SQLITE_FULL or SQLITE_IOERR.
			_, err := tx.Exec(context.Background(), `ROLLBACK`)
			return err
		}},
		{name: "ok3", stored: true, calls: 1},
	}

	release, leaderErr := holdLeader(b, insertRow("leader"))

	calls := make([]atomic.Int32, len(members))
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		fn := m.fn
		if fn == nil {
			fn = insertRow(m.name)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.WriteTx(ctx, func(tx sqlcore.Tx) error {
				calls[i].Add(1)
				return fn(tx)
			})
		}()
		waitFor(t, m.name+" queued", func() bool { return b.group.queued() == i+1 })
		if m.cancel {
			cancel()
		}
	}
	close(release)
	if err := <-leaderErr; err != nil {
		t.Fatalf("leader: %v", err)
	}
	wg.Wait()

	want := []string{"leader"}
	for i, m := range members {
		switch {
		case m.errAny && errs[i] == nil:
			t.Errorf("%s: no error", m.name)
		case !m.errAny && !errors.Is(errs[i], m.wantErr):
			t.Errorf("%s: error %v, want %v", m.name, errs[i], m.wantErr)
		}
		if got := int(calls[i].Load()); got != m.calls {
			t.Errorf("%s: fn ran %d times, want %d", m.name, got, m.calls)
		}
		if m.stored {
			want = append(want, m.name)
		}
	}
	slices.Sort(want)
	if got := rowNames(t, b); !slices.Equal(got, want) {
		t.Errorf("rows = %v, want %v", got, want)
	}
	// The leader alone; then the five live members together; then the three
	// that ran again after the shared transaction was lost.
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(sizes, []int{1, 5, 3}) {
		t.Errorf("group sizes = %v, want [1 5 3]", sizes)
	}
}

// TestGroupConcurrent runs many concurrent writers, a third of which fail, and
// checks that exactly the successful ones committed.
func TestGroupConcurrent(t *testing.T) {
	b := openTestBackend(t)
	const writers, each = 8, 25
	boom := errors.New("boom")
	var (
		mu   sync.Mutex
		want []string
		wg   sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := string(rune('a'+w)) + "-" + string(rune('A'+i))
				fail := (w+i)%3 == 0
				err := b.WriteTx(context.Background(), func(tx sqlcore.Tx) error {
					if err := insertRow(name)(tx); err != nil {
						return err
					}
					if fail {
						return boom
					}
					return nil
				})
				switch {
				case fail && !errors.Is(err, boom):
					t.Errorf("%s: error %v, want boom", name, err)
				case !fail && err != nil:
					t.Errorf("%s: %v", name, err)
				case !fail:
					mu.Lock()
					want = append(want, name)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	slices.Sort(want)
	if got := rowNames(t, b); !slices.Equal(got, want) {
		t.Errorf("rows = %v\nwant %v", got, want)
	}
}

func TestGroupClosed(t *testing.T) {
	b := openTestBackend(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteTx(context.Background(), insertRow("late")); !errors.Is(err, meta.ErrClosed) {
		t.Fatalf("write after close: %v, want ErrClosed", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.WriteTx(ctx, insertRow("cancelled")); !errors.Is(err, context.Canceled) {
		t.Fatalf("write with a done ctx: %v, want context.Canceled", err)
	}
}

// TestRelayWriteJoinsNextGroup queues more than maxGroup writers behind a
// leader inside its transaction, then a RelayWrite: it must run in the very
// next group, not after the whole queue, and every writer still commits.
func TestRelayWriteJoinsNextGroup(t *testing.T) {
	b := openTestBackend(t)
	var (
		mu     sync.Mutex
		groups [][]string // names each group committed, in order
		cur    []string
	)
	record := func(name string) func(sqlcore.Tx) error {
		return func(tx sqlcore.Tx) error {
			mu.Lock()
			cur = append(cur, name)
			mu.Unlock()
			return insertRow(name)(tx)
		}
	}
	b.group.groupHook = func(int) {
		mu.Lock()
		defer mu.Unlock()
		if cur != nil {
			groups = append(groups, cur)
		}
		cur = []string{}
	}
	release, leaderErr := holdLeader(b, record("leader"))
	const writers = 2*maxGroup + 10
	errs := make(chan error, writers+1)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { errs <- b.WriteTx(context.Background(), record(fmt.Sprintf("w%04d", i))) })
	}
	waitFor(t, "writers queued", func() bool { return b.group.queued() == writers })
	wg.Go(func() { errs <- b.RelayWrite(context.Background(), record("relay")) })
	waitFor(t, "relay write queued", func() bool { return b.group.queued() == writers+1 })
	close(release)
	if err := <-leaderErr; err != nil {
		t.Fatalf("leader: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b.group.groupHook(0) // close the last group
	mu.Lock()
	defer mu.Unlock()
	if len(groups) < 3 {
		t.Fatalf("groups = %d, want the leader's and at least two more", len(groups))
	}
	if !slices.Contains(groups[1], "relay") {
		t.Errorf("relay write ran in group %v, want the one right after the leader's", groupOf(groups, "relay"))
	}
	if n := len(rowNames(t, b)); n != writers+2 {
		t.Errorf("%d rows committed, want %d", n, writers+2)
	}
}

func groupOf(groups [][]string, name string) int {
	for i, g := range groups {
		if slices.Contains(g, name) {
			return i
		}
	}
	return -1
}
