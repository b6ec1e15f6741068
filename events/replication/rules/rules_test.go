package rules

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-io/sluice/events/natstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).flushStreamStateLoop"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"),
	)
}

func rule(id, dest, prefix string, prio int, tags map[string]string) Rule {
	return Rule{ID: id, Priority: prio, Status: Enabled, Filter: Filter{Prefix: prefix, Tags: tags}, Destination: Destination{Location: dest}}
}

func TestMatchAndFor(t *testing.T) {
	cfg := Config{Bucket: "b", Rules: []Rule{
		rule("all", "aws", "", 1, nil),
		rule("logs", "aws", "logs/", 5, nil),
		rule("pii", "gcs", "", 1, map[string]string{"class": "pii"}),
		{ID: "off", Status: Disabled, Destination: Destination{Location: "azure"}},
	}}
	tests := []struct {
		name, dest, key string
		tags            map[string]string
		wantID          string
		ok              bool
	}{
		{"prefix wins by priority", "aws", "logs/a", nil, "logs", true},
		{"catch-all", "aws", "img/a", nil, "all", true},
		{"tag match", "gcs", "x", map[string]string{"class": "pii"}, "pii", true},
		{"tag mismatch", "gcs", "x", map[string]string{"class": "public"}, "", false},
		{"tag missing", "gcs", "x", nil, "", false},
		{"disabled", "azure", "x", nil, "", false},
		{"unknown destination", "nowhere", "x", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := cfg.For(tc.dest, Object{Key: tc.key, Tags: tc.tags})
			if ok != tc.ok || r.ID != tc.wantID {
				t.Fatalf("For = %q, %v; want %q, %v", r.ID, ok, tc.wantID, tc.ok)
			}
		})
	}
	if got := cfg.Destinations(); len(got) != 2 || got[0] != "aws" || got[1] != "gcs" {
		t.Fatalf("Destinations = %v", got)
	}
	if !cfg.NeedsTags("gcs") || cfg.NeedsTags("aws") || cfg.Targets("azure") {
		t.Fatal("NeedsTags/Targets wrong")
	}
	// ForKey ignores tag filters (a gone object has no tags) but not status.
	for _, tc := range []struct {
		dest, key, wantID string
		ok                bool
	}{
		{"aws", "logs/a", "logs", true},
		{"gcs", "x", "pii", true},
		{"azure", "x", "", false},
	} {
		if r, ok := cfg.ForKey(tc.dest, tc.key); ok != tc.ok || r.ID != tc.wantID {
			t.Errorf("ForKey(%s, %s) = %q, %v; want %q, %v", tc.dest, tc.key, r.ID, ok, tc.wantID, tc.ok)
		}
	}
	marker := rule("m", "aws", "", 1, nil)
	marker.DeleteMarkerReplication = true
	taggedMarker := rule("tm", "aws", "", 1, map[string]string{"k": "v"})
	taggedMarker.DeleteMarkerReplication = true
	if !marker.ReplicatesDeleteMarkers() || taggedMarker.ReplicatesDeleteMarkers() || cfg.Rules[0].ReplicatesDeleteMarkers() {
		t.Error("ReplicatesDeleteMarkers: want true only with DeleteMarkerReplication and no tag filter")
	}
}

var codecCases = []struct {
	name string
	in   string
	err  error
}{
	{"ok", `{"bucket":"b","rules":[{"id":"r","priority":1,"status":"Enabled","filter":{"prefix":"p/","tags":{"k":"v"}},"destination":{"location":"aws","prefix":"x/"},"deleteMarkerReplication":true}]}`, nil},
	{"no bucket", `{"rules":[]}`, ErrInvalidBucket},
	{"bad status", `{"bucket":"b","rules":[{"status":"On","destination":{"location":"aws"}}]}`, ErrInvalidRule},
	{"dotted destination", `{"bucket":"b","rules":[{"status":"Enabled","destination":{"location":"a.b"}}]}`, ErrInvalidRule},
	{"empty destination", `{"bucket":"b","rules":[{"status":"Enabled","destination":{}}]}`, ErrInvalidRule},
	{"duplicate id", `{"bucket":"b","rules":[{"id":"a","status":"Enabled","destination":{"location":"x"}},{"id":"a","status":"Enabled","destination":{"location":"y"}}]}`, ErrInvalidRule},
	{"empty tag key", `{"bucket":"b","rules":[{"status":"Enabled","filter":{"tags":{"":"v"}},"destination":{"location":"x"}}]}`, ErrInvalidRule},
	{"not json", `{`, ErrInvalidRule},
}

func TestCodec(t *testing.T) {
	for _, tc := range codecCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode([]byte(tc.in))
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Decode err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			b, err := Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := Decode(b)
			if err != nil || c2.Rules[0].Destination.Prefix != "x/" || !c2.Rules[0].DeleteMarkerReplication || c2.Rules[0].Filter.Tags["k"] != "v" {
				t.Fatalf("round trip: %+v, %v", c2, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, tc := range codecCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			return
		}
		out, err := Encode(c)
		if err != nil {
			t.Fatalf("decoded config does not encode: %v", err)
		}
		if _, err := Decode(out); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

var keyCases = []string{"photos", "photos.2024", "a-b_c", "x=y", "ünï", "%2E"}

func TestKeyFor(t *testing.T) {
	for _, b := range keyCases {
		k, err := KeyFor(b)
		if err != nil {
			t.Fatal(err)
		}
		back, err := KeyToBucket(k)
		if err != nil || back != b {
			t.Fatalf("%q -> %q -> %q, %v", b, k, back, err)
		}
	}
	if _, err := KeyFor(""); !errors.Is(err, ErrInvalidBucket) {
		t.Fatalf("empty: %v", err)
	}
	for _, bad := range []string{"", "=2", "=zz", "=2e"} {
		if _, err := KeyToBucket(bad); !errors.Is(err, ErrInvalidBucket) {
			t.Fatalf("KeyToBucket(%q) = %v", bad, err)
		}
	}
}

func FuzzKeyFor(f *testing.F) {
	for _, b := range keyCases {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b string) {
		k, err := KeyFor(b)
		if b == "" {
			if err == nil {
				t.Fatal("empty bucket accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '=') {
				t.Fatalf("key %q has %q", k, c)
			}
		}
		if back, err := KeyToBucket(k); err != nil || back != b {
			t.Fatalf("%q -> %q -> %q, %v", b, k, back, err)
		}
	})
}

func TestStorePutGetDeleteWatch(t *testing.T) {
	srv := natstest.RunJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := OpenStore(ctx, srv.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "photos.2024"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing = %v", err)
	}
	if err := st.Put(ctx, "photos.2024", []Rule{{Status: "bad", Destination: Destination{Location: "x"}}}); !errors.Is(err, ErrInvalidRule) {
		t.Fatalf("Put invalid = %v", err)
	}
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	snaps, err := st.Watch(wctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := <-snaps; len(s) != 0 {
		t.Fatalf("initial snapshot %v", s)
	}
	rs := []Rule{rule("r1", "aws", "p/", 1, nil)}
	if err := st.Put(ctx, "photos.2024", rs); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, "photos.2024")
	if err != nil || got.Bucket != "photos.2024" || got.Rules[0].ID != "r1" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	waitSnap(t, snaps, func(s Snapshot) bool { return s["photos.2024"].Bucket == "photos.2024" })
	if err := st.Put(ctx, "photos.2024", nil); err != nil { // empty = delete
		t.Fatal(err)
	}
	waitSnap(t, snaps, func(s Snapshot) bool { _, ok := s["photos.2024"]; return !ok })
	if err := st.Delete(ctx, "photos.2024"); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
	wcancel()
	for range snaps { // drains until the watcher closes the channel
	}
}

func waitSnap(t *testing.T, c <-chan Snapshot, ok func(Snapshot) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s, open := <-c:
			if !open {
				t.Fatal("watch closed")
			}
			if ok(s) {
				return
			}
		case <-deadline:
			t.Fatal("snapshot not seen")
		}
	}
}

func TestStoreSync(t *testing.T) {
	srv := natstest.RunJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := OpenStore(ctx, srv.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	// Sync of an empty bucket into an empty store works.
	if err := st.Sync(ctx, nil); err != nil {
		t.Fatalf("empty Sync: %v", err)
	}
	for _, b := range []string{"gone", "kept"} {
		if err := st.Put(ctx, b, []Rule{rule("old", "aws", "", 1, nil)}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		all     map[string][]Rule
		wantErr error
		want    map[string]string // bucket -> first rule ID; "" = absent
	}{
		{"invalid rule writes nothing", map[string][]Rule{"kept": {{Status: "bad", Destination: Destination{Location: "x"}}}}, ErrInvalidRule,
			map[string]string{"gone": "old", "kept": "old"}},
		{"replace and delete stale", map[string][]Rule{"kept": {rule("new", "gcs", "", 1, nil)}, "added": {rule("a", "aws", "", 1, nil)}, "empty": nil}, nil,
			map[string]string{"gone": "", "kept": "new", "added": "a", "empty": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := st.Sync(ctx, tc.all); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Sync = %v, want %v", err, tc.wantErr)
			}
			for b, id := range tc.want {
				got, err := st.Get(ctx, b)
				if id == "" {
					if !errors.Is(err, ErrNotFound) {
						t.Fatalf("Get %s = %+v, %v; want not found", b, got, err)
					}
					continue
				}
				if err != nil || len(got.Rules) != 1 || got.Rules[0].ID != id {
					t.Fatalf("Get %s = %+v, %v; want rule %s", b, got, err, id)
				}
			}
		})
	}
}
