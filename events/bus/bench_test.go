package bus_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/natstest"
)

const benchPayload = 1024

// BenchmarkPublish measures synchronous publishes, each waiting for its
// PubAck, of 1 KiB messages to a file-backed stream.
func BenchmarkPublish(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	data := make([]byte, benchPayload)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.bus.Publish(ctx, newMsg("sluice.events.bench.put", "p-"+strconv.Itoa(i), data)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkConsume measures consuming and DoubleAck-ing b.N stored 1 KiB
// messages with one loop of 16 handlers.
func BenchmarkConsume(b *testing.B) {
	e := newEnv(b)
	e.ensureConsumer(b, "bench", "sluice.events.>", 0)
	publishN(b, e.srv.JetStream(), "sluice.events.bench.put", b.N, benchPayload)
	var acked atomic.Int64
	b.SetBytes(benchPayload)
	b.ResetTimer()
	start := time.Now()
	consume(b, e.bus, bus.ConsumeSpec{
		Consumer:    "bench",
		Concurrency: 16,
		Observer: bus.ObserverFunc(func(s bus.Settlement) {
			if s.Outcome == bus.Acked {
				acked.Add(1)
			}
		}),
		Handler: func(context.Context, *bus.Message) error { return nil },
	})
	natstest.CheckFor(b, 5*time.Minute, time.Millisecond, func() error {
		if acked.Load() < int64(b.N) {
			return context.DeadlineExceeded
		}
		return nil
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
