package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/storetest"
)

// TestCheckpointerBoundsWAL writes the same batches into two indexes, one
// whose checkpointer runs (with thresholds low enough to act after every
// batch) and one whose commits never wake it: the first WAL starts over
// after each checkpoint and stays a fraction of the second, which holds
// every frame written (its backstop checkpoint is far away).
func TestCheckpointerBoundsWAL(t *testing.T) {
	defer func(rows int64, frames int) { checkpointRows, restartFrames = rows, frames }(checkpointRows, restartFrames)
	checkpointRows, restartFrames = 1, 0
	walSize := func(active bool) int64 {
		path := filepath.Join(t.TempDir(), "index.db")
		s, ck, err := open(context.Background(), Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !active {
			ck.close() // commits still count, nobody checkpoints
		}
		for b := 0; b < 30; b++ {
			evs := make([]store.Event, 100)
			for i := range evs {
				evs[i] = storetest.BenchEvent(b*len(evs) + i)
			}
			before := ck.rounds.Load()
			if _, err := s.Apply(context.Background(), evs); err != nil {
				t.Fatal(err)
			}
			if active {
				natstest.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
					if ck.rounds.Load() == before {
						return fmt.Errorf("no checkpoint after batch %d", b)
					}
					return nil
				})
			}
		}
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	with, without := walSize(true), walSize(false)
	if with*4 > without {
		t.Fatalf("WAL of %d bytes with the checkpointer, %d without: not bounded", with, without)
	}
}
