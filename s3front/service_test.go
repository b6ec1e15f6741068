package s3front_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/s3front"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/services/health"
	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/runtime"
)

const (
	rootKey    = "ROOTACCESSKEY"
	rootSecret = "root-secret-key-1234"
)

// svcEnv is one running s3front service with an embedded JetStream.
type svcEnv struct {
	t       *testing.T
	nats    *natstest.Server
	svc     *s3front.Service
	ready   *health.Handler
	reg     *prometheus.Registry
	dataDir string
	client  *s3.Client
	cancel  context.CancelFunc
	runErr  chan error
	// crashExpected: Run ends with a fault hook's error.
	crashExpected bool
}

func startService(t *testing.T, mutate func(*s3front.Config), hooks s3front.Hooks) *svcEnv {
	t.Helper()
	return startServiceOn(t, natstest.RunJetStream(t), t.TempDir(), mutate, hooks)
}

// startServiceOn starts a service on an existing NATS server and data
// directory, as a restarted process would.
func startServiceOn(t *testing.T, ns *natstest.Server, dataDir string, mutate func(*s3front.Config), hooks s3front.Hooks) *svcEnv {
	t.Helper()
	nc, js := ns.Connect(t)
	reg := prometheus.NewRegistry()
	hh, err := health.New(reg, health.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var cfg s3front.Config
	cfg.SetDefaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.Domain = "s3.local"
	cfg.RootAccessKey, cfg.RootSecretKey = rootKey, rootSecret
	cfg.Users = []s3front.User{{Name: "carol", AccessKey: "AKCAROL", SecretKey: "carol-secret-key"}}
	if mutate != nil {
		mutate(&cfg)
	}
	svc, err := s3front.NewWithHooks(cfg, runtime.Settings{
		Logger:         zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
		Conn:           nc,
		JetStream:      js,
		Registry:       reg,
		Clock:          runtime.SystemClock{},
		Ready:          hh,
		Admin:          hh,
		DataDir:        dataDir,
		StreamReplicas: 1,
	}, hooks)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &svcEnv{t: t, nats: ns, svc: svc, ready: hh, reg: reg, dataDir: dataDir, cancel: cancel, runErr: make(chan error, 1)}
	go func() { e.runErr <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-e.runErr:
			if err != nil && !e.crashExpected {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	select {
	case <-svc.Started():
	case err := <-e.runErr:
		t.Fatalf("Run failed: %v", err)
	}
	if svc.Addr() == "" {
		t.Fatal("service did not bind")
	}
	e.client = e.s3Client(rootKey, rootSecret)
	return e
}

func (e *svcEnv) s3Client(ak, sk string) *s3.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	e.t.Cleanup(tr.CloseIdleConnections)
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + e.svc.Addr()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:   &http.Client{Transport: tr},
		Retryer:      aws.NopRetryer{},
	})
}

// streamEvents reads every event of the events stream from the start.
func (e *svcEnv) streamEvents(ctx context.Context) ([]receivedEvent, error) {
	js := e.nats.JetStream()
	st, err := js.Stream(ctx, bus.EventsStreamName)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []receivedEvent
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			return nil, err
		}
		ev, err := events.EventFromNATS(m.Header, m.Data)
		if err != nil {
			return nil, err
		}
		rec, err := events.RecordFromCloudEvent(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, receivedEvent{Subject: m.Subject, Type: ev.Type(), ID: ev.ID(), Record: rec})
	}
	return out, nil
}

type receivedEvent struct {
	Subject string
	Type    string
	ID      string
	Record  events.Record
}

// waitEvents polls the stream until it holds n events.
func (e *svcEnv) waitEvents(n int, total time.Duration) []receivedEvent {
	e.t.Helper()
	var got []receivedEvent
	natstest.CheckFor(e.t, total, 50*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		evs, err := e.streamEvents(ctx)
		if err != nil {
			return err
		}
		got = evs
		if len(evs) != n {
			return fmt.Errorf("%d events in the stream, want %d", len(evs), n)
		}
		return nil
	})
	return got
}

func TestServiceEventsReachStream(t *testing.T) {
	e := startService(t, nil, s3front.Hooks{})
	ctx := context.Background()
	c := e.client
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos.2026")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("photos.2026"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	b, k := aws.String("photos.2026"), aws.String("cats/tabby cat.jpg")
	steps := []struct {
		name string
		do   func() error
	}{
		{"ObjectCreated:Put", func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("meow")})
			return err
		}},
		{"ObjectCreated:Copy", func() error {
			_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: k, CopySource: aws.String("photos.2026/cats/tabby%20cat.jpg"),
				MetadataDirective: types.MetadataDirectiveReplace})
			return err
		}},
		{"ObjectTagging:Put", func() error {
			_, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b, Key: k,
				Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}})
			return err
		}},
		{"ObjectTagging:Delete", func() error {
			_, err := c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: b, Key: k})
			return err
		}},
		{"ObjectCreated:CompleteMultipartUpload", func() error {
			cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
			if err != nil {
				return err
			}
			up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
			if err != nil {
				return err
			}
			_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: up.ETag, PartNumber: aws.Int32(1)}}}})
			return err
		}},
		{"ObjectRemoved:DeleteMarkerCreated", func() error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k})
			return err
		}},
		{"ObjectRemoved:Delete", func() error {
			lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b})
			if err != nil {
				return err
			}
			_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k, VersionId: lv.Versions[0].VersionId})
			return err
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	evs := e.waitEvents(len(steps), 30*time.Second)
	ids := map[string]bool{}
	for i, s := range steps {
		ev := evs[i]
		cat, act, _ := strings.Cut(s.name, ":")
		if ev.Type != "com.amazonaws.s3."+s.name || ev.Subject != "sluice.events.photos%2E2026."+cat+"."+act {
			t.Fatalf("event %d: type %q subject %q, want %s", i, ev.Type, ev.Subject, s.name)
		}
		if key, _ := ev.Record.ObjectKey(); key != "cats/tabby cat.jpg" || ev.Record.S3.Object.Key != "cats/tabby+cat.jpg" {
			t.Fatalf("event %d key %q (encoded %q)", i, key, ev.Record.S3.Object.Key)
		}
		if i > 0 && !(evs[i-1].Record.S3.Object.Sequencer < ev.Record.S3.Object.Sequencer) {
			t.Fatalf("sequencer of event %d (%s) not after %s", i, ev.Record.S3.Object.Sequencer, evs[i-1].Record.S3.Object.Sequencer)
		}
		if ev.Record.UserIdentity.PrincipalID != "root" || ev.Record.S3.Bucket.OwnerIdentity.PrincipalID != "root" {
			t.Fatalf("event %d identity %+v", i, ev.Record.UserIdentity)
		}
		if ids[ev.ID] {
			t.Fatalf("duplicate event id %s", ev.ID)
		}
		ids[ev.ID] = true
	}

	// Readiness and metrics.
	if ok, st := e.ready.Ready(ctx); !ok {
		t.Fatalf("not ready: %+v", st)
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
	}
	for _, name := range []string{"sluice_s3_requests_total", "sluice_s3_request_duration_seconds", "sluice_s3_received_bytes_total", "sluice_s3_sent_bytes_total"} {
		if !found[name] {
			t.Errorf("metric %s not registered", name)
		}
	}
}

func TestServiceUsersAndVirtualHost(t *testing.T) {
	e := startService(t, nil, s3front.Hooks{})
	ctx := context.Background()
	carol := e.s3Client("AKCAROL", "carol-secret-key")
	if _, err := carol.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("carols")}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("carols")})
	var ae interface{ ErrorCode() string }
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatalf("root reads carol's bucket: %v", err)
	}
	// Virtual-host style through the configured domain.
	_, port, _ := net.SplitHostPort(e.svc.Addr())
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, e.svc.Addr())
	}}
	t.Cleanup(tr.CloseIdleConnections)
	vh := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://s3.local:" + port),
		Credentials: credentials.NewStaticCredentialsProvider("AKCAROL", "carol-secret-key", ""),
		HTTPClient:  &http.Client{Transport: tr}, Retryer: aws.NopRetryer{},
	})
	if _, err := vh.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("carols"), Key: aws.String("v"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("carols"), Key: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
}

// TestServiceNATSOutage is guarantee (2): with NATS down, 1,000 writes all
// succeed; when NATS returns, all 1,000 events arrive.
func TestServiceNATSOutage(t *testing.T) {
	e := startService(t, nil, s3front.Hooks{RelayPollInterval: 100 * time.Millisecond})
	ctx := context.Background()
	if _, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("outage")}); err != nil {
		t.Fatal(err)
	}
	// The stream exists before the outage.
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		_, err := e.nats.JetStream().Stream(ctx, bus.EventsStreamName)
		return err
	})
	e.nats.Shutdown()

	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("outage"),
					Key: aws.String(fmt.Sprintf("k/%04d", i)), Body: strings.NewReader(fmt.Sprint(i))})
				if err != nil {
					errs <- fmt.Errorf("put %d: %w", i, err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, err := e.svc.Store().OutboxStats(ctx)
	if err != nil || st.Pending != n {
		t.Fatalf("outbox pending = %d (%v), want %d while NATS is down", st.Pending, err, n)
	}

	e.nats.Restart()
	evs := e.waitEvents(n, 60*time.Second)
	seen := map[string]bool{}
	for _, ev := range evs {
		k, _ := ev.Record.ObjectKey()
		seen[k] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct keys in %d events", len(seen), len(evs))
	}
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		st, err := e.svc.Store().OutboxStats(ctx)
		if err != nil {
			return err
		}
		if st.Pending != 0 {
			return fmt.Errorf("%d rows still pending", st.Pending)
		}
		return nil
	})
}

func TestServiceCloseTwiceAndConfig(t *testing.T) {
	e := startService(t, nil, s3front.Hooks{})
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-e.runErr:
		if err != nil {
			t.Fatalf("Run after Close: %v", err)
		}
		e.runErr <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	// The listener is released: the port can be bound again.
	ln, err := net.Listen("tcp", e.svc.Addr())
	if err != nil {
		t.Fatalf("port not released: %v", err)
	}
	ln.Close()
	if err := e.svc.Run(context.Background()); !errors.Is(err, s3front.ErrAlreadyRunning) {
		t.Fatalf("second Run: %v", err)
	}

	// Defaults.
	var cfg s3front.Config
	cfg.SetDefaults()
	if cfg.Listen != "127.0.0.1:9600" || cfg.Region != "us-east-1" || cfg.MaxSkew != 15*time.Minute ||
		cfg.Metadata.Driver != "sqlite" || cfg.DefaultLocation != "local" {
		t.Fatalf("defaults = %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	dir := t.TempDir()
	svc, err := s3front.New(cfg, runtime.Settings{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_ = svc.Close()
	_ = svc.Close()

	bad := []struct {
		name string
		f    func(*s3front.Config)
	}{
		{"listen without host", func(c *s3front.Config) { c.Listen = ":9600" }},
		{"driver", func(c *s3front.Config) { c.Metadata.Driver = "mysql" }},
		{"postgres without dsn", func(c *s3front.Config) { c.Metadata.Driver = "postgres" }},
		{"short secret", func(c *s3front.Config) { c.Users = []s3front.User{{Name: "u", AccessKey: "AKU", SecretKey: "short"}} }},
		{"duplicate key", func(c *s3front.Config) {
			c.Users = []s3front.User{{Name: "u", AccessKey: "AKU", SecretKey: "long-enough"}, {Name: "v", AccessKey: "AKU", SecretKey: "long-enough"}}
		}},
		{"root name reserved", func(c *s3front.Config) {
			c.RootAccessKey, c.RootSecretKey = "ROOTKEY", "root-secret"
			c.Users = []s3front.User{{Name: "root", AccessKey: "AKU", SecretKey: "long-enough"}}
		}},
		{"default location missing", func(c *s3front.Config) {
			c.Locations = map[string]location.Config{"disk": {Type: "fs", Path: filepath.Join(dir, "d")}}
		}},
		{"domain", func(c *s3front.Config) { c.Domain = "bad domain" }},
	}
	for _, b := range bad {
		var c s3front.Config
		c.SetDefaults()
		b.f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", b.name)
		}
	}
}

var errInjectedCrash = errors.New("injected crash after publish, before the outbox rows are deleted")

// TestServiceCrashAfterPublish is a fault-hook form of guarantee (1): the
// relay publishes a batch and the process "dies" before deleting the rows;
// a restarted service on the same data directory republishes them, and
// JetStream's de-duplication (Nats-Msg-Id = event id) leaves every event in
// the stream exactly once.
func TestServiceCrashAfterPublish(t *testing.T) {
	ns := natstest.RunJetStream(t)
	dataDir := t.TempDir()
	// The first published batch waits in the hook until the writes are
	// done, then "crashes": its rows were acknowledged by JetStream but are
	// never deleted from the outbox.
	arm := make(chan struct{})
	first := startServiceOn(t, ns, dataDir, nil, s3front.Hooks{
		AfterPublish: func(ctx context.Context, rows []meta.OutboxRow) error {
			select {
			case <-arm:
			case <-ctx.Done():
			}
			return errInjectedCrash
		},
	})
	first.crashExpected = true
	ctx := context.Background()
	if _, err := first.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("crash")}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		if _, err := first.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("crash"),
			Key: aws.String(fmt.Sprintf("k%02d", i)), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	close(arm)
	select {
	case err := <-first.runErr:
		if !errors.Is(err, errInjectedCrash) {
			t.Fatalf("first Run ended with %v", err)
		}
		first.runErr <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("the crash hook never fired")
	}

	// Some events reached the stream before the crash, and all rows are
	// still in the outbox: the restart will publish those events again.
	pre, err := first.streamEvents(ctx)
	if err != nil || len(pre) == 0 || len(pre) >= n {
		t.Fatalf("%d events in the stream before the restart (%v), want 1..%d", len(pre), err, n-1)
	}

	second := startServiceOn(t, ns, dataDir, nil, s3front.Hooks{RelayPollInterval: 50 * time.Millisecond})
	evs := second.waitEvents(n, 30*time.Second)
	seen := map[string]bool{}
	for _, ev := range evs {
		if seen[ev.ID] {
			t.Fatalf("event %s published twice", ev.ID)
		}
		seen[ev.ID] = true
	}
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		st, err := second.svc.Store().OutboxStats(ctx)
		if err != nil {
			return err
		}
		if st.Pending != 0 {
			return fmt.Errorf("%d rows pending", st.Pending)
		}
		return nil
	})
	// Still exactly n after the outbox drained.
	if evs := second.waitEvents(n, 5*time.Second); len(evs) != n {
		t.Fatalf("%d events", len(evs))
	}
}
