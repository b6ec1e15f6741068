package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/e2e/notifybench"
	"github.com/sluice-io/sluice/e2e/stack"
	"github.com/sluice-io/sluice/events/deliver/admin"
)

// notifyFixture is a webhook receiver on 127.0.0.1 and the sluice configuration file
// that names it as target "hook" with a random secret.
type notifyFixture struct {
	recv   *notifybench.Receiver
	target notifybench.Target
	// env makes a sluice process read the configuration file.
	env []string
}

// newNotifyFixture starts the receiver and writes the configuration; tune adjusts the
// target before it is written. Both are cleaned up with t.
func newNotifyFixture(t *testing.T, tune func(*notifybench.Target)) *notifyFixture {
	t.Helper()
	var key [16]byte
	_, _ = rand.Read(key[:]) // crypto/rand.Read never fails
	secret := hex.EncodeToString(key[:])
	recv := notifybench.NewReceiver([]byte(secret), nil)
	if err := recv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = recv.Close() })
	target := notifybench.Target{Name: "hook", URL: recv.URL(), Secret: secret}
	if tune != nil {
		tune(&target)
	}
	path := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := notifybench.WriteConfig(path, target); err != nil {
		t.Fatal(err)
	}
	return &notifyFixture{recv: recv, target: target, env: []string{"SLUICE_CONFIG=" + path}}
}

// startProcess starts a sluice process and stops it when t ends, logging its tail
// when t failed.
func startProcess(t *testing.T, ctx context.Context, cfg stack.Config) *stack.Sluice {
	t.Helper()
	s := stack.New(cfg)
	if err := s.Start(ctx); err != nil {
		t.Fatalf("start sluice run %s: %v", cfg.Target, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sluice run %s log tail:\n%s", s.Target, s.LogTail(8192))
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("stop sluice run %s: %v", s.Target, err)
		}
	})
	return s
}

// waitDelivered waits until the receiver accepted an event for every key.
func waitDelivered(t *testing.T, recv *notifybench.Receiver, keys []string, within time.Duration) {
	t.Helper()
	waitFor(t, within, fmt.Sprintf("events for %d keys at the webhook", len(keys)), func() error {
		if m := recv.Missing(keys); len(m) > 0 {
			return fmt.Errorf("%d of %d keys not delivered yet, e.g. %s (%+v)", len(m), len(keys), m[0], recv.Stats())
		}
		return nil
	})
}

// targetStatus reads the target's delivery status from an events process's admin API.
func targetStatus(t *testing.T, ctx context.Context, httpURL, name string) (ok bool, deadLetters uint64, backlog uint64) {
	t.Helper()
	c, err := admin.NewClient(httpURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx, name)
	if err != nil {
		t.Logf("status of %s: %v", name, err)
		return false, 0, 0
	}
	return true, st.DeadLetters, st.Backlog
}
