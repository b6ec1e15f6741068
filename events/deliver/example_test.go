package deliver_test

import (
	"context"
	"fmt"
	"log"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/subject"
)

// Example_directConsumer consumes Sluice's event subjects directly with a
// durable JetStream consumer: every ObjectCreated event of bucket
// "photos", at least once, surviving restarts of the consumer. (README.md
// shows this program.)
func Example_directConsumer() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		log.Print(err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Print(err)
		return
	}
	filter, _ := subject.BucketCategory("photos", events.CategoryObjectCreated) // sluice.events.photos.ObjectCreated.*
	cons, err := js.CreateOrUpdateConsumer(ctx, "SLUICE_EVENTS", jetstream.ConsumerConfig{
		Durable:       "photo-indexer", // replicas of your app share it
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    20,
	})
	if err != nil {
		log.Print(err)
		return
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		ce, err := events.EventFromNATS(m.Headers(), m.Data())
		if err != nil {
			_ = m.Term() // not a Sluice event: retrying cannot help
			return
		}
		rec, err := events.RecordFromCloudEvent(ce)
		if err != nil {
			_ = m.Term()
			return
		}
		key, _ := rec.ObjectKey()
		// Handle idempotently: the same event may come twice; compare
		// rec.S3.Object.Sequencer with the last one you applied for key.
		fmt.Println(rec.EventName, rec.Bucket(), key, rec.S3.Object.Sequencer)
		if err := m.Ack(); err != nil {
			log.Print(err)
		}
	})
	if err != nil {
		log.Print(err)
		return
	}
	defer cc.Stop()
	<-ctx.Done()
}
