package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/e2e/notifybench"
	"github.com/sluice-io/sluice/e2e/stack"
)

// TestNotifySIGKILLEventsLosesNothing runs a split deployment: `sluice run s3front`
// (embedding NATS) and `sluice run events` on the same NATS, with a webhook target on
// 127.0.0.1 that verifies every delivery's HMAC signature. Writers PUT new keys
// continuously while the events process is SIGKILLed several times, each time with
// deliveries in flight (the webhook holds them unanswered), and started again. In
// the end every acknowledged PUT's ObjectCreated event reached the webhook at least
// once, correctly signed; repeats are bounded by what was in flight at the kills.
func TestNotifySIGKILLEventsLosesNothing(t *testing.T) {
	skipShort(t)
	const (
		bucket      = "notify-kill"
		writers     = 4
		kills       = 4
		perRound    = 150 // acknowledged PUTs between kills
		downPUTs    = 50  // acknowledged PUTs while the events process is dead
		concurrency = 8
		deadline    = 60 * time.Second
	)
	bin := sluiceBin.get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	fx := newNotifyFixture(t, func(tg *notifybench.Target) {
		tg.Concurrency = concurrency
		tg.AckWait = 2 * time.Second // what a killed process held comes back after 2s
		tg.BackoffInitial, tg.BackoffMax = 50*time.Millisecond, 500*time.Millisecond
	})
	front := startProcess(t, ctx, stack.Config{Bin: bin, Dir: t.TempDir(), Target: "s3front", Env: fx.env})
	ev := startProcess(t, ctx, stack.Config{Bin: bin, Dir: t.TempDir(), Target: "events", NATSURL: front.NATSURL,
		AccessKey: front.AccessKey, SecretKey: front.SecretKey, Env: fx.env})

	client, closeClient := newS3Client(front)
	t.Cleanup(closeClient)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	if err := notifybench.Subscribe(ctx, client, bucket, fx.target); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	waitFor(t, deadline, "the s3:TestEvent", func() error {
		if n := fx.recv.TestEvents(bucket); n != 1 {
			return fmt.Errorf("%d test events", n)
		}
		return nil
	})

	log := &putLog{attempted: map[string]bool{}, acked: map[string]ackedPut{}}
	wrCtx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() { writeUntilDone(wrCtx, client, bucket, w, 512, log) })
	}
	t.Cleanup(func() { stopWriters(); wg.Wait() })
	waitAcked := func(n int) {
		t.Helper()
		waitFor(t, deadline, fmt.Sprintf("%d acknowledged PUTs", n), func() error {
			if got := log.ackedCount(); got < n {
				return fmt.Errorf("%d acknowledged", got)
			}
			return nil
		})
	}

	inFlightAtKills := 0
	for round := 1; round <= kills; round++ {
		waitAcked(round * perRound)
		// Hold the webhook's answers until deliveries are in flight, so the kill
		// surely lands between receipt and acknowledgement.
		fx.recv.Hold()
		waitFor(t, deadline, "deliveries in flight", func() error {
			if n := fx.recv.InFlight(); n == 0 {
				return fmt.Errorf("none in flight (%+v)", fx.recv.Stats())
			}
			return nil
		})
		n := fx.recv.InFlight()
		inFlightAtKills += n
		ev.Kill()
		fx.recv.Release()
		acked := log.ackedCount()
		t.Logf("round %d: SIGKILL of the events process with %d deliveries in flight, after %d acknowledged PUTs (%+v)",
			round, n, acked, fx.recv.Stats())
		waitAcked(acked + downPUTs) // a backlog builds up while it is dead
		if err := ev.Start(ctx); err != nil {
			t.Fatalf("restart %d: %v", round, err)
		}
	}
	waitAcked((kills + 1) * perRound)
	stopWriters()
	wg.Wait()

	log.mu.Lock()
	keys := make([]string, 0, len(log.acked))
	for k := range log.acked {
		keys = append(keys, k)
	}
	attempted, failed := len(log.attempted), log.failed
	log.mu.Unlock()
	slices.Sort(keys)
	waitDelivered(t, fx.recv, keys, deadline)
	waitFor(t, deadline, "an idle target", func() error {
		ok, dead, backlog := targetStatus(t, ctx, ev.HTTPURL, fx.target.Name)
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
	objects := listObjects(t, ctx, client, bucket)
	t.Logf("%d PUTs attempted, %d acknowledged, %d failed; %d objects; webhook: %+v; %d deliveries were in flight at the %d kills",
		attempted, len(keys), failed, len(objects), st, inFlightAtKills, kills)
	if st.BadSignatures != 0 || st.Undecodable != 0 || st.Refused != 0 {
		t.Errorf("webhook saw %d bad signatures, %d undecodable bodies, %d refusals", st.BadSignatures, st.Undecodable, st.Refused)
	}
	if st.Keys != len(objects) {
		t.Errorf("webhook got events for %d keys; the bucket holds %d objects", st.Keys, len(objects))
	}
	if n := fx.recv.TestEvents(bucket); n != 1 {
		t.Errorf("%d test events, want 1", n)
	}
	// A repeat is an event received but not acknowledged when its process died: one
	// of those held in flight, or one answered just before the kill. Each kill can
	// leave at most the target's concurrency plus the loop's prefetch unacknowledged.
	if limit := kills * 2 * concurrency; st.Duplicates > limit {
		t.Errorf("%d repeated deliveries; at most %d can be explained by the kills", st.Duplicates, limit)
	}
}
