package server_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/meta/sqlite"
	"github.com/sluice-io/sluice/s3front/server"
	"github.com/sluice-io/sluice/s3front/sigv4"
	"github.com/sluice-io/sluice/services/location"
	_ "github.com/sluice-io/sluice/services/location/fs"
)

// testUsers are the users of every test server: access key → secret, principal.
var testUsers = map[string]sigv4.StaticKey{
	"AKALICE": {Secret: "alice-secret-key", Principal: "alice"},
	"AKBOB":   {Secret: "bob-secret-key-00", Principal: "bob"},
}

const testDomain = "s3.local"

// testEvents are the delivery targets every test server knows; nothing is
// delivered to them (the test server has no Notify unless a test sets one).
var testEvents = deliver.Config{Targets: []deliver.TargetConfig{
	{Name: "hook", Kind: deliver.KindWebhook, URL: "http://127.0.0.1:9/hook"},
	{Name: "fn", Kind: deliver.KindFunction, URL: "http://127.0.0.1:9/fn"},
	{Name: "audit", Kind: deliver.KindNATS, Subject: "audit.s3"},
}}

// env is one running S3 server over SQLite and two fs locations.
type env struct {
	t       *testing.T
	srv     *server.Server
	store   meta.Store
	addr    string // 127.0.0.1:port
	url     string // http://127.0.0.1:port
	dataDir string // parent of every location root
	alice   *s3.Client
	bob     *s3.Client
	vhost   *s3.Client // alice, virtual-host style
	raw     *http.Client
	hook    atomic.Pointer[func(server.Op)] // after-commit fault hook
}

type envOption func(*server.Options)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "meta.db")})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	dataDir := filepath.Join(dir, "data")
	locs := map[string]location.Driver{}
	for _, name := range []string{"local", "other"} {
		d, err := location.Open(ctx, name, location.Config{Type: "fs", Path: filepath.Join(dataDir, name)}, zap.NewNop())
		if err != nil {
			t.Fatalf("open location %s: %v", name, err)
		}
		t.Cleanup(func() { _ = d.Close() })
		locs[name] = d
	}
	e := &env{t: t, store: store, dataDir: dataDir}
	o := server.Options{
		Store:           store,
		Locations:       locs,
		DefaultLocation: "local",
		Auth:            &sigv4.Verifier{Region: "us-east-1", Credentials: sigv4.StaticCredentials(testUsers)},
		Credentials:     sigv4.StaticCredentials(testUsers),
		Region:          "us-east-1",
		Domain:          testDomain,
		Events:          testEvents,
		Logger:          zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
		AfterCommit: func(op server.Op) {
			if h := e.hook.Load(); h != nil {
				(*h)(op)
			}
		},
	}
	for _, f := range opts {
		f(&o)
	}
	srv, err := server.New(o)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		<-done
	})
	e.srv = srv
	e.addr = ln.Addr().String()
	e.url = "http://" + e.addr
	e.alice = e.client("AKALICE", false)
	e.bob = e.client("AKBOB", false)
	e.vhost = e.client("AKALICE", true)
	e.raw = e.httpClient()
	return e
}

// httpClient dials the test server whatever host name the request uses,
// so virtual-host names like bucket.s3.local resolve.
func (e *env) httpClient() *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, e.addr)
		},
		MaxIdleConnsPerHost: 16,
		DisableCompression:  true,
	}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func (e *env) client(accessKey string, vhost bool) *s3.Client {
	endpoint := e.url
	if vhost {
		_, port, _ := net.SplitHostPort(e.addr)
		endpoint = "http://" + testDomain + ":" + port
	}
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: !vhost,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, testUsers[accessKey].Secret, ""),
		HTTPClient:   e.httpClient(),
		Retryer:      aws.NopRetryer{},
	})
}

// clientWith returns a path-style client for alice with extra options.
func (e *env) clientWith(f func(*s3.Options)) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.url),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKALICE", testUsers["AKALICE"].Secret, ""),
		HTTPClient:   e.httpClient(),
		Retryer:      aws.NopRetryer{},
	}, f)
}

func (e *env) mkBucket(c *s3.Client, name string) {
	e.t.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		e.t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

func (e *env) put(c *s3.Client, bucket, key, body string) *s3.PutObjectOutput {
	e.t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
	})
	if err != nil {
		e.t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

// outbox returns the pending outbox events (decoded) in commit order.
func (e *env) outbox() []outboxEvent {
	e.t.Helper()
	rows, err := e.store.OutboxPending(context.Background(), 100000)
	if err != nil {
		e.t.Fatalf("OutboxPending: %v", err)
	}
	out := make([]outboxEvent, 0, len(rows))
	for _, r := range rows {
		ev, err := events.EventFromNATS(r.Headers, r.Body)
		if err != nil {
			e.t.Fatalf("outbox row %d: %v", r.RowID, err)
		}
		rec, err := events.RecordFromCloudEvent(ev)
		if err != nil {
			e.t.Fatalf("outbox row %d record: %v", r.RowID, err)
		}
		out = append(out, outboxEvent{Subject: r.Subject, Type: ev.Type(), ID: ev.ID(), Record: rec})
	}
	return out
}

// drainOutbox deletes every pending row, so a test sees only its own events.
func (e *env) drainOutbox() {
	e.t.Helper()
	rows, err := e.store.OutboxPending(context.Background(), 100000)
	if err != nil {
		e.t.Fatalf("OutboxPending: %v", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.RowID
	}
	if len(ids) > 0 {
		if err := e.store.OutboxDelete(context.Background(), ids...); err != nil {
			e.t.Fatalf("OutboxDelete: %v", err)
		}
	}
}

type outboxEvent struct {
	Subject string
	Type    string
	ID      string
	Record  events.Record
}

// apiCode returns the S3 error code of err ("" when err is nil or has none).
func apiCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "not-an-api-error: " + err.Error()
}

// httpStatus returns the HTTP status of an SDK error.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := apiCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// countDataFiles counts the object files ("~o") under the location roots.
func countDataFiles(t *testing.T, root string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), "~o") {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return n
}
