package s3front_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/events/replication/status"
	"github.com/sluice-io/sluice/s3front"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/services/location"
	s3loc "github.com/sluice-io/sluice/services/location/s3"
)

// replBucket creates a bucket and configures it with replRules.
func replBucket(t *testing.T, e *svcEnv, bucket string) {
	t.Helper()
	if _, err := e.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	replRules(t, e, bucket)
}

// replRules enables versioning and two rules: everything under "docs/" to
// backup (delete markers too) and objects tagged env=prod to dr.
func replRules(t *testing.T, e *svcEnv, bucket string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	docs := replRule("docs", 1, types.Destination{Bucket: aws.String("arn:aws:s3:::backup")},
		&types.ReplicationRuleFilter{Prefix: aws.String("docs/")})
	prod := replRule("prod", 2, types.Destination{Bucket: aws.String("arn:aws:s3:::dr")},
		&types.ReplicationRuleFilter{Tag: &types.Tag{Key: aws.String("env"), Value: aws.String("prod")}})
	prod.DeleteMarkerReplication.Status = types.DeleteMarkerReplicationStatusDisabled
	if err := putRepl(ctx, e.client, bucket, docs, prod); err != nil {
		t.Fatal(err)
	}
}

// publishStatus publishes a replication result as the replicator does.
func (e *svcEnv) publishStatus(t *testing.T, ev status.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.New(e.nats.JetStream(), bus.Options{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureStream(ctx, status.StreamSpec(1)); err != nil {
		t.Fatal(err)
	}
	subj, err := status.Subject(ev.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%d", ev.Bucket, ev.Key, ev.VersionID, ev.Destination, ev.Sequencer, ev.Status, ev.Time.UnixNano())
	if _, err := e.nats.JetStream().Publish(ctx, subj, body, jetstream.WithMsgID(id)); err != nil {
		t.Fatal(err)
	}
}

// version returns the stored latest version of a key.
func (e *svcEnv) version(t *testing.T, bucket, key string) meta.Object {
	t.Helper()
	o, err := e.svc.Store().GetObject(context.Background(), bucket, key, "")
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	return o
}

// headStatus returns x-amz-replication-status of a version ("" latest).
func (e *svcEnv) headStatus(bucket, key, versionID string) (string, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := e.client.HeadObject(context.Background(), in)
	if err != nil {
		return "", err
	}
	return string(out.ReplicationStatus), nil
}

// waitHead polls HEAD until the version shows want.
func (e *svcEnv) waitHead(t *testing.T, bucket, key, versionID, want string) {
	t.Helper()
	natstest.CheckFor(t, 20*time.Second, 25*time.Millisecond, func() error {
		got, err := e.headStatus(bucket, key, versionID)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s/%s: x-amz-replication-status %q, want %q", bucket, key, got, want)
		}
		return nil
	})
}

// admin calls the replication status admin route.
func (e *svcEnv) admin(t *testing.T, bucket, key, versionID string) (int, s3front.ReplicationStatusReply) {
	t.Helper()
	q := url.Values{}
	if bucket != "" {
		q.Set("bucket", bucket)
	}
	if key != "" {
		q.Set("key", key)
	}
	if versionID != "" {
		q.Set("versionId", versionID)
	}
	rr := httptest.NewRecorder()
	e.ready.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, s3front.ReplicationStatusPath+"?"+q.Encode(), nil))
	var out s3front.ReplicationStatusReply
	if rr.Code == http.StatusOK {
		if err := json.Unmarshal(rr.Body.Bytes(), &out); err != nil {
			t.Fatalf("admin reply %q: %v", rr.Body.String(), err)
		}
	}
	return rr.Code, out
}

func put(t *testing.T, e *svcEnv, bucket, key, tagging string) {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("data of " + key)}
	if tagging != "" {
		in.Tagging = aws.String(tagging)
	}
	if _, err := e.client.PutObject(context.Background(), in); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// TestServiceReplicationStatus: writes selected by enabled rules are PENDING
// for their destinations from the moment they commit (PUT, tags, CopyObject,
// CompleteMultipartUpload, delete markers), their events say so, and the
// replicator's results move HEAD to COMPLETED or FAILED without changing the
// version or emitting events.
func TestServiceReplicationStatus(t *testing.T) {
	ns := natstest.RunJetStream(t)
	dataDir := t.TempDir()
	e := startServiceOn(t, ns, dataDir, withReplicaLocations(dataDir), s3front.Hooks{})
	ctx := context.Background()
	const b = "src"
	if _, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	put(t, e, b, "docs/before", "") // written before any rule: stays ""
	replRules(t, e, b)

	put(t, e, b, "docs/a", "")
	put(t, e, b, "other", "")
	put(t, e, b, "tagged", "env=prod")
	put(t, e, b, "docs/both", "env=prod")
	if _, err := e.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("docs/copy"),
		CopySource: aws.String(b + "/other")}); err != nil {
		t.Fatal(err)
	}
	cr, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("docs/mp")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("docs/mp"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("docs/mp"),
		UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: up.ETag, PartNumber: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	put(t, e, b, "docs/gone", "")
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("docs/gone")}); err != nil {
		t.Fatal(err)
	}
	put(t, e, b, "tagged-gone", "env=prod")
	if _, err := e.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("tagged-gone")}}}}); err != nil {
		t.Fatal(err)
	}

	writes := []struct {
		key   string
		want  string
		dests map[string]string
	}{
		{"docs/before", "", nil},
		{"docs/a", "PENDING", map[string]string{"backup": "PENDING"}},
		{"other", "", nil},
		{"tagged", "PENDING", map[string]string{"dr": "PENDING"}},
		{"docs/both", "PENDING", map[string]string{"backup": "PENDING", "dr": "PENDING"}},
		{"docs/copy", "PENDING", map[string]string{"backup": "PENDING"}},
		{"docs/mp", "PENDING", map[string]string{"backup": "PENDING"}},
	}
	for _, w := range writes {
		got, err := e.headStatus(b, w.key, "")
		if err != nil || got != w.want {
			t.Fatalf("HEAD %s: %q (%v), want %q", w.key, got, err, w.want)
		}
		code, rep := e.admin(t, b, w.key, "")
		if code != http.StatusOK || rep.Status != w.want || len(rep.Destinations) != len(w.dests) {
			t.Fatalf("admin %s: %d %+v", w.key, code, rep)
		}
		for d, st := range w.dests {
			if rep.Destinations[d].Status != st || rep.Destinations[d].Time != nil {
				t.Fatalf("admin %s destination %s: %+v", w.key, d, rep.Destinations[d])
			}
		}
	}
	// Delete markers: under docs/ the rule replicates them; the tag rule
	// does not (and a marker has no tags anyway).
	code, marker := e.admin(t, b, "docs/gone", "")
	if code != http.StatusOK || !marker.DeleteMarker || marker.Status != "PENDING" || marker.Destinations["backup"].Status != "PENDING" {
		t.Fatalf("marker of docs/gone: %d %+v", code, marker)
	}
	if code, m := e.admin(t, b, "tagged-gone", ""); code != http.StatusOK || !m.DeleteMarker || m.Status != "" || len(m.Destinations) != 0 {
		t.Fatalf("marker of tagged-gone: %d %+v", code, m)
	}

	// The events carry the status the version was written with.
	var evs []receivedEvent
	natstest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		st, err := e.svc.Store().OutboxStats(ctx)
		if err != nil || st.Pending != 0 {
			return fmt.Errorf("outbox pending %d (%v)", st.Pending, err)
		}
		evs, err = e.streamEvents(ctx)
		return err
	})
	byKey := map[string]string{}
	for _, ev := range evs {
		k, _ := ev.Record.ObjectKey()
		byKey[k+" "+string(ev.Record.EventName)] = ev.Record.Sluice.ReplicationStatus
	}
	for k, want := range map[string]string{
		"docs/a ObjectCreated:Put": "PENDING", "other ObjectCreated:Put": "", "docs/copy ObjectCreated:Copy": "PENDING",
		"docs/mp ObjectCreated:CompleteMultipartUpload": "PENDING", "docs/gone ObjectRemoved:DeleteMarkerCreated": "PENDING",
		"tagged-gone ObjectRemoved:DeleteMarkerCreated": "",
	} {
		if got, ok := byKey[k]; !ok || got != want {
			t.Fatalf("event %s: replication status %q (present %v), want %q", k, got, ok, want)
		}
	}
	eventsBefore := len(evs)

	// Results arrive: out of order, duplicated, a failure retried.
	both := e.version(t, b, "docs/both")
	t1 := time.Now().UTC().Truncate(time.Millisecond)
	res := func(key, vid, seq, dest, st string, at time.Time, errMsg string) status.Event {
		return status.Event{Bucket: b, Key: key, VersionID: vid, Sequencer: seq, Destination: dest, Status: st, Error: errMsg, Time: at}
	}
	e.publishStatus(t, res("docs/both", both.VersionID, both.Sequencer, "backup", status.Completed, t1, ""))
	e.publishStatus(t, res("docs/both", both.VersionID, both.Sequencer, "backup", status.Completed, t1, "")) // duplicate
	e.waitHead(t, b, "docs/both", "", "PENDING")
	e.publishStatus(t, res("docs/both", both.VersionID, both.Sequencer, "dr", status.Failed, t1.Add(time.Second), "dr is down"))
	e.waitHead(t, b, "docs/both", "", "FAILED")
	e.publishStatus(t, res("docs/both", both.VersionID, both.Sequencer, "dr", status.Completed, t1.Add(2*time.Second), ""))
	e.waitHead(t, b, "docs/both", "", "COMPLETED")
	// A stale FAILED (older sequencer) changes nothing.
	e.publishStatus(t, res("docs/both", both.VersionID, "0000000000000001", "dr", status.Failed, t1.Add(time.Hour), "old"))
	a := e.version(t, b, "docs/a")
	e.publishStatus(t, res("docs/a", a.VersionID, a.Sequencer, "backup", status.Failed, t1, "no space"))
	e.waitHead(t, b, "docs/a", "", "FAILED")
	// A result for a version that never existed, and a malformed message,
	// are acked or dead-lettered; the consumer goes on.
	e.publishStatus(t, res("docs/a", "0000000000000001ABCDEF01", a.Sequencer, "backup", status.Completed, t1, ""))
	if _, err := e.nats.JetStream().Publish(ctx, status.ReplicationPrefix+"src", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	// A delete result names no version: it lands on the key's delete marker.
	e.publishStatus(t, status.Event{Bucket: b, Key: "docs/gone", Sequencer: marker.Destinations["backup"].Sequencer,
		Destination: "backup", Status: status.Completed, Time: t1, Deleted: true})
	natstest.CheckFor(t, 20*time.Second, 25*time.Millisecond, func() error {
		if _, m := e.admin(t, b, "docs/gone", ""); m.Status != "COMPLETED" {
			return fmt.Errorf("marker status %q", m.Status)
		}
		return nil
	})
	mp := e.version(t, b, "docs/mp")
	e.publishStatus(t, res("docs/mp", mp.VersionID, mp.Sequencer, "backup", status.Completed, t1, ""))
	e.waitHead(t, b, "docs/mp", "", "COMPLETED")

	// The detail, through the admin API.
	code, rep := e.admin(t, b, "docs/both", both.VersionID)
	if code != http.StatusOK || rep.VersionID != both.VersionID || rep.Status != "COMPLETED" ||
		rep.Destinations["dr"].Status != "COMPLETED" || rep.Destinations["dr"].Error != "" || rep.Destinations["dr"].Sequencer != both.Sequencer ||
		rep.Destinations["dr"].Time == nil || !rep.Destinations["dr"].Time.Equal(t1.Add(2*time.Second)) {
		t.Fatalf("admin docs/both: %d %+v", code, rep)
	}
	if _, rep := e.admin(t, b, "docs/a", ""); rep.Destinations["backup"].Error != "no space" || rep.Status != "FAILED" {
		t.Fatalf("admin docs/a: %+v", rep)
	}
	for _, tc := range []struct {
		bucket, key, version string
		code                 int
	}{
		{"", "k", "", http.StatusBadRequest},
		{b, "", "", http.StatusBadRequest},
		{"nope", "k", "", http.StatusNotFound},
		{b, "nokey", "", http.StatusNotFound},
		{b, "docs/a", "0000000000000001ABCDEF01", http.StatusNotFound},
	} {
		if code, _ := e.admin(t, tc.bucket, tc.key, tc.version); code != tc.code {
			t.Errorf("admin %q %q %q: %d, want %d", tc.bucket, tc.key, tc.version, code, tc.code)
		}
	}

	// Applying changed neither the versions nor the event stream.
	if got := e.version(t, b, "docs/both"); got.Sequencer != both.Sequencer || !got.LastModified.Equal(both.LastModified) || got.VersionID != both.VersionID {
		t.Fatalf("docs/both changed: %+v, was %+v", got, both)
	}
	if st, err := e.svc.Store().OutboxStats(ctx); err != nil || st.Pending != 0 {
		t.Fatalf("outbox after applying: %+v %v", st, err)
	}
	if evs, err := e.streamEvents(ctx); err != nil || len(evs) != eventsBefore {
		t.Fatalf("%d events after applying (%v), want %d", len(evs), err, eventsBefore)
	}
	// The malformed message was dead-lettered, the rest acked.
	natstest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		c, err := e.nats.JetStream().Consumer(ctx, status.StreamName, s3front.StatusConsumer)
		if err != nil {
			return err
		}
		info, err := c.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return fmt.Errorf("consumer: %d pending, %d unacked", info.NumPending, info.NumAckPending)
		}
		dlq, err := e.nats.JetStream().Stream(ctx, bus.DLQStreamName)
		if err != nil {
			return err
		}
		di, err := dlq.Info(ctx)
		if err != nil {
			return err
		}
		if di.State.Msgs != 1 {
			return fmt.Errorf("%d dead letters, want 1", di.State.Msgs)
		}
		return nil
	})
	// Every result is settled: the stale one changed nothing.
	if got, _ := e.headStatus(b, "docs/both", ""); got != "COMPLETED" {
		t.Fatalf("stale result changed docs/both to %q", got)
	}
}

// TestServiceReplicationStatusRestart: results published while s3front is
// down, and results it had not acked when it stopped, are applied by the
// next s3front on the same consumer: nothing is lost.
func TestServiceReplicationStatusRestart(t *testing.T) {
	ns := natstest.RunJetStream(t)
	dataDir := t.TempDir()
	first := startServiceOn(t, ns, dataDir, withReplicaLocations(dataDir), s3front.Hooks{})
	const b = "restart"
	replBucket(t, first, b)
	const n = 40
	vs := make([]meta.Object, n)
	for i := range n {
		put(t, first, b, fmt.Sprintf("docs/%02d", i), "")
		vs[i] = first.version(t, b, fmt.Sprintf("docs/%02d", i))
	}
	now := time.Now().UTC()
	ev := func(i int) status.Event {
		return status.Event{Bucket: b, Key: vs[i].Key, VersionID: vs[i].VersionID, Sequencer: vs[i].Sequencer,
			Destination: "backup", Status: status.Completed, Time: now}
	}
	// Half while the first service runs.
	for i := range n / 2 {
		first.publishStatus(t, ev(i))
	}
	first.waitHead(t, b, vs[0].Key, "", "COMPLETED")
	if err := first.svc.Close(); err != nil {
		t.Fatal(err)
	}
	// The rest while no s3front runs.
	for i := n / 2; i < n; i++ {
		first.publishStatus(t, ev(i))
	}
	second := startServiceOn(t, ns, dataDir, withReplicaLocations(dataDir), s3front.Hooks{})
	for i := range n {
		second.waitHead(t, b, vs[i].Key, vs[i].VersionID, "COMPLETED")
	}
}

// TestServiceReplicaWrites writes through the s3 location driver with its
// replica marker into a bucket whose rules would make the objects PENDING:
// every upload path of the driver (one PutObject, a direct multipart upload,
// a multipart upload to a temporary key copied to the key) and its deletes
// store REPLICA, and their events say so. The same writes without the
// marker are PENDING.
func TestServiceReplicaWrites(t *testing.T) {
	ns := natstest.RunJetStream(t)
	dataDir := t.TempDir()
	e := startServiceOn(t, ns, dataDir, withReplicaLocations(dataDir), s3front.Hooks{})
	ctx := context.Background()
	const b = "dest"
	replBucket(t, e, b)
	open := func(marker bool) location.Driver {
		opts := map[string]string{s3loc.OptionPartSize: "5MiB"}
		if marker {
			opts[s3loc.OptionReplicaMarker] = "true"
		}
		d, err := location.Open(ctx, "sluice", location.Config{Type: s3loc.Type, Options: opts, S3: &location.S3Config{
			Endpoint: "http://" + e.svc.Addr(), Region: "us-east-1", Bucket: b, AccessKeyID: rootKey,
			SecretAccessKey: rootSecret, ForcePathStyle: true,
		}}, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		return d
	}
	large := bytes.Repeat([]byte("sluice!!"), (6<<20)/8)
	sum := md5.Sum(large)
	writes := []struct {
		name string
		data []byte
		opts location.PutOptions
	}{
		{"small", []byte("x"), location.PutOptions{Size: 1}},
		{"multipart-direct", large, location.PutOptions{Size: int64(len(large)), ContentMD5: sum[:]}},
		{"multipart-copied", large, location.PutOptions{Size: int64(len(large))}},
	}
	for _, marker := range []bool{true, false} {
		d := open(marker)
		want := "REPLICA"
		if !marker {
			want = "PENDING"
		}
		for _, w := range writes {
			key := fmt.Sprintf("docs/%v/%s", marker, w.name)
			if _, err := d.Put(ctx, key, bytes.NewReader(w.data), w.opts); err != nil {
				t.Fatalf("Put %s: %v", key, err)
			}
			if got, err := e.headStatus(b, key, ""); err != nil || got != want {
				t.Fatalf("HEAD %s: %q (%v), want %q", key, got, err, want)
			}
		}
		key := fmt.Sprintf("docs/%v/small", marker)
		if err := d.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, m := e.admin(t, b, key, ""); !m.DeleteMarker || m.Status != want {
			t.Fatalf("marker of %s: %+v, want %s", key, m, want)
		}
	}
	// Events of the replica writes (the temporary object's included) are
	// REPLICA; the others are not.
	natstest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		st, err := e.svc.Store().OutboxStats(ctx)
		if err != nil || st.Pending != 0 {
			return fmt.Errorf("outbox pending %d (%v)", st.Pending, err)
		}
		return nil
	})
	evs, err := e.streamEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replicas := 0
	for _, ev := range evs {
		k, _ := ev.Record.ObjectKey()
		isReplica := ev.Record.Sluice.ReplicationStatus == "REPLICA"
		if strings.HasPrefix(k, "docs/false/") && isReplica || strings.HasPrefix(k, "docs/true/") && !isReplica {
			t.Fatalf("event %s %s: replication status %q", ev.Record.EventName, k, ev.Record.Sluice.ReplicationStatus)
		}
		if isReplica {
			replicas++
		}
	}
	if replicas < 4 {
		t.Fatalf("%d REPLICA events, want at least 4 (3 writes and a delete marker)", replicas)
	}
}
