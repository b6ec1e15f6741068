package bus_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/natstest"
)

func TestEnsureStream(t *testing.T) {
	srv := natstest.RunJetStream(t)
	b := newBus(t, srv.JetStream())
	ctx := testCtx(t)

	events := bus.EventsStreamSpec()
	longer := events
	longer.MaxAge = 14 * 24 * time.Hour
	moreSubjects := longer
	moreSubjects.Subjects = append(slices.Clone(longer.Subjects), "sluice.extra.>")
	reordered := moreSubjects
	reordered.Subjects = slices.Clone(moreSubjects.Subjects)
	slices.Reverse(reordered.Subjects)

	steps := []struct {
		name string
		spec bus.StreamSpec
		want bus.EnsureResult
	}{
		{"create", events, bus.Created},
		{"same again", events, bus.Unchanged},
		{"longer max age", longer, bus.Updated},
		{"longer max age again", longer, bus.Unchanged},
		{"one more subject", moreSubjects, bus.Updated},
		{"subjects in another order", reordered, bus.Unchanged},
		{"dlq create", bus.DLQStreamSpec(), bus.Created},
		{"dlq again", bus.DLQStreamSpec(), bus.Unchanged},
	}
	for _, st := range steps {
		got, err := b.EnsureStream(ctx, st.spec)
		if err != nil {
			t.Fatalf("%s: EnsureStream: %v", st.name, err)
		}
		if got != st.want {
			t.Fatalf("%s: EnsureStream = %v, want %v", st.name, got, st.want)
		}
	}

	s, err := srv.JetStream().Stream(ctx, bus.EventsStreamName)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.MaxAge != longer.MaxAge || cfg.Duplicates != bus.DefaultDuplicates || cfg.Discard != jetstream.DiscardNew ||
		cfg.Storage != jetstream.FileStorage || cfg.Retention != jetstream.LimitsPolicy || len(cfg.Subjects) != 3 {
		t.Fatalf("server config does not match the spec: %+v", cfg)
	}

	// A change the server refuses surfaces as an error.
	mem := longer
	mem.Storage = jetstream.MemoryStorage
	if _, err := b.EnsureStream(ctx, mem); err == nil {
		t.Fatal("changing storage: want an error")
	}
}

func TestStreamSpecValidate(t *testing.T) {
	ok := bus.StreamSpec{Name: "S", Subjects: []string{"s.>"}}
	tests := []struct {
		name   string
		mutate func(*bus.StreamSpec)
		valid  bool
	}{
		{"minimal", func(*bus.StreamSpec) {}, true},
		{"standard events", func(s *bus.StreamSpec) { *s = bus.EventsStreamSpec() }, true},
		{"standard dlq", func(s *bus.StreamSpec) { *s = bus.DLQStreamSpec() }, true},
		{"three replicas", func(s *bus.StreamSpec) { s.Replicas = 3 }, true},
		{"no name", func(s *bus.StreamSpec) { s.Name = "" }, false},
		{"dotted name", func(s *bus.StreamSpec) { s.Name = "a.b" }, false},
		{"no subjects", func(s *bus.StreamSpec) { s.Subjects = nil }, false},
		{"empty subject", func(s *bus.StreamSpec) { s.Subjects = []string{""} }, false},
		{"negative max age", func(s *bus.StreamSpec) { s.MaxAge = -1 }, false},
		{"negative bytes", func(s *bus.StreamSpec) { s.MaxBytes = -5 }, false},
		{"too many replicas", func(s *bus.StreamSpec) { s.Replicas = 7 }, false},
		{"bad retention", func(s *bus.StreamSpec) { s.Retention = 9 }, false},
		{"bad storage", func(s *bus.StreamSpec) { s.Storage = 9 }, false},
		{"duplicates beyond age", func(s *bus.StreamSpec) { s.MaxAge = time.Minute; s.Duplicates = time.Hour }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.mutate(&s)
			err := s.Validate()
			if tc.valid && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tc.valid && !errors.Is(err, bus.ErrInvalidSpec) {
				t.Fatalf("Validate = %v, want ErrInvalidSpec", err)
			}
		})
	}
}

func TestEnsureConsumer(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	spec := bus.ConsumerSpec{
		Stream:         bus.EventsStreamName,
		Durable:        "indexer",
		Description:    "the indexer",
		FilterSubjects: []string{"sluice.events.a.>", "sluice.events.b.>"},
	}
	slower := spec
	slower.AckWait = time.Minute
	oneFilter := slower
	oneFilter.FilterSubjects = []string{"sluice.events.a.>"}

	steps := []struct {
		name string
		spec bus.ConsumerSpec
		want bus.EnsureResult
	}{
		{"create", spec, bus.Created},
		{"same again", spec, bus.Unchanged},
		{"longer ack wait", slower, bus.Updated},
		{"longer ack wait again", slower, bus.Unchanged},
		{"one filter", oneFilter, bus.Updated},
		{"one filter again", oneFilter, bus.Unchanged},
	}
	for _, st := range steps {
		got, err := e.bus.EnsureConsumer(ctx, st.spec)
		if err != nil {
			t.Fatalf("%s: EnsureConsumer: %v", st.name, err)
		}
		if got != st.want {
			t.Fatalf("%s: EnsureConsumer = %v, want %v", st.name, got, st.want)
		}
	}

	c, err := e.srv.JetStream().Consumer(ctx, bus.EventsStreamName, "indexer")
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.CachedInfo().Config
	filters := append(slices.Clone(cfg.FilterSubjects), cfg.FilterSubject)
	if !slices.Contains(filters, "sluice.events.a.>") || !slices.Contains(filters, bus.RedriveSubject("indexer")) ||
		slices.Contains(filters, "sluice.events.b.>") {
		t.Fatalf("filters = %q, want sluice.events.a.> and the redrive subject", filters)
	}
	if cfg.MaxDeliver != -1 || cfg.AckPolicy != jetstream.AckExplicitPolicy || cfg.AckWait != time.Minute {
		t.Fatalf("consumer config = %+v, want MaxDeliver -1, explicit ack, AckWait 1m", cfg)
	}

	// A missing stream is an error, not a panic or a silent success.
	missing := spec
	missing.Stream = "NOPE"
	if _, err := e.bus.EnsureConsumer(ctx, missing); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("EnsureConsumer on a missing stream = %v, want ErrStreamNotFound", err)
	}
}

// TestCreateConsumer creates a missing consumer and leaves an existing one as
// it is, whatever the spec says.
func TestCreateConsumer(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	spec := bus.ConsumerSpec{Stream: bus.EventsStreamName, Durable: "late", NoRedrive: true,
		FilterSubjects: []string{bus.RedriveSubject("late")}}
	if created, err := e.bus.CreateConsumer(ctx, spec); err != nil || !created {
		t.Fatalf("CreateConsumer of a missing consumer = %v, %v", created, err)
	}
	wider := spec
	wider.NoRedrive = false
	wider.FilterSubjects = []string{"sluice.events.a.>"}
	if _, err := e.bus.EnsureConsumer(ctx, wider); err != nil {
		t.Fatal(err)
	}
	if created, err := e.bus.CreateConsumer(ctx, spec); err != nil || created {
		t.Fatalf("CreateConsumer of an existing consumer = %v, %v", created, err)
	}
	c, err := e.srv.JetStream().Consumer(ctx, bus.EventsStreamName, "late")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CachedInfo().Config.FilterSubjects; !slices.Contains(got, "sluice.events.a.>") {
		t.Fatalf("CreateConsumer changed the existing consumer's filters to %v", got)
	}
	if _, err := e.bus.CreateConsumer(ctx, bus.ConsumerSpec{Stream: "NOPE", Durable: "x"}); err == nil {
		t.Fatal("CreateConsumer on a missing stream succeeded")
	}
}

func TestConsumerSpecValidate(t *testing.T) {
	start := time.Now()
	ok := bus.ConsumerSpec{Stream: "S", Durable: "d", FilterSubjects: []string{"s.>"}}
	tests := []struct {
		name   string
		mutate func(*bus.ConsumerSpec)
		valid  bool
	}{
		{"minimal", func(*bus.ConsumerSpec) {}, true},
		{"no filter without redrive", func(c *bus.ConsumerSpec) { c.FilterSubjects = nil; c.NoRedrive = true }, true},
		{"by start seq", func(c *bus.ConsumerSpec) {
			c.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
			c.OptStartSeq = 10
		}, true},
		{"by start time", func(c *bus.ConsumerSpec) {
			c.DeliverPolicy = jetstream.DeliverByStartTimePolicy
			c.OptStartTime = &start
		}, true},
		{"no filter", func(c *bus.ConsumerSpec) { c.FilterSubjects = nil }, false},
		{"redrive filter given", func(c *bus.ConsumerSpec) { c.FilterSubjects = []string{bus.RedriveSubject("d")} }, false},
		{"dotted durable", func(c *bus.ConsumerSpec) { c.Durable = "a.b" }, false},
		{"wildcard durable", func(c *bus.ConsumerSpec) { c.Durable = "a*" }, false},
		{"no stream", func(c *bus.ConsumerSpec) { c.Stream = "" }, false},
		{"empty filter", func(c *bus.ConsumerSpec) { c.FilterSubjects = []string{""} }, false},
		{"negative ack wait", func(c *bus.ConsumerSpec) { c.AckWait = -time.Second }, false},
		{"start seq without policy", func(c *bus.ConsumerSpec) { c.OptStartSeq = 3 }, false},
		{"by start seq without seq", func(c *bus.ConsumerSpec) { c.DeliverPolicy = jetstream.DeliverByStartSequencePolicy }, false},
		{"by start time without time", func(c *bus.ConsumerSpec) { c.DeliverPolicy = jetstream.DeliverByStartTimePolicy }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			err := c.Validate()
			if tc.valid && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tc.valid && !errors.Is(err, bus.ErrInvalidSpec) {
				t.Fatalf("Validate = %v, want ErrInvalidSpec", err)
			}
		})
	}
}
