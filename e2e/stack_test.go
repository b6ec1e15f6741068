package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-io/sluice/e2e/stack"
)

// TestSplitProcesses runs s3front (embedding NATS) and the events target as two
// processes sharing that NATS, kills the second and starts it again.
func TestSplitProcesses(t *testing.T) {
	skipShort(t)
	bin := sluiceBin.get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	front := stack.New(stack.Config{Bin: bin, Dir: t.TempDir(), Target: "s3front"})
	if err := front.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = front.Stop(context.Background()) })
	if front.Endpoint == "" || front.NATSURL == "" {
		t.Fatalf("s3front banner: endpoint %q, NATS %q", front.Endpoint, front.NATSURL)
	}
	ev := stack.New(stack.Config{Bin: bin, Dir: t.TempDir(), Target: "events", NATSURL: front.NATSURL,
		AccessKey: front.AccessKey, SecretKey: front.SecretKey})
	if err := ev.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ev.Stop(context.Background()) })
	if ev.Endpoint != "" || ev.NATSURL != front.NATSURL {
		t.Fatalf("events process: endpoint %q, NATS %q (want none, %q)", ev.Endpoint, ev.NATSURL, front.NATSURL)
	}
	ev.Kill()
	if ev.Running() {
		t.Fatal("events process still running after Kill")
	}
	if err := ev.Start(ctx); err != nil {
		t.Fatalf("restart events process: %v", err)
	}
	if err := ev.Stop(ctx); err != nil {
		t.Fatalf("stop events process: %v", err)
	}
}
