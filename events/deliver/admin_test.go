package deliver_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/admin"
)

// mux records routes mounted through admin.Mount.
type mux struct{ *http.ServeMux }

func (m mux) Handle(pattern string, h http.Handler) error {
	m.ServeMux.Handle(pattern, h)
	return nil
}

// TestAdminAPI drives every route through the client and checks the
// error answers.
func TestAdminAPI(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, nil)
	tc := deliver.TargetConfig{Name: "hook", Kind: deliver.KindWebhook, URL: r.url(), Backoff: fastBackoff}
	idle := deliver.TargetConfig{Name: "idle", Kind: deliver.KindWebhook, URL: r.url()}
	d, _ := e.startDeliverer(t, deliver.Config{Targets: []deliver.TargetConfig{tc}}, runOpts{})
	m := mux{http.NewServeMux()}
	if err := admin.Mount(m, d, nil); err != nil {
		t.Fatalf("Mount: %v", err)
	}
	api := httptest.NewServer(m)
	t.Cleanup(api.Close)
	c := adminClient(t, api.URL)
	ctx := testCtx(t)

	sts, err := c.Targets(ctx)
	if err != nil || len(sts) != 1 || sts[0].Name != "hook" || !sts[0].ConsumerExists || sts[0].ARN != "arn:sluice:webhook::hook" {
		t.Fatalf("Targets = %+v, %v", sts, err)
	}
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	if st, err := c.Pause(ctx, "hook", until); err != nil || !st.Paused || st.PausedUntil == nil || !st.PausedUntil.Equal(until) {
		t.Fatalf("Pause = %+v, %v", st, err)
	}
	if st, err := c.Resume(ctx, "hook"); err != nil || st.Paused {
		t.Fatalf("Resume = %+v, %v", st, err)
	}
	id, err := c.SendTestEvent(ctx, "hook", "some-bucket")
	if err != nil || id == "" {
		t.Fatalf("SendTestEvent = %q, %v", id, err)
	}
	r.waitAccepted(t, []string{id}, 20*time.Second)
	if got := r.requests()[0].header.Get("Ce-Type"); got != events.Type(events.TestEvent) {
		t.Fatalf("test event type %q", got)
	}
	if dls, err := c.DeadLetters(ctx, "hook", 5); err != nil || len(dls) != 0 {
		t.Fatalf("DeadLetters = %+v, %v", dls, err)
	}
	if n, err := c.RedriveAll(ctx, "hook"); err != nil || n != 0 {
		t.Fatalf("RedriveAll = %d, %v", n, err)
	}

	for _, tt := range []struct {
		name string
		call func() error
		want error
	}{
		{"unknown target status", func() error { _, err := c.Status(ctx, "nope"); return err }, admin.ErrNotFound},
		{"unknown target pause", func() error { _, err := c.Pause(ctx, "nope", time.Time{}); return err }, admin.ErrNotFound},
		{"unknown dead letter", func() error { _, err := c.Redrive(ctx, "hook", []uint64{999}); return err }, admin.ErrNotFound},
		{"no bucket", func() error { _, err := c.SendTestEvent(ctx, "hook", ""); return err }, admin.ErrBadRequest},
	} {
		if err := tt.call(); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/admin/events/targets/hook/redrive", `{}`, http.StatusBadRequest},
		{"POST", "/admin/events/targets/hook/redrive", `{"seqs":[1],"all":true}`, http.StatusBadRequest},
		{"POST", "/admin/events/targets/hook/redrive", `{"bogus":1}`, http.StatusBadRequest},
		{"POST", "/admin/events/targets/hook/redrive", `not json`, http.StatusBadRequest},
		{"GET", "/admin/events/targets/hook/dead-letters?limit=-1", ``, http.StatusBadRequest},
		{"POST", "/admin/events/targets/hook/pause?until=tomorrow", ``, http.StatusBadRequest},
		{"GET", "/admin/events/targets/hook/pause", ``, http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequestWithContext(ctx, tt.method, api.URL+tt.path, strings.NewReader(tt.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d %s, want %d", tt.method, tt.path, resp.StatusCode, b, tt.want)
		}
	}

	// A target whose consumer does not exist yet: status says so, pause
	// answers 404.
	d2, err := deliver.New(deliver.Config{Targets: []deliver.TargetConfig{idle}}, deliver.Settings{Bus: e.bus})
	if err != nil {
		t.Fatal(err)
	}
	api2 := httptest.NewServer(admin.NewHandler(d2, nil))
	t.Cleanup(api2.Close)
	c2 := adminClient(t, api2.URL)
	if st, err := c2.Status(ctx, "idle"); err != nil || st.ConsumerExists {
		t.Fatalf("Status of a target never run = %+v, %v", st, err)
	}
	if _, err := c2.Pause(ctx, "idle", time.Time{}); !errors.Is(err, admin.ErrNotFound) {
		t.Fatalf("Pause without consumer: %v", err)
	}
	if _, err := admin.NewClient("ftp://x", nil); err == nil {
		t.Fatal("NewClient accepted ftp")
	}
}
