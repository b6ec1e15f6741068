package indexer

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/sqlite"
)

// recordingStore records the size of every Apply; the first one waits
// until release is closed.
type recordingStore struct {
	store.Store
	release chan struct{}
	mu      sync.Mutex
	sizes   []int
}

func (r *recordingStore) Apply(ctx context.Context, evs []store.Event) (store.ApplyStats, error) {
	r.mu.Lock()
	first := len(r.sizes) == 0
	r.sizes = append(r.sizes, len(evs))
	r.mu.Unlock()
	if first {
		<-r.release
	}
	return r.Store.Apply(ctx, evs)
}

// TestBatcherBurst holds the first commit while many events queue: the
// next batches take what is waiting, beyond size and up to maxSize, and
// every event is applied once.
func TestBatcherBurst(t *testing.T) {
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "i.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for _, tc := range []struct{ size, maxSize, events, wantMax int }{
		{10, 40, 200, 40},
		{10, 10, 100, 10}, // no burst allowance: batches stay at size
	} {
		t.Run(fmt.Sprintf("size-%d-max-%d", tc.size, tc.maxSize), func(t *testing.T) {
			rs := &recordingStore{Store: st, release: make(chan struct{})}
			b := newBatcher(rs, tc.size, tc.maxSize, time.Millisecond, time.Now, zap.NewNop(), nil)
			defer b.close()
			var wg sync.WaitGroup
			errs := make(chan error, tc.events+1)
			submit := func(i int) {
				defer wg.Done()
				ev := store.Event{Op: store.OpPut, Bucket: t.Name(), Key: fmt.Sprintf("k%04d", i), Sequencer: "01", Time: time.Now()}
				errs <- b.submit(context.Background(), ev, time.Now())
			}
			wg.Add(1)
			go submit(0)
			natstest.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
				rs.mu.Lock()
				defer rs.mu.Unlock()
				if len(rs.sizes) == 0 {
					return fmt.Errorf("no batch yet")
				}
				return nil
			})
			for i := 1; i <= tc.events; i++ {
				wg.Add(1)
				go submit(i)
			}
			// Wait until the queue is full: a burst is waiting.
			natstest.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
				if n := len(b.in); n < cap(b.in) {
					return fmt.Errorf("%d of %d queued", n, cap(b.in))
				}
				return nil
			})
			close(rs.release)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			rs.mu.Lock()
			defer rs.mu.Unlock()
			total, biggest := 0, 0
			for _, n := range rs.sizes {
				total += n
				biggest = max(biggest, n)
			}
			if total != tc.events+1 || biggest != tc.wantMax {
				t.Fatalf("batches %v: %d events, biggest %d; want %d and %d", rs.sizes, total, biggest, tc.events+1, tc.wantMax)
			}
		})
	}
}
