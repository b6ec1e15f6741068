package notifybench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events/natstest"
)

// BenchmarkRelayPublish compares the two ways an outbox relay can publish a claimed
// batch of 100 events to JetStream with Nats-Msg-Id: one synchronous publish per event
// (waiting for each PubAck, as s3front/outbox does today) or the whole batch published
// asynchronously and then every PubAck awaited (one round trip per batch). It explains
// the outbox share of PUT → webhook latency at high rates (BenchmarkNotifyLatency).
func BenchmarkRelayPublish(b *testing.B) {
	const batch = 100
	for _, mode := range []string{"serial", "pipelined"} {
		b.Run(mode, func(b *testing.B) {
			srv := natstest.RunJetStream(b)
			_, js := srv.Connect(b)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RELAY", Subjects: []string{"relay.>"}}); err != nil {
				b.Fatal(err)
			}
			body := make([]byte, 1200) // about one S3 event record
			b.ResetTimer()
			for start := 0; start < b.N; start += batch {
				n := min(batch, b.N-start)
				msgs := make([]*nats.Msg, n)
				for i := range msgs {
					msgs[i] = &nats.Msg{Subject: "relay.b.ObjectCreated.Put", Data: body, Header: nats.Header{}}
					msgs[i].Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("ev-%d", start+i))
				}
				if mode == "serial" {
					for _, m := range msgs {
						if _, err := js.PublishMsg(ctx, m); err != nil {
							b.Fatal(err)
						}
					}
					continue
				}
				futures := make([]jetstream.PubAckFuture, n)
				for i, m := range msgs {
					f, err := js.PublishMsgAsync(m)
					if err != nil {
						b.Fatal(err)
					}
					futures[i] = f
				}
				for _, f := range futures { // in order: the acknowledged prefix is what may be deleted
					select {
					case <-f.Ok():
					case err := <-f.Err():
						b.Fatal(err)
					case <-ctx.Done():
						b.Fatal(ctx.Err())
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
