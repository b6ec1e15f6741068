package events_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/events/subject"
)

// TestBusRoundTrip carries events through the whole contract and bus: record →
// CloudEvent → NATS binary message → bus.Publish (PubAck) → JetStream → bus.Consume →
// CloudEvent → record, and checks that attributes and record come back equal. A second
// publish of the same event id is stored once.
func TestBusRoundTrip(t *testing.T) {
	srv := natstest.RunJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	b, err := bus.New(srv.JetStream(), bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureStream(ctx, bus.EventsStreamSpec()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureStream(ctx, bus.DLQStreamSpec()); err != nil {
		t.Fatal(err)
	}
	filter, err := subject.Bucket("photos.2024")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureConsumer(ctx, bus.ConsumerSpec{
		Stream:         bus.EventsStreamName,
		Durable:        "roundtrip",
		FilterSubjects: []string{filter},
	}); err != nil {
		t.Fatal(err)
	}

	keys := []string{"cat.jpg", "dir/sub dir/ü+100%.png", " spaced \n key "}
	sent := map[string]event.Event{}
	for i, key := range keys {
		rec := events.Record{
			EventName: events.ObjectCreatedPut,
			AWSRegion: "us-east-1",
			EventTime: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
			S3: events.S3Entity{
				Bucket: events.BucketEntity{Name: "photos.2024"},
				Object: events.ObjectEntity{Size: int64(100 + i), ETag: "etag", VersionID: "v1", Sequencer: "000000000000000A"},
			},
			Sluice: &events.SluiceData{Location: "local", ContentType: "image/png", UserMetadata: map[string]string{"k": "v"}},
		}
		rec.SetObjectKey(key)
		rec = rec.WithDefaults()
		id := "evt-" + key
		ce, err := events.ToCloudEvent(id, rec)
		if err != nil {
			t.Fatal(err)
		}
		subj, err := subject.ForEvent(rec.S3.Bucket.Name, string(rec.EventName))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second publish is a duplicate
			msg, err := events.NewNATSMsg(subj, ce)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Publish(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
		sent[id] = ce
	}
	info, err := srv.JetStream().Stream(ctx, bus.EventsStreamName)
	if err != nil {
		t.Fatal(err)
	}
	si, err := info.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if si.State.Msgs != uint64(len(keys)) {
		t.Fatalf("stream holds %d messages, want %d (duplicates must be stored once)", si.State.Msgs, len(keys))
	}

	got := make(chan event.Event, len(keys)*2)
	loop, err := b.Consume(ctx, bus.ConsumeSpec{
		Stream:   bus.EventsStreamName,
		Consumer: "roundtrip",
		Handler: func(_ context.Context, m *bus.Message) error {
			ce, err := events.EventFromNATS(m.Headers, m.Data)
			if err != nil {
				return bus.Permanent(err)
			}
			got <- ce
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Stop()

	for range keys {
		var ce event.Event
		select {
		case ce = <-got:
		case <-ctx.Done():
			t.Fatal("timed out waiting for events")
		}
		want, ok := sent[ce.ID()]
		if !ok {
			t.Fatalf("unexpected event id %q", ce.ID())
		}
		for _, pair := range [][2]string{
			{ce.Type(), want.Type()}, {ce.Source(), want.Source()}, {ce.Subject(), want.Subject()},
			{ce.SpecVersion(), want.SpecVersion()}, {ce.DataContentType(), want.DataContentType()},
		} {
			if pair[0] != pair[1] {
				t.Errorf("attribute %q, want %q", pair[0], pair[1])
			}
		}
		if !ce.Time().Equal(want.Time()) {
			t.Errorf("time %v, want %v", ce.Time(), want.Time())
		}
		for _, ext := range []string{events.ExtSequencer, events.ExtVersionID, events.ExtLocation} {
			if ce.Extensions()[ext] != want.Extensions()[ext] {
				t.Errorf("extension %s = %v, want %v", ext, ce.Extensions()[ext], want.Extensions()[ext])
			}
		}
		gotRec, err := events.RecordFromCloudEvent(ce)
		if err != nil {
			t.Fatal(err)
		}
		wantRec, err := events.RecordFromCloudEvent(want)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(gotRec)
		w, _ := json.Marshal(wantRec)
		if string(g) != string(w) {
			t.Errorf("record changed in transit:\n got %s\nwant %s", g, w)
		}
		if k, _ := gotRec.ObjectKey(); ce.Subject() != k {
			t.Errorf("subject %q, record key %q", ce.Subject(), k)
		}
	}
	select {
	case ce := <-got:
		t.Fatalf("extra delivery of %s", ce.ID())
	case <-time.After(200 * time.Millisecond):
	}
}
