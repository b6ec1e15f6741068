package notifications_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/notifications"
	"github.com/sluice-io/sluice/events/filter"
	"github.com/sluice-io/sluice/events/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func open(t testing.TB) (*notifications.Store, *natstest.Server) {
	t.Helper()
	srv := natstest.RunJetStream(t)
	s, err := notifications.Open(testCtx(t), srv.JetStream(), notifications.Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, srv
}

func sub(bucket, id, arn string, prefix string) deliver.Subscription {
	r := filter.Rule{ID: id, Events: []string{"s3:ObjectCreated:*"},
		Tags: []filter.FilterRule{{Name: "team", Value: "a"}}, Metadata: []filter.FilterRule{{Name: "camera", Value: "x"}}}
	if prefix != "" {
		r.Key = []filter.FilterRule{{Name: "prefix", Value: prefix}}
	}
	return deliver.Subscription{Bucket: bucket, ID: id, TargetARN: arn, Rule: r}
}

func TestPutGetDelete(t *testing.T) {
	s, srv := open(t)
	ctx := testCtx(t)
	if err := s.Sync(ctx, nil); err != nil {
		t.Fatalf("Sync of an empty store: %v", err)
	}
	a := sub("photos.2024", "a", "arn:sluice:webhook::one", "img/")
	b := sub("photos.2024", "b", "arn:sluice:function::two", "doc/")
	tests := []struct {
		name      string
		subs      []deliver.Subscription
		wantAdded []string
	}{
		{"first", []deliver.Subscription{a}, []string{"arn:sluice:webhook::one"}},
		{"same again", []deliver.Subscription{a}, nil},
		{"one more target", []deliver.Subscription{a, b}, []string{"arn:sluice:function::two"}},
		{"drop one", []deliver.Subscription{b}, nil},
		{"back", []deliver.Subscription{a, b}, []string{"arn:sluice:webhook::one"}},
	}
	for _, tt := range tests {
		added, rev, err := s.Put(ctx, "photos.2024", tt.subs)
		if err != nil || rev == 0 {
			t.Fatalf("%s: Put = %v, rev %d", tt.name, err, rev)
		}
		if !slices.Equal(added, tt.wantAdded) {
			t.Errorf("%s: added %v, want %v", tt.name, added, tt.wantAdded)
		}
		got, err := s.Get(ctx, "photos.2024")
		if err != nil {
			t.Fatalf("%s: Get: %v", tt.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.subs) {
			t.Errorf("%s: Get = %+v, want %+v", tt.name, got, tt.subs)
		}
	}
	if err := s.Delete(ctx, "photos.2024"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, err := s.Get(ctx, "photos.2024"); err != nil || len(got) != 0 {
		t.Fatalf("after Delete: %+v, %v", got, err)
	}
	if err := s.Delete(ctx, "never"); err != nil {
		t.Fatalf("Delete of a missing bucket: %v", err)
	}
	// Invalid input is refused before anything is written.
	if _, _, err := s.Put(ctx, "x", []deliver.Subscription{sub("y", "a", "arn:sluice:webhook::one", "")}); !errors.Is(err, deliver.ErrInvalidSubscription) {
		t.Fatalf("Put of another bucket's subscription: %v", err)
	}
	if _, _, err := s.Put(ctx, "x", []deliver.Subscription{sub("x", "a", "arn:aws:sqs:::q", "")}); !errors.Is(err, deliver.ErrInvalidARN) {
		t.Fatalf("Put with a foreign ARN: %v", err)
	}
	// A second Open finds the bucket.
	if _, err := notifications.Open(ctx, srv.JetStream(), notifications.Options{}); err != nil {
		t.Fatalf("second Open: %v", err)
	}
}

func TestConcurrentPutsAllLand(t *testing.T) {
	s, _ := open(t)
	ctx := testCtx(t)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, _, err := s.Put(ctx, "race", []deliver.Subscription{sub("race", fmt.Sprint(i), "arn:sluice:webhook::one", "")})
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if got, err := s.Get(ctx, "race"); err != nil || len(got) != 1 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

func TestWatchAndSync(t *testing.T) {
	s, _ := open(t)
	ctx := testCtx(t)
	if _, _, err := s.Put(ctx, "before", []deliver.Subscription{sub("before", "a", "arn:sluice:webhook::one", "")}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	ch, err := s.Watch(wctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	next := func(want ...string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		var last []deliver.Subscription
		for {
			select {
			case subs := <-ch:
				last = subs
				var buckets []string
				for _, x := range subs {
					buckets = append(buckets, x.Bucket)
				}
				if slices.Equal(buckets, want) {
					return
				}
			case <-deadline:
				t.Fatalf("watch: last set %+v, want buckets %v", last, want)
			}
		}
	}
	next("before")
	if _, _, err := s.Put(ctx, "after", []deliver.Subscription{sub("after", "b", "arn:sluice:webhook::one", "")}); err != nil {
		t.Fatal(err)
	}
	next("after", "before")
	if err := s.Sync(ctx, map[string][]deliver.Subscription{
		"synced": {sub("synced", "c", "arn:sluice:nats::a.b", "")},
	}); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	next("synced")
	cancel()
	for range ch { // closed once ctx ends
	}
}

func TestDecode(t *testing.T) {
	good, err := notifications.Encode("b", []deliver.Subscription{sub("b", "a", "arn:sluice:webhook::one", "p/")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"encoded", string(good), true},
		{"empty list", `{"bucket":"b","subscriptions":[]}`, true},
		{"not json", `{`, false},
		{"no bucket", `{"subscriptions":[]}`, false},
		{"bad arn", `{"bucket":"b","subscriptions":[{"target":"x","events":["s3:ObjectCreated:*"]}]}`, false},
		{"bad event", `{"bucket":"b","subscriptions":[{"target":"arn:sluice:webhook::a","events":["s3:Nope"]}]}`, false},
	}
	for _, tt := range tests {
		_, _, err := notifications.Decode([]byte(tt.in))
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, notifications.ErrInvalidDocument)) {
			t.Errorf("%s: Decode = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := notifications.Encode("b", []deliver.Subscription{sub("b", "a", "arn:sluice:webhook::one", "p/")})
	for _, s := range []string{string(good), `{"bucket":"b","subscriptions":[]}`, `{`, `{"subscriptions":[]}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		bucket, subs, err := notifications.Decode(b)
		if err != nil {
			return
		}
		again, err := notifications.Encode(bucket, subs)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		b2, subs2, err := notifications.Decode(again)
		if err != nil || b2 != bucket || fmt.Sprint(subs2) != fmt.Sprint(subs) {
			t.Fatalf("round trip changed %q %+v into %q %+v (%v)", bucket, subs, b2, subs2, err)
		}
	})
}
