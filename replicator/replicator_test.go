package replicator_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/events/subject"
	"github.com/sluice-io/sluice/replicator"
	"github.com/sluice-io/sluice/services/emulators"
	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/runtime"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).flushStreamStateLoop"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"),
	)
}

// harness is one source bucket on MinIO, replicated by a running
// replicator to three destinations: "minio" (a second bucket), "azure"
// (Azurite) and "gcs" (fake-gcs-server).
type harness struct {
	t       *testing.T
	ctx     context.Context
	srv     *natstest.Server
	js      jetstream.JetStream
	src     *emulators.MinIO
	s3      *s3.Client
	bucket  string
	azurite *emulators.Azurite
	locs    map[string]location.Config
	drv     map[string]location.Driver // for checks, opened by the test
	svc     *replicator.Service
	store   *rules.Store
	seq     *atomic.Uint64
	evID    *atomic.Uint64
	prefix  map[string]string // destination prefixes of the current rules
	clock   runtime.Clock
}

var dests = []string{"azure", "gcs", "minio"}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clock: runtime.SystemClock{}, seq: new(atomic.Uint64), evID: new(atomic.Uint64),
		prefix: map[string]string{"azure": "replica/"}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	h.ctx = ctx
	h.src = emulators.StartMinIO(t)
	h.azurite = emulators.StartAzurite(t)
	gcs := emulators.StartFakeGCS(t)
	h.s3 = h.src.Client()
	h.bucket = h.src.NewBucket(t)
	if _, err := h.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(h.bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatalf("enable versioning: %v", err)
	}
	h.locs = map[string]location.Config{
		"minio": h.src.Config(h.src.NewBucket(t), ""),
		"azure": h.azurite.Config(h.azurite.NewContainer(t), ""),
		"gcs":   gcs.Config(gcs.NewBucket(t), ""),
	}
	h.drv = map[string]location.Driver{}
	for name, c := range h.locs {
		d, err := location.Open(ctx, name, c, zaptest.NewLogger(t))
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		t.Cleanup(func() { _ = d.Close() })
		h.drv[name] = d
	}
	h.srv = natstest.RunJetStream(t)
	_, h.js = h.srv.Connect(t)
	var err error
	if h.store, err = rules.OpenStore(ctx, h.js, 1); err != nil {
		t.Fatal(err)
	}
	h.setRules(rules.Rule{ID: "to-minio", Priority: 1, Status: rules.Enabled,
		Destination: rules.Destination{Location: "minio"}, DeleteMarkerReplication: true},
		rules.Rule{ID: "to-azure", Priority: 1, Status: rules.Enabled,
			Destination: rules.Destination{Location: "azure", Prefix: "replica/"}, DeleteMarkerReplication: true},
		rules.Rule{ID: "to-gcs", Priority: 1, Status: rules.Enabled,
			Destination: rules.Destination{Location: "gcs"}})
	return h
}

func (h *harness) setRules(rs ...rules.Rule) {
	h.t.Helper()
	if err := h.store.Put(h.ctx, h.bucket, rs); err != nil {
		h.t.Fatal(err)
	}
}

// start runs a replicator until the test ends and makes it h.svc.
func (h *harness) start() {
	h.t.Helper()
	svc, _, stop := h.startWith(nil)
	h.t.Cleanup(func() {
		if err := stop(); err != nil {
			h.t.Errorf("Run: %v", err)
		}
	})
	h.svc = svc
}

// startWith runs a replicator with its own NATS connection; mod adjusts
// its config. stop ends it and returns Run's error; it is idempotent and
// also registered as a cleanup.
func (h *harness) startWith(mod func(*replicator.Config)) (*replicator.Service, *nats.Conn, func() error) {
	h.t.Helper()
	nc, js := h.srv.Connect(h.t)
	cfg := replicator.Config{
		Locations: h.locs,
		Source: replicator.SourceConfig{Endpoint: h.src.Endpoint(), Region: emulators.MinIORegion,
			AccessKeyID: emulators.MinIOAccessKey, SecretAccessKey: location.Secret(emulators.MinIOSecretKey)},
		Concurrency: 4, MaxDeliver: 200,
		Backoff: busBackoff(),
	}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := replicator.New(cfg, runtime.Settings{Logger: zaptest.NewLogger(h.t), Conn: nc, JetStream: js,
		Registry: prometheus.NewRegistry(), Clock: h.clock, StreamReplicas: 1})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	h.t.Cleanup(func() { _ = stop() })
	// Run sets up streams and consumers; wait until every destination runs.
	h.eventually(30*time.Second, func() error {
		for _, d := range cfg.Destinations {
			st, err := svc.Status(h.ctx, d)
			if err != nil {
				return err
			}
			if !st.Running && !st.Paused {
				return fmt.Errorf("%s not running", d)
			}
		}
		if len(cfg.Destinations) == 0 {
			for _, d := range dests {
				if st, err := svc.Status(h.ctx, d); err != nil || (!st.Running && !st.Paused) {
					return fmt.Errorf("%s not running: %v", d, err)
				}
			}
		}
		return nil
	})
	return svc, nc, stop
}

func (h *harness) eventually(total time.Duration, f func() error) {
	h.t.Helper()
	natstest.CheckFor(h.t, total, 50*time.Millisecond, f)
}

// object is a source object to write.
type object struct {
	key, contentType string
	data             []byte
	meta, tags       map[string]string
	multipart        bool
}

func randomData(seed uint64, n int) []byte {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

func tagging(tags map[string]string) *string {
	if len(tags) == 0 {
		return nil
	}
	var parts []string
	for k, v := range tags {
		parts = append(parts, k+"="+v)
	}
	return aws.String(strings.Join(parts, "&"))
}

// put writes o to the source and returns its version id and ETag.
func (h *harness) put(o object) (string, string) {
	h.t.Helper()
	ctx := h.ctx
	if !o.multipart {
		out, err := h.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(o.key),
			Body: bytes.NewReader(o.data), ContentType: aws.String(o.contentType), Metadata: o.meta, Tagging: tagging(o.tags)})
		if err != nil {
			h.t.Fatalf("put %s: %v", o.key, err)
		}
		return aws.ToString(out.VersionId), strings.Trim(aws.ToString(out.ETag), `"`)
	}
	mu, err := h.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(h.bucket), Key: aws.String(o.key),
		ContentType: aws.String(o.contentType), Metadata: o.meta, Tagging: tagging(o.tags)})
	if err != nil {
		h.t.Fatal(err)
	}
	half := len(o.data) / 2
	var parts []s3types.CompletedPart
	for i, chunk := range [][]byte{o.data[:half], o.data[half:]} {
		p, err := h.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(h.bucket), Key: aws.String(o.key),
			UploadId: mu.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(chunk)})
		if err != nil {
			h.t.Fatal(err)
		}
		parts = append(parts, s3types.CompletedPart{ETag: p.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	out, err := h.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(h.bucket), Key: aws.String(o.key),
		UploadId: mu.UploadId, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		h.t.Fatal(err)
	}
	return aws.ToString(out.VersionId), strings.Trim(aws.ToString(out.ETag), `"`)
}

// nextSeq returns a new, higher sequencer.
func (h *harness) nextSeq() string { return fmt.Sprintf("%016X", h.seq.Add(1)) }

// publish publishes an event as s3front would, with the given sequencer.
func (h *harness) publish(name events.EventName, key, versionID, seq string) {
	h.t.Helper()
	rec := events.Record{EventName: name, EventTime: time.Now(), AWSRegion: emulators.MinIORegion,
		S3: events.S3Entity{Bucket: events.BucketEntity{Name: h.bucket},
			Object: events.ObjectEntity{VersionID: versionID, Sequencer: seq}}}
	rec.SetObjectKey(key)
	e, err := events.ToCloudEvent(fmt.Sprintf("ev-%d-%d", time.Now().UnixNano(), h.evID.Add(1)), rec)
	if err != nil {
		h.t.Fatal(err)
	}
	subj, err := subject.ForEvent(h.bucket, string(name))
	if err != nil {
		h.t.Fatal(err)
	}
	m, err := events.NewNATSMsg(subj, e)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.svc.Bus().Publish(h.ctx, m); err != nil {
		h.t.Fatal(err)
	}
}

// write puts o and publishes its ObjectCreated event.
func (h *harness) write(o object) {
	h.t.Helper()
	v, _ := h.put(o)
	name := events.ObjectCreatedPut
	if o.multipart {
		name = events.ObjectCreatedCompleteMultipartUpload
	}
	h.publish(name, o.key, v, h.nextSeq())
}

// with returns a copy of h reporting to t (a subtest).
func (h *harness) with(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

func (h *harness) destKey(dest, key string) string { return h.prefix[dest] + key }

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// matches reports (as an error) whether dest holds o exactly.
func (h *harness) matches(dest string, o object) error {
	d := h.drv[dest]
	rc, info, err := d.Get(h.ctx, h.destKey(dest, o.key), nil)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", dest, o.key, err)
	}
	defer rc.Close()
	hash := md5.New()
	n, err := io.Copy(hash, rc)
	if err != nil {
		return fmt.Errorf("%s: read %s: %w", dest, o.key, err)
	}
	if n != int64(len(o.data)) || hex.EncodeToString(hash.Sum(nil)) != md5hex(o.data) {
		return fmt.Errorf("%s: %s: data differs (%d bytes)", dest, o.key, n)
	}
	if info.ContentType != o.contentType {
		return fmt.Errorf("%s: %s: content type %q, want %q", dest, o.key, info.ContentType, o.contentType)
	}
	for k, v := range o.meta {
		if info.Metadata[k] != v {
			return fmt.Errorf("%s: %s: metadata %s=%q, want %q (have %v)", dest, o.key, k, info.Metadata[k], v, info.Metadata)
		}
	}
	tags, err := replicator.ParseReplicaTags(info.Metadata[replicator.MetaTags])
	if err != nil {
		return err
	}
	if len(tags) != len(o.tags) {
		return fmt.Errorf("%s: %s: tags %v, want %v", dest, o.key, tags, o.tags)
	}
	for k, v := range o.tags {
		if tags[k] != v {
			return fmt.Errorf("%s: %s: tags %v, want %v", dest, o.key, tags, o.tags)
		}
	}
	return nil
}

func (h *harness) absent(dest, key string) error {
	_, err := h.drv[dest].Stat(h.ctx, h.destKey(dest, key))
	if errors.Is(err, location.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%s: %s still present", dest, key)
}

// settled waits until no destination has pending events.
func (h *harness) settled(ds ...string) {
	h.t.Helper()
	if len(ds) == 0 {
		ds = dests
	}
	h.eventually(60*time.Second, func() error {
		for _, d := range ds {
			st, err := h.svc.Status(h.ctx, d)
			if err != nil {
				return err
			}
			if st.Pending != 0 {
				return fmt.Errorf("%s: %d pending", d, st.Pending)
			}
		}
		return nil
	})
}

func (h *harness) converged(objs []object, ds ...string) {
	h.t.Helper()
	if len(ds) == 0 {
		ds = dests
	}
	h.eventually(60*time.Second, func() error {
		for _, d := range ds {
			for _, o := range objs {
				if err := h.matches(d, o); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
