package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/notifybench"
	"github.com/sluice-io/sluice/e2e/stack"
)

// TestNotifyTargetDownWritesGoOn: with `sluice run all` and a webhook target that is
// down (first its listener is closed, then it answers 503), 5,000 objects are written
// through the S3 API with aws-sdk-go-v2 and every PUT succeeds; when the target is back
// all 5,000 events arrive, none dead-lettered. Nothing blocks the S3 path: the test
// logs PUT latency p50/p99 with the target down and with it up, and asserts counts
// only, never timings.
func TestNotifyTargetDownWritesGoOn(t *testing.T) {
	skipShort(t)
	const (
		bucket   = "notify-down"
		objects  = 5000
		upPUTs   = 2000
		workers  = 16
		deadline = 90 * time.Second
	)
	bin := sluiceBin.get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	fx := newNotifyFixture(t, func(tg *notifybench.Target) {
		tg.BackoffInitial, tg.BackoffMax = 100*time.Millisecond, time.Second
	})
	s := startProcess(t, ctx, stack.Config{Bin: bin, Dir: t.TempDir(), Env: fx.env})
	client, closeClient := load.NewClient(load.Config{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey,
		Region: s.Region, Concurrency: workers})
	t.Cleanup(closeClient)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	if err := notifybench.Subscribe(ctx, client, bucket, fx.target); err != nil {
		t.Fatalf("subscribe: %v", err)
	}

	write := func(prefix string, n int) notifybench.GenResult {
		t.Helper()
		g, err := notifybench.Generate(ctx, notifybench.GenConfig{Client: client, Bucket: bucket, KeyPrefix: prefix,
			Count: n, Concurrency: workers})
		if err != nil {
			t.Fatal(err)
		}
		if g.Failed != 0 {
			t.Fatalf("%d of %d PUTs failed: %v", g.Failed, n, g.FirstErr())
		}
		return g
	}

	// Target up: the reference, with deliveries running alongside the writes.
	up := write("up/", upPUTs)
	waitDelivered(t, fx.recv, up.Keys(), deadline)

	// Target down: connections refused for the first half, 503 for the second.
	if err := fx.recv.Close(); err != nil {
		t.Fatal(err)
	}
	refused := write("down/refused/", objects/2)
	fx.recv.SetMode(notifybench.Unavailable)
	if err := fx.recv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	unavailable := write("down/503/", objects-objects/2)
	if got := fx.recv.Missing(refused.Keys()); len(got) != len(refused.Keys()) {
		t.Fatalf("%d events delivered while the target was down", len(refused.Keys())-len(got))
	}
	ok, dead, backlog := targetStatus(t, ctx, s.HTTPURL, fx.target.Name)
	t.Logf("target down: status read %v, backlog %d, dead letters %d; webhook %+v", ok, backlog, dead, fx.recv.Stats())

	// Back up: the backlog drains by itself.
	back := time.Now()
	fx.recv.SetMode(notifybench.Up)
	down := append(refused.Keys(), unavailable.Keys()...)
	waitDelivered(t, fx.recv, down, deadline)
	drained := time.Since(back)
	waitFor(t, deadline, "an idle target", func() error {
		ok, dead, backlog := targetStatus(t, ctx, s.HTTPURL, fx.target.Name)
		switch {
		case !ok:
			return fmt.Errorf("no status")
		case dead != 0:
			t.Fatalf("%d dead letters", dead)
		case backlog != 0:
			return fmt.Errorf("backlog %d", backlog)
		}
		return nil
	})

	st := fx.recv.Stats()
	if st.BadSignatures != 0 || st.Undecodable != 0 {
		t.Errorf("webhook saw %d bad signatures, %d undecodable bodies", st.BadSignatures, st.Undecodable)
	}
	if want := upPUTs + objects; st.Keys != want {
		t.Errorf("webhook got events for %d keys, want %d", st.Keys, want)
	}
	downLat := append(refused.PutLatencies(), unavailable.PutLatencies()...)
	t.Logf("PUT latency, target up   (%d PUTs, %.0f PUT/s): %s", upPUTs, up.AckRate, notifybench.Summarize(up.PutLatencies()))
	t.Logf("PUT latency, target down (%d PUTs: refused %.0f PUT/s, 503 %.0f PUT/s): %s", objects, refused.AckRate, unavailable.AckRate,
		notifybench.Summarize(downLat))
	t.Logf("  refused: %s", notifybench.Summarize(refused.PutLatencies()))
	t.Logf("  503:     %s", notifybench.Summarize(unavailable.PutLatencies()))
	t.Logf("backlog of %d events delivered %s after the target came back; webhook %+v", objects, drained.Round(time.Millisecond), st)
}
