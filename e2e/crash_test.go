package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/e2e/stack"
	"github.com/sluice-io/sluice/events"
)

// eventsStream is the JetStream stream Sluice publishes object events to.
const eventsStream = "SLUICE_EVENTS"

// ackedPut is a PUT whose 200 response the client received.
type ackedPut struct {
	etag string
	size int64
}

// putLog records what the writers attempted and what Sluice acknowledged.
type putLog struct {
	mu        sync.Mutex
	attempted map[string]bool
	acked     map[string]ackedPut
	failed    int
}

func (l *putLog) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// TestSIGKILLKeepsEveryEventOnce is the outbox guarantee with a real crash: writers PUT
// new keys continuously while the sluice process is SIGKILLed and restarted on the same
// data directory (and so the same embedded NATS store), several times. Nothing
// consumes events meanwhile. After the outbox drains, the whole SLUICE_EVENTS stream
// must hold exactly one ObjectCreated event for every object in the bucket — in
// particular for every PUT the client saw acknowledged — with the object's ETag and
// size, no event for an object that does not exist, and no event id and no (bucket,
// key, sequencer) twice.
func TestSIGKILLKeepsEveryEventOnce(t *testing.T) {
	skipShort(t)
	const (
		bucket    = "crash"
		writers   = 6
		kills     = 5
		perRound  = 100 // acknowledged PUTs to wait for before each kill
		deadline  = 90 * time.Second
		bodyBytes = 1500
	)
	bin := sluiceBin.get(t)
	s := stack.New(stack.Config{Bin: bin, Dir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sluice log tail:\n%s", s.LogTail(8192))
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("stop sluice: %v", err)
		}
	})

	client, closeClient := newS3Client(s)
	t.Cleanup(closeClient)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}

	log := &putLog{attempted: map[string]bool{}, acked: map[string]ackedPut{}}
	wctx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() { writeUntilDone(wctx, client, bucket, w, bodyBytes, log) })
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
	for round := 1; round <= kills; round++ {
		waitAcked(round * perRound)
		// In even rounds the stream refuses new messages for a while (a message limit
		// at its current size; it is DiscardNew), so the outbox fills up and the kill
		// surely lands between commit and publish. The restart re-applies the stream's
		// spec, and limitStream lifts the limit again in any case.
		if round%2 == 0 {
			limitStream(t, ctx, s.NATSURL, true)
			waitFor(t, deadline, "a backlog in the outbox", func() error {
				n, err := s.Metric(ctx, "sluice_outbox_pending_events")
				if err == nil && n < 20 {
					err = fmt.Errorf("%v events pending", n)
				}
				return err
			})
		}
		// For the log only: what this process published, re-published after the
		// previous crash, and left in the outbox, just before it dies.
		published, _ := s.Metric(ctx, "sluice_outbox_published_total")
		dups, _ := s.Metric(ctx, "sluice_outbox_duplicates_total")
		pending, _ := s.Metric(ctx, "sluice_outbox_pending_events")
		s.Kill()
		t.Logf("round %d: SIGKILL after %d acknowledged PUTs (this process: %v published, %v duplicates, %v pending)",
			round, log.ackedCount(), published, dups, pending)
		if err := s.Start(ctx); err != nil {
			t.Fatalf("restart %d: %v", round, err)
		}
		limitStream(t, ctx, s.NATSURL, false)
	}
	waitAcked((kills + 1) * perRound)
	stopWriters()
	wg.Wait()

	// Drain: the outbox is empty once every committed event has a PubAck.
	waitFor(t, deadline, "an empty outbox", func() error {
		n, err := s.Metric(ctx, "sluice_outbox_pending_events")
		if err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%v events pending", n)
		}
		return nil
	})

	objects := listObjects(t, ctx, client, bucket)
	evs := readEvents(t, ctx, s.NATSURL)
	log.mu.Lock()
	defer log.mu.Unlock()
	t.Logf("%d PUTs attempted, %d acknowledged, %d failed; %d objects; %d events in the stream",
		len(log.attempted), len(log.acked), log.failed, len(objects), len(evs))

	ids := map[string]bool{}
	seqs := map[string]bool{}
	created := map[string]events.Record{}
	for _, e := range evs {
		if ids[e.id] {
			t.Errorf("event id %s appears twice", e.id)
		}
		ids[e.id] = true
		key, err := e.rec.ObjectKey()
		if err != nil {
			t.Errorf("event %s: %v", e.id, err)
			continue
		}
		bks := e.rec.Bucket() + "\x00" + key + "\x00" + e.rec.S3.Object.Sequencer
		if seqs[bks] {
			t.Errorf("(bucket %s, key %s, sequencer %s) appears twice", e.rec.Bucket(), key, e.rec.S3.Object.Sequencer)
		}
		seqs[bks] = true
		if e.rec.Bucket() != bucket || !strings.HasPrefix(string(e.rec.EventName), "ObjectCreated:") {
			continue
		}
		if !log.attempted[key] {
			t.Errorf("event %s for key %q that no writer attempted", e.id, key)
		}
		if _, dup := created[key]; dup {
			t.Errorf("key %q has two ObjectCreated events; each key was written once", key)
		}
		created[key] = e.rec
	}
	for key, put := range log.acked {
		rec, ok := created[key]
		switch {
		case !ok:
			t.Errorf("acknowledged PUT of %q (ETag %s) has no ObjectCreated event", key, put.etag)
		case trimETag(rec.S3.Object.ETag) != trimETag(put.etag) || rec.S3.Object.Size != put.size:
			t.Errorf("event for %q: ETag %s size %d; the PUT answered ETag %s size %d",
				key, rec.S3.Object.ETag, rec.S3.Object.Size, put.etag, put.size)
		}
	}
	// The outbox commits with the metadata: an object exists if and only if its event
	// was published, including PUTs whose response the crash swallowed.
	for key, etag := range objects {
		rec, ok := created[key]
		if !ok {
			t.Errorf("object %q exists but has no ObjectCreated event", key)
		} else if trimETag(rec.S3.Object.ETag) != trimETag(etag) {
			t.Errorf("object %q: ETag %s, its event says %s", key, etag, rec.S3.Object.ETag)
		}
	}
	for key := range created {
		if _, ok := objects[key]; !ok {
			t.Errorf("ObjectCreated event for %q, which does not exist", key)
		}
	}
	for key := range log.acked {
		if _, ok := objects[key]; !ok {
			t.Errorf("acknowledged PUT of %q was lost", key)
		}
	}
}

// writeUntilDone PUTs new keys w<N>/<seq> until ctx ends, recording every attempt and
// every acknowledgment. The client does not retry, so a key is written at most once;
// while the server is down the writer backs off briefly between attempts.
func writeUntilDone(ctx context.Context, client *s3.Client, bucket string, w, size int, log *putLog) {
	body := bytes.Repeat([]byte{byte('a' + w)}, size)
	for n := 0; ctx.Err() == nil; n++ {
		key := fmt.Sprintf("w%d/%06d", w, n)
		log.mu.Lock()
		log.attempted[key] = true
		log.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, err := client.PutObject(rctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
			ContentLength: aws.Int64(int64(size)),
		})
		cancel()
		log.mu.Lock()
		if err == nil {
			log.acked[key] = ackedPut{etag: aws.ToString(out.ETag), size: int64(size)}
		} else {
			log.failed++
		}
		log.mu.Unlock()
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// newS3Client returns an aws-sdk-go-v2 client for s that never retries, and a function
// that closes its idle connections.
func newS3Client(s *stack.Sluice) (*s3.Client, func()) {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		UsePathStyle: true,
		HTTPClient:   &http.Client{Transport: tr},
		Retryer:      aws.NopRetryer{},
	})
	return client, tr.CloseIdleConnections
}

// listObjects returns key → ETag for every object in bucket.
func listObjects(t *testing.T, ctx context.Context, client *s3.Client, bucket string) map[string]string {
	t.Helper()
	objects := map[string]string{}
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			objects[aws.ToString(o.Key)] = aws.ToString(o.ETag)
		}
	}
	return objects
}

// limitStream caps the events stream at the number of messages it holds, so that it
// refuses new ones, or lifts every message limit.
func limitStream(t *testing.T, ctx context.Context, natsURL string, limit bool) {
	t.Helper()
	nc, err := nats.Connect(natsURL, nats.Name("e2e-crash-test"))
	if err != nil {
		t.Fatalf("connect %s: %v", natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, eventsStream)
	if err != nil {
		t.Fatalf("stream %s: %v", eventsStream, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := info.Config
	cfg.MaxMsgs = -1
	if limit {
		cfg.MaxMsgs = int64(info.State.Msgs)
	}
	if cfg.MaxMsgs == info.Config.MaxMsgs {
		return
	}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("set MaxMsgs of %s to %d: %v", eventsStream, cfg.MaxMsgs, err)
	}
}

// streamEvent is one decoded message of the events stream.
type streamEvent struct {
	id  string
	rec events.Record
}

// readEvents reads the whole events stream with an ordered consumer and decodes every
// message; a message that does not decode fails t.
func readEvents(t *testing.T, ctx context.Context, natsURL string) []streamEvent {
	t.Helper()
	nc, err := nats.Connect(natsURL, nats.Name("e2e-crash-test"))
	if err != nil {
		t.Fatalf("connect %s: %v", natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, eventsStream)
	if err != nil {
		t.Fatalf("stream %s: %v", eventsStream, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := info.State.Msgs
	cons, err := js.OrderedConsumer(ctx, eventsStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []streamEvent
	for read := uint64(0); read < total; {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			read++
			e, err := events.EventFromNATS(m.Headers(), m.Data())
			if err != nil {
				t.Errorf("message on %s: %v", m.Subject(), err)
				continue
			}
			rec, err := events.RecordFromCloudEvent(e)
			if err != nil {
				t.Errorf("event %s: %v", e.ID(), err)
				continue
			}
			out = append(out, streamEvent{id: e.ID(), rec: rec})
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			t.Fatalf("fetch: %v", err)
		}
		if n == 0 {
			t.Fatalf("read %d of the %d messages in %s, then nothing more", read, total, eventsStream)
		}
	}
	return out
}

// waitFor polls check every 50 ms until it returns nil, and fails t with check's last
// error when timeout passes first.
func waitFor(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	end := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func trimETag(s string) string { return strings.Trim(s, `"`) }
