package replicator_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/events/replication/status"
	"github.com/sluice-io/sluice/replicator"
	"github.com/sluice-io/sluice/services/runtime"
)

func busBackoff() bus.Backoff {
	return bus.Backoff{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond, Jitter: 0.2}
}

// statusWatcher collects the status events of the harness's bucket.
type statusWatcher struct {
	cons jetstream.Consumer
}

func (h *harness) watchStatus() *statusWatcher {
	h.t.Helper()
	c, err := h.js.OrderedConsumer(h.ctx, status.StreamName, jetstream.OrderedConsumerConfig{})
	if err != nil {
		h.t.Fatal(err)
	}
	return &statusWatcher{cons: c}
}

// next returns the status events received so far (non-blocking beyond a
// short fetch).
func (w *statusWatcher) drain(t *testing.T) []status.Event {
	t.Helper()
	var out []status.Event
	for {
		batch, err := w.cons.FetchNoWait(100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			s, err := status.Decode(m.Data())
			if err != nil {
				t.Fatalf("bad status event %q: %v", m.Data(), err)
			}
			out = append(out, s)
		}
		if n == 0 {
			return out
		}
	}
}

func TestReplication(t *testing.T) {
	h := newHarness(t)
	hh := h
	h.start()
	statuses := h.watchStatus()
	var seen []status.Event
	findStatus := func(key, dest, status string) error {
		seen = append(seen, statuses.drain(t)...)
		for _, s := range seen {
			if s.Key == key && s.Destination == dest && s.Status == status {
				return nil
			}
		}
		return fmt.Errorf("no %s status for %s on %s", status, key, dest)
	}

	small := object{key: "docs/a.txt", contentType: "text/plain", data: []byte("hello, replicas"),
		meta: map[string]string{"owner": "alice", "project": "sluice"}, tags: map[string]string{"class": "public", "team": "core"}}
	big := object{key: "media/big.bin", contentType: "application/x-big", data: randomData(1, 12<<20),
		meta: map[string]string{"kind": "video"}, tags: map[string]string{"size": "large"}, multipart: true}
	plain := object{key: "docs/b.bin", contentType: "application/octet-stream", data: randomData(2, 6<<20)}

	t.Run("one to three", func(t *testing.T) {
		h := h.with(t)
		for _, o := range []object{small, big, plain} {
			h.write(o)
		}
		h.converged([]object{small, big, plain})
		h.eventually(10*time.Second, func() error {
			for _, d := range dests {
				if err := findStatus(small.key, d, replicator.StatusCompleted); err != nil {
					return err
				}
			}
			return nil
		})
	})

	t.Run("stale and duplicate events are harmless", func(t *testing.T) {
		h := h.with(t)
		v1 := small
		v1.data = []byte("version two")
		v1.tags = map[string]string{"class": "internal"}
		ver, _ := h.put(v1)
		seq := h.nextSeq()
		h.publish(events.ObjectCreatedPut, v1.key, ver, seq)
		h.converged([]object{v1})
		// A duplicate and an event older than the last applied one, after
		// the source changed again: neither may copy (the checkpoint
		// says seq was applied), so the replicas keep "version two" until
		// the newer event arrives.
		v3 := v1
		v3.data = []byte("version three")
		ver3, _ := h.put(v3)
		h.publish(events.ObjectCreatedPut, v1.key, ver, seq)    // duplicate
		h.publish(events.ObjectCreatedPut, v1.key, ver, "0001") // stale
		h.settled()
		for _, d := range dests {
			if err := h.matches(d, v1); err != nil {
				t.Fatalf("stale event changed the replica: %v", err)
			}
		}
		h.publish(events.ObjectCreatedPut, v1.key, ver3, h.nextSeq())
		h.converged([]object{v3})
		small = v3
	})

	t.Run("reordered events converge on the newest state", func(t *testing.T) {
		h := h.with(t)
		type ev struct{ ver, seq string }
		var evs []ev
		var last object
		for i := range 3 {
			last = object{key: "order/x", contentType: "text/plain", data: []byte(fmt.Sprintf("version %d", i)),
				meta: map[string]string{"v": fmt.Sprint(i)}}
			ver, _ := h.put(last)
			evs = append(evs, ev{ver, h.nextSeq()})
		}
		for i := len(evs) - 1; i >= 0; i-- {
			h.publish(events.ObjectCreatedPut, last.key, evs[i].ver, evs[i].seq)
		}
		h.settled()
		h.converged([]object{last})
	})

	t.Run("tag change is replicated", func(t *testing.T) {
		h := h.with(t)
		ctx := h.ctx
		if _, err := h.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(h.bucket), Key: aws.String(small.key),
			Tagging: tagSet(map[string]string{"class": "secret"})}); err != nil {
			t.Fatal(err)
		}
		h.publish(events.ObjectTaggingPut, small.key, "", h.nextSeq())
		small.tags = map[string]string{"class": "secret"}
		h.converged([]object{small})
	})

	t.Run("delete marker and delete", func(t *testing.T) {
		h := h.with(t)
		ctx := h.ctx
		out, err := h.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(plain.key)})
		if err != nil {
			t.Fatal(err)
		}
		h.publish(events.ObjectRemovedDeleteMarkerCreated, plain.key, aws.ToString(out.VersionId), h.nextSeq())
		h.eventually(30*time.Second, func() error {
			for _, d := range []string{"minio", "azure"} {
				if err := h.absent(d, plain.key); err != nil {
					return err
				}
			}
			return nil
		})
		h.settled()
		if err := h.matches("gcs", plain); err != nil { // gcs rule: no delete marker replication
			t.Fatalf("gcs replica removed by a delete marker: %v", err)
		}
		// Delete every version: the object is gone, every replica goes.
		vs, err := h.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(h.bucket), Prefix: aws.String(plain.key)})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs.Versions {
			if _, err := h.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(h.bucket), Key: v.Key, VersionId: v.VersionId}); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range vs.DeleteMarkers {
			if _, err := h.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(h.bucket), Key: v.Key, VersionId: v.VersionId}); err != nil {
				t.Fatal(err)
			}
		}
		h.publish(events.ObjectRemovedDelete, plain.key, "", h.nextSeq())
		h.eventually(30*time.Second, func() error {
			for _, d := range dests {
				if err := h.absent(d, plain.key); err != nil {
					return err
				}
			}
			return nil
		})
	})

	t.Run("destination stopped mid-load converges", func(t *testing.T) {
		h := h.with(t)
		var objs []object
		for i := range 12 {
			o := object{key: fmt.Sprintf("load/%02d", i), contentType: "text/plain", data: randomData(uint64(100+i), 1000+i),
				meta: map[string]string{"n": fmt.Sprint(i)}}
			objs = append(objs, o)
			if i == 4 {
				h.azurite.Stop()
			}
			h.write(o)
		}
		h.converged(objs, "minio", "gcs")
		st, err := h.svc.Status(h.ctx, "azure")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("azure while down: %+v", st)
		h.azurite.Restart(t)
		h.converged(objs)
		h.settled()
	})

	t.Run("pause and resume", func(t *testing.T) {
		h := h.with(t)
		if err := h.svc.Pause(h.ctx, "gcs"); err != nil {
			t.Fatal(err)
		}
		h.eventually(10*time.Second, func() error {
			st, err := h.svc.Status(h.ctx, "gcs")
			if err != nil {
				return err
			}
			if !st.Paused || st.Running {
				return fmt.Errorf("gcs not paused: %+v", st)
			}
			return nil
		})
		o := object{key: "paused/x", contentType: "text/plain", data: []byte("while paused")}
		h.write(o)
		h.converged([]object{o}, "minio", "azure")
		st, err := h.svc.Status(h.ctx, "gcs")
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 {
			t.Fatalf("paused destination has nothing pending: %+v", st)
		}
		if err := h.absent("gcs", o.key); err != nil {
			t.Fatalf("paused destination received the object: %v", err)
		}
		if err := h.svc.Resume(h.ctx, "gcs"); err != nil {
			t.Fatal(err)
		}
		h.converged([]object{o})
	})

	t.Run("resync existing objects", func(t *testing.T) {
		h := h.with(t)
		var objs []object
		for i := range 5 {
			o := object{key: fmt.Sprintf("old/%d", i), contentType: "text/csv", data: randomData(uint64(200+i), 3000),
				tags: map[string]string{"era": "before"}}
			h.put(o) // no event: it existed before replication
			objs = append(objs, o)
		}
		// A replica lost behind the replicator's back is restored too.
		if err := h.drv["minio"].Delete(h.ctx, small.key); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, small)
		srv := httptest.NewServer(h.svc.Handler())
		defer srv.Close()
		client, err := replicator.NewClient(srv.URL, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dests {
			n, err := client.Resync(h.ctx, d, h.bucket, "")
			if err != nil {
				t.Fatal(err)
			}
			if n < len(objs) {
				t.Fatalf("resync %s enqueued %d", d, n)
			}
		}
		h.converged(objs)
		h.eventually(10*time.Second, func() error {
			bs, err := client.Bucket(h.ctx, h.bucket)
			if err != nil {
				return err
			}
			if len(bs) != 3 {
				return fmt.Errorf("bucket status %+v", bs)
			}
			for _, b := range bs {
				if b.Completed < len(objs) || b.Failed != 0 || b.Last == nil {
					return fmt.Errorf("bucket status %+v", b)
				}
			}
			return nil
		})
		st, err := client.Destinations(h.ctx)
		if err != nil || len(st) != 3 {
			t.Fatalf("Destinations = %v, %v", st, err)
		}
		if _, err := client.Status(h.ctx, "nowhere"); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("unknown destination: %v", err)
		}
	})

	t.Run("existing object replication backfills", func(t *testing.T) {
		h := h.with(t)
		o := object{key: "eor/pre", contentType: "text/plain", data: []byte("before the rule said so")}
		h.put(o) // no event
		h.setRules(rules.Rule{ID: "to-minio", Priority: 1, Status: rules.Enabled,
			Destination: rules.Destination{Location: "minio"}, DeleteMarkerReplication: true},
			rules.Rule{ID: "to-azure", Priority: 1, Status: rules.Enabled,
				Destination: rules.Destination{Location: "azure", Prefix: "replica/"}, DeleteMarkerReplication: true},
			rules.Rule{ID: "to-gcs", Priority: 1, Status: rules.Enabled,
				Destination: rules.Destination{Location: "gcs"}, ExistingObjectReplication: true})
		h.converged([]object{o}, "gcs")
		for _, d := range []string{"minio", "azure"} {
			if err := h.absent(d, o.key); err != nil {
				t.Fatalf("backfilled a destination whose rule did not ask for it: %v", err)
			}
		}
	})

	t.Run("FAILED then retried", func(t *testing.T) {
		h := h.with(t)
		// The s3 driver reserves ".sluice-tmp/": the copy to minio fails
		// permanently, the other destinations succeed.
		o := object{key: ".sluice-tmp/x", contentType: "text/plain", data: []byte("reserved on s3")}
		h.write(o)
		h.converged([]object{o}, "azure", "gcs")
		h.eventually(30*time.Second, func() error {
			f, err := h.svc.Failed(h.ctx, "minio", h.bucket, 0)
			if err != nil {
				return err
			}
			if len(f) != 1 || f[0].Key != o.key || f[0].Error == "" {
				return fmt.Errorf("failed = %+v", f)
			}
			return findStatus(o.key, "minio", replicator.StatusFailed)
		})
		failedEvent(t, h, o.key)
		// Fix the rule (a destination prefix makes the key valid) and retry.
		h.setRules(rules.Rule{ID: "to-minio", Priority: 1, Status: rules.Enabled,
			Destination: rules.Destination{Location: "minio", Prefix: "fixed/"}, DeleteMarkerReplication: true},
			rules.Rule{ID: "to-azure", Priority: 1, Status: rules.Enabled,
				Destination: rules.Destination{Location: "azure", Prefix: "replica/"}, DeleteMarkerReplication: true},
			rules.Rule{ID: "to-gcs", Priority: 1, Status: rules.Enabled, Destination: rules.Destination{Location: "gcs"}})
		// The rules watch is asynchronous: the retry is polled until it works.
		h.eventually(30*time.Second, func() error {
			if _, err := h.svc.RetryFailed(h.ctx, "minio"); err != nil {
				return err
			}
			_, err := h.drv["minio"].Stat(h.ctx, "fixed/"+o.key)
			return err
		})
		hh.prefix["minio"] = "fixed/"
		h.eventually(30*time.Second, func() error {
			f, err := h.svc.Failed(h.ctx, "minio", h.bucket, 0)
			if err != nil {
				return err
			}
			if len(f) != 0 {
				return fmt.Errorf("still failed: %+v", f)
			}
			return findStatus(o.key, "minio", replicator.StatusCompleted)
		})
	})

	t.Run("replicas share consumers; a killed replica loses nothing", func(t *testing.T) {
		h := h.with(t)
		// Two replicas with a short AckWait; one loses its connection
		// (as if SIGKILLed) while copies are in flight.
		mod := func(c *replicator.Config) { c.AckWait = 2 * time.Second }
		svcA, ncA, stopA := h.startWith(mod)
		svcB, _, _ := h.startWith(mod)
		h.svc = svcB
		_ = svcA
		var objs []object
		for i := range 4 {
			objs = append(objs, object{key: fmt.Sprintf("kill/%d", i), contentType: "application/octet-stream",
				data: randomData(uint64(300+i), 12<<20), meta: map[string]string{"i": fmt.Sprint(i)}})
		}
		for _, o := range objs {
			h.write(o)
		}
		ncA.Close()
		_ = stopA() // its loops end with the connection; the error is expected
		h.converged(objs)
		h.settled()
		h.eventually(20*time.Second, func() error {
			for _, o := range objs {
				for _, d := range dests {
					if err := findStatus(o.key, d, replicator.StatusCompleted); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
}

// failedEvent checks that Replication:OperationFailedReplication was
// published for key.
func failedEvent(t *testing.T, h *harness, key string) {
	t.Helper()
	replicationEvent(t, h, events.ReplicationOperationFailedReplication, key, "minio")
}

// replicationEvent checks that a Replication:* event name was published
// for key and destination.
func replicationEvent(t *testing.T, h *harness, name events.EventName, key, dest string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 20*time.Second)
	defer cancel()
	subj := "sluice.events.*.Replication." + name.Action()
	c, err := h.js.OrderedConsumer(ctx, bus.EventsStreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}})
	if err != nil {
		t.Fatal(err)
	}
	h.eventually(20*time.Second, func() error {
		b, err := c.FetchNoWait(10)
		if err != nil {
			return err
		}
		for m := range b.Messages() {
			e, err := events.EventFromNATS(m.Headers(), m.Data())
			if err != nil {
				return err
			}
			rec, err := events.RecordFromCloudEvent(e)
			if err != nil {
				return err
			}
			if k, _ := rec.ObjectKey(); k == key && rec.EventName == name && rec.Sluice != nil && rec.Sluice.Location == dest {
				return nil
			}
		}
		return fmt.Errorf("no %s for %s on %s", name, key, dest)
	})
}

func tagSet(tags map[string]string) *s3types.Tagging {
	t := &s3types.Tagging{}
	for k, v := range tags {
		t.TagSet = append(t.TagSet, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return t
}

func TestThresholdEvents(t *testing.T) {
	h := newHarness(t)
	// The replicator's clock runs an hour ahead: every operation is late.
	h.clock = runtime.ClockFunc(func() time.Time { return time.Now().Add(time.Hour) })
	h.start()
	statuses := h.watchStatus()
	o := object{key: "late/x", contentType: "text/plain", data: []byte("late")}
	h.write(o)
	h.converged([]object{o})
	for _, d := range dests {
		replicationEvent(t, h, events.ReplicationOperationMissedThreshold, o.key, d)
		replicationEvent(t, h, events.ReplicationOperationReplicatedAfterThreshold, o.key, d)
	}
	h.eventually(10*time.Second, func() error {
		for _, s := range statuses.drain(t) {
			if s.Key == o.key && s.Status == replicator.StatusCompleted && s.LagSeconds >= 3500 {
				return nil
			}
		}
		return fmt.Errorf("no late COMPLETED status")
	})
}
