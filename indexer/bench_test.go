package indexer_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/indexer"
	"github.com/sluice-io/sluice/indexer/store"
	"github.com/sluice-io/sluice/indexer/store/sqlite"
)

// BenchmarkServiceIngest measures end-to-end indexing through JetStream:
// b.N object-created events are published first, then one indexer (SQLite,
// default batching) consumes them; the time is from its start until the
// last event is in the index. It reports events/s.
func BenchmarkServiceIngest(b *testing.B) {
	e := newEnvB(b)
	for i := 0; i < b.N; i++ {
		rec := events.Record{
			EventName: events.ObjectCreatedPut, EventSource: "sluice:s3", AWSRegion: "us-east-1",
			EventTime: time.Now().UTC(),
			S3: events.S3Entity{Bucket: events.BucketEntity{Name: fmt.Sprintf("bucket-%d", i%4)},
				Object: events.ObjectEntity{Size: int64(i), ETag: "e", VersionID: fmt.Sprintf("v%08d", i), Sequencer: fmt.Sprintf("%016X", i+1)}},
			Sluice: &events.SluiceData{Location: "local", ContentType: "text/plain",
				UserMetadata: map[string]string{"color": fmt.Sprintf("c%d", i%100), "year": fmt.Sprint(2000 + i%25)},
				Tags:         map[string]string{"team": fmt.Sprintf("t%d", i%10)}},
		}
		rec.SetObjectKey(fmt.Sprintf("data/%06d/object-%d.bin", i/1000, i))
		e.publish(b, eventID(i), rec)
	}
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "index.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	set := e.settingsB(b)
	cfg := indexer.Config{}
	cfg.SetDefaults()
	b.ResetTimer()
	svc, err := indexer.New(cfg, set, indexer.WithStore(st))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	natstest.CheckFor(b, 10*time.Minute, 100*time.Millisecond, func() error {
		agg, err := st.Aggregate(context.Background(), store.AggregateInput{By: store.GroupLocation})
		if err != nil {
			return err
		}
		if len(agg) != 1 || agg[0].Count != int64(b.N) {
			return fmt.Errorf("indexed %v of %d", agg, b.N)
		}
		return nil
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if mfs, err := set.Registry.Gather(); err == nil {
		for _, mf := range mfs {
			if mf.GetName() == "sluice_indexer_batch_duration_seconds" {
				b.ReportMetric(mf.GetMetric()[0].GetHistogram().GetSampleSum()/b.Elapsed().Seconds(), "commit-share")
			}
		}
	}
	if n := histogramCountB(b, set.Registry, "sluice_indexer_batch_size"); n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "events/batch")
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
