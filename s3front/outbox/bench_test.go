package outbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/sqlite"
	"github.com/sluice-io/sluice/s3front/outbox"
)

// BenchmarkRelay measures how fast a relay drains a SQLite outbox into an
// embedded JetStream: each op is one event published, acknowledged and
// deleted. Run with -benchtime=Nx for a fixed backlog. "sequential" waits for
// each PubAck before the next publish; "pipelined" sends a batch, then waits.
func BenchmarkRelay(b *testing.B) {
	for _, seq := range []bool{true, false} {
		name := "pipelined"
		if seq {
			name = "sequential"
		}
		b.Run(name, func(b *testing.B) { benchRelay(b, seq) })
	}
}

func benchRelay(b *testing.B, sequential bool) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "meta.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if _, err := s.CreateBucket(ctx, meta.Bucket{Name: "b", Owner: "o", Location: "l"}); err != nil {
		b.Fatal(err)
	}
	ns := natstest.RunJetStream(b)
	js := ns.JetStream()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: stream, Subjects: []string{"sluice.>"}, Duplicates: 2 * time.Minute, Storage: jetstream.FileStorage,
	}); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: fmt.Sprintf("k%08d", i), DataKey: "d"}, eventFunc); err != nil {
			b.Fatal(err)
		}
	}
	r, err := outbox.New(outbox.Config{Store: s, Publisher: js, Logger: zap.NewNop(), Sequential: sequential})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	b.ResetTimer()
	go func() { done <- r.Run(rctx) }()
	for {
		st, err := s.OutboxStats(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if st.Pending == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if n, err := streamCount(js); err != nil || n != uint64(b.N) {
		b.Fatalf("stream holds %d messages (%v), want %d", n, err, b.N)
	}
}
