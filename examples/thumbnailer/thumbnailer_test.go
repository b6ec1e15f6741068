package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/events/bus"
	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/deliver/signature"
	"github.com/sluice-io/sluice/events/filter"
	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/events/subject"
)

const (
	minioUser   = "thumbadmin"
	minioSecret = "thumbadmin-secret"
	hookSecret  = "function-secret"
)

// minio is one MinIO server shared by the package's tests, started on
// first use and stopped by TestMain.
var minio struct {
	once     sync.Once
	cmd      *exec.Cmd
	endpoint string
	err      error
	skip     string
	dir      string
	log      bytes.Buffer
}

func TestMain(m *testing.M) {
	code := m.Run()
	if minio.cmd != nil {
		_ = minio.cmd.Process.Kill()
		_ = minio.cmd.Wait()
	}
	if minio.dir != "" {
		_ = os.RemoveAll(minio.dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// minioBin finds the MinIO binary: $SLUICE_MINIO_BIN, /root/go/bin/minio,
// or minio on PATH.
func minioBin() string {
	for _, p := range []string{os.Getenv("SLUICE_MINIO_BIN"), "/root/go/bin/minio"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	p, _ := exec.LookPath("minio")
	return p
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startMinIO returns the endpoint of the shared MinIO; without a MinIO
// binary it skips the test, unless SLUICE_REQUIRE_PEERS=1.
func startMinIO(t testing.TB) string {
	t.Helper()
	minio.once.Do(func() {
		bin := minioBin()
		if bin == "" {
			minio.skip = "no MinIO binary (set SLUICE_MINIO_BIN)"
			return
		}
		dir, err := os.MkdirTemp("", "thumbnailer-minio-")
		if err != nil {
			minio.err = err
			return
		}
		minio.dir = dir
		addr, console := freePort(t), freePort(t)
		cmd := exec.Command(bin, "server", dir, "--address", addr, "--console-address", console, "--quiet")
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+minioUser, "MINIO_ROOT_PASSWORD="+minioSecret,
			"MINIO_UPDATE=off", "MINIO_CALLHOME_ENABLE=off", "MINIO_BROWSER=off")
		cmd.Stdout, cmd.Stderr = &minio.log, &minio.log
		if err := cmd.Start(); err != nil {
			minio.err = err
			return
		}
		minio.cmd = cmd
		minio.endpoint = "http://" + addr
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(minio.endpoint + "/minio/health/live")
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				minio.err = fmt.Errorf("MinIO not live after 30s: %v\n%s", err, minio.log.String())
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		http.DefaultClient.CloseIdleConnections()
	})
	if minio.skip != "" {
		if os.Getenv("SLUICE_REQUIRE_PEERS") == "1" {
			t.Fatalf("SLUICE_REQUIRE_PEERS=1 but %s", minio.skip)
		}
		t.Skip(minio.skip)
	}
	if minio.err != nil {
		t.Fatalf("MinIO: %v", minio.err)
	}
	return minio.endpoint
}

// s3Client returns a path-style client for endpoint whose idle
// connections are closed when the test ends.
func s3Client(t testing.TB, endpoint string) *s3.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return s3.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(minioUser, minioSecret, ""),
		HTTPClient:  &http.Client{Transport: tr},
	}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// imageBytes renders a w×h gradient in format.
func imageBytes(t testing.TB, w, h int, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var b bytes.Buffer
	var err error
	if format == "jpeg" {
		err = jpeg.Encode(&b, img, nil)
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func put(t testing.TB, c *s3.Client, bucket, key, ctype string, body []byte) {
	t.Helper()
	_, err := c.PutObject(testCtx(t), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), ContentType: &ctype})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

var bucketSeq atomic.Int64

// makeBucket creates a bucket named prefix-<n>, unique in the shared
// MinIO, and returns its name.
func makeBucket(t testing.TB, c *s3.Client, prefix string) string {
	t.Helper()
	bucket := fmt.Sprintf("%s-%d", prefix, bucketSeq.Add(1))
	if _, err := c.CreateBucket(testCtx(t), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	return bucket
}

// record is the S3 event record of an object.
func record(name events.EventName, bucket, key, ctype string) events.Record {
	rec := events.Record{EventName: name, EventTime: time.Now(), AWSRegion: "us-east-1",
		S3:     events.S3Entity{Bucket: events.BucketEntity{Name: bucket}, Object: events.ObjectEntity{Size: 10, Sequencer: "01"}},
		Sluice: &events.SluiceData{ContentType: ctype}}
	rec.SetObjectKey(key)
	return rec
}

// send POSTs rec as a CloudEvent in mode, signed with secret ("" for no
// signature), and returns the status.
func send(t testing.TB, url string, rec events.Record, mode events.HTTPMode, secret string) int {
	t.Helper()
	ce, err := events.ToCloudEvent(deliver.NewEventID("t"), rec)
	if err != nil {
		t.Fatal(err)
	}
	req, err := events.NewHTTPRequest(testCtx(t), url, ce, mode)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	if secret != "" {
		req.Header.Set(signature.Header, signature.Sign([]byte(secret), body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// thumb returns the decoded thumbnail at key and its content type, or
// ok=false when it does not exist.
func thumb(t testing.TB, c *s3.Client, bucket, key string) (image.Config, string, bool) {
	t.Helper()
	out, err := c.GetObject(testCtx(t), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if isNotFound(err) {
		return image.Config{}, "", false
	}
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	cfg, _, err := image.DecodeConfig(out.Body)
	if err != nil {
		t.Fatalf("decode %s: %v", key, err)
	}
	if out.Metadata[metaSourceETag] == "" {
		t.Errorf("%s has no %s metadata", key, metaSourceETag)
	}
	return cfg, aws.ToString(out.ContentType), true
}

func newServer(t testing.TB, c *s3.Client) (*Thumbnailer, string) {
	t.Helper()
	th, err := New(Config{S3: c, Secrets: [][]byte{[]byte(hookSecret)}, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := th.Handler(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	return th, srv.URL
}

func TestThumbnailer(t *testing.T) {
	c := s3Client(t, startMinIO(t))
	bucket := makeBucket(t, c, "photos")
	put(t, c, bucket, "big.png", "image/png", imageBytes(t, 600, 400, "png"))
	put(t, c, bucket, "camera/IMG_1.JPG", "image/jpeg", imageBytes(t, 500, 800, "jpeg"))
	put(t, c, bucket, "untyped.jpeg", "application/octet-stream", imageBytes(t, 300, 300, "jpeg"))
	put(t, c, bucket, "small.png", "image/png", imageBytes(t, 100, 50, "png"))
	put(t, c, bucket, "notes.txt", "text/plain", []byte("hello"))
	put(t, c, bucket, "thumbnails/old.png", "image/png", imageBytes(t, 600, 400, "png"))
	put(t, c, bucket, "broken.png", "image/png", []byte("not a png at all"))
	th, url := newServer(t, c)

	tests := []struct {
		name       string
		rec        events.Record
		mode       events.HTTPMode
		secret     string
		wantStatus int
		thumbKey   string // expected thumbnail, "" for none
		w, h       int
		ctype      string
	}{
		{"png, binary mode", record(events.ObjectCreatedPut, bucket, "big.png", "image/png"), events.HTTPBinary, hookSecret,
			200, "thumbnails/big.png", 256, 170, "image/png"},
		{"jpeg, structured mode", record(events.ObjectCreatedCompleteMultipartUpload, bucket, "camera/IMG_1.JPG", "image/jpeg"), events.HTTPStructured, hookSecret,
			200, "thumbnails/camera/IMG_1.JPG", 160, 256, "image/jpeg"},
		{"jpeg by suffix", record(events.ObjectCreatedCopy, bucket, "untyped.jpeg", ""), events.HTTPBinary, hookSecret,
			200, "thumbnails/untyped.jpeg", 256, 256, "image/jpeg"},
		{"small image kept as is", record(events.ObjectCreatedPut, bucket, "small.png", "image/png"), events.HTTPBinary, hookSecret,
			200, "thumbnails/small.png", 100, 50, "image/png"},
		{"not an image", record(events.ObjectCreatedPut, bucket, "notes.txt", "text/plain"), events.HTTPBinary, hookSecret, 200, "", 0, 0, ""},
		{"own output ignored", record(events.ObjectCreatedPut, bucket, "thumbnails/old.png", "image/png"), events.HTTPBinary, hookSecret, 200, "", 0, 0, ""},
		{"deleted since", record(events.ObjectCreatedPut, bucket, "gone.png", "image/png"), events.HTTPBinary, hookSecret, 200, "", 0, 0, ""},
		{"removal ignored", record(events.ObjectRemovedDelete, bucket, "big.png", ""), events.HTTPBinary, hookSecret, 200, "", 0, 0, ""},
		{"test event", record(events.TestEvent, bucket, "", ""), events.HTTPBinary, hookSecret, 200, "", 0, 0, ""},
		{"corrupt image is permanent", record(events.ObjectCreatedPut, bucket, "broken.png", "image/png"), events.HTTPBinary, hookSecret, 422, "", 0, 0, ""},
		{"bad signature", record(events.ObjectCreatedPut, bucket, "big.png", "image/png"), events.HTTPBinary, "wrong", 401, "", 0, 0, ""},
		{"no signature", record(events.ObjectCreatedPut, bucket, "big.png", "image/png"), events.HTTPBinary, "", 401, "", 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := send(t, url, tt.rec, tt.mode, tt.secret); got != tt.wantStatus {
				t.Fatalf("status %d, want %d", got, tt.wantStatus)
			}
			if tt.thumbKey == "" {
				return
			}
			cfg, ct, ok := thumb(t, c, bucket, tt.thumbKey)
			if !ok || cfg.Width != tt.w || cfg.Height != tt.h || ct != tt.ctype {
				t.Fatalf("thumbnail %s: exists %v, %dx%d %s; want %dx%d %s", tt.thumbKey, ok, cfg.Width, cfg.Height, ct, tt.w, tt.h, tt.ctype)
			}
		})
	}
	for _, k := range []string{"thumbnails/thumbnails/old.png", "thumbnails/notes.txt", "thumbnails/broken.png", "thumbnails/gone.png"} {
		if _, _, ok := thumb(t, c, bucket, k); ok {
			t.Errorf("%s exists", k)
		}
	}
	// A redelivered event finds the thumbnail up to date and writes nothing.
	made := th.Made()
	if got := send(t, url, record(events.ObjectCreatedPut, bucket, "big.png", "image/png"), events.HTTPBinary, hookSecret); got != 200 {
		t.Fatalf("redelivery: status %d", got)
	}
	if th.Made() != made {
		t.Fatalf("redelivery wrote the thumbnail again")
	}
}

// TestEndToEnd runs the workflow through Sluice's delivery: an
// ObjectCreated event on the events stream reaches the thumbnailer through
// a function target, whose subscription filters uploads/ (so thumbnails
// never come back), and the thumbnail appears in the store.
func TestEndToEnd(t *testing.T) {
	c := s3Client(t, startMinIO(t))
	bucket := makeBucket(t, c, "uploads-e2e")
	_, url := newServer(t, c)

	srv := natstest.RunJetStream(t)
	b, err := bus.New(srv.JetStream(), bus.Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []bus.StreamSpec{bus.EventsStreamSpec(), bus.DLQStreamSpec()} {
		if _, err := b.EnsureStream(testCtx(t), spec); err != nil {
			t.Fatal(err)
		}
	}
	target := deliver.TargetConfig{Name: "thumbnailer", Kind: deliver.KindFunction, URL: url, Secret: hookSecret}
	src := deliver.NewMemorySource(deliver.Subscription{
		Bucket: bucket, ID: "thumbnails", TargetARN: target.ARN().String(),
		Rule: filter.Rule{Events: []string{"s3:ObjectCreated:*"}, Key: []filter.FilterRule{{Name: "prefix", Value: "uploads/"}}},
	})
	d, err := deliver.New(deliver.Config{Targets: []deliver.TargetConfig{target}}, deliver.Settings{Bus: b, Source: src, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	natstest.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		st, err := d.Status(testCtx(t), "thumbnailer")
		if err != nil || !st.Running {
			return fmt.Errorf("not running: %v", err)
		}
		return nil
	})

	put(t, c, bucket, "uploads/cat.png", "image/png", imageBytes(t, 1024, 512, "png"))
	rec := record(events.ObjectCreatedPut, bucket, "uploads/cat.png", "image/png")
	ce, err := events.ToCloudEvent("e2e-1", rec)
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := subject.ForEvent(bucket, string(events.ObjectCreatedPut))
	msg, err := events.NewNATSMsg(subj, ce)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(testCtx(t), msg); err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		cfg, _, ok := thumb(t, c, bucket, "thumbnails/uploads/cat.png")
		if !ok {
			return errors.New("no thumbnail yet")
		}
		if cfg.Width != 256 || cfg.Height != 128 {
			return fmt.Errorf("thumbnail is %dx%d", cfg.Width, cfg.Height)
		}
		return nil
	})
	// The thumbnail's own event is outside the subscription's prefix.
	rec2 := record(events.ObjectCreatedPut, bucket, "thumbnails/uploads/cat.png", "image/png")
	ce2, _ := events.ToCloudEvent("e2e-2", rec2)
	msg2, _ := events.NewNATSMsg(subj, ce2)
	if _, err := b.Publish(testCtx(t), msg2); err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		st, err := d.Status(testCtx(t), "thumbnailer")
		if err != nil {
			return err
		}
		if st.Backlog != 0 || st.Filtered != 1 || st.Delivered != 1 || st.DeadLetters != 0 {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
}

func TestImageFormat(t *testing.T) {
	for _, tt := range []struct{ key, ct, want string }{
		{"a.png", "", "png"}, {"a.PNG", "", "png"}, {"a.jpg", "", "jpeg"}, {"a.JPEG", "", "jpeg"},
		{"a", "image/png", "png"}, {"a", "image/jpeg; charset=binary", "jpeg"}, {"a.gif", "image/gif", ""},
		{"a.txt", "text/plain", ""}, {"a", "", ""},
	} {
		if got := imageFormat(tt.key, tt.ct); got != tt.want {
			t.Errorf("imageFormat(%q, %q) = %q, want %q", tt.key, tt.ct, got, tt.want)
		}
	}
}

func TestDecodeBoundedRefusesBombs(t *testing.T) {
	big := imageBytes(t, 400, 400, "png")
	if _, _, err := decodeBounded(bytes.NewReader(big), 1<<20, 100*100); err == nil || !strings.Contains(err.Error(), "pixels") {
		t.Fatalf("160,000 pixels over a 10,000 limit: %v", err)
	}
	if _, _, err := decodeBounded(bytes.NewReader(big), int64(len(big)/2), 1<<30); err == nil {
		t.Fatal("body over the byte limit decoded")
	}
	img, format, err := decodeBounded(bytes.NewReader(big), 1<<20, 1<<30)
	if err != nil || format != "png" || img.Bounds().Dx() != 400 {
		t.Fatalf("decode = %v, %q, %v", img.Bounds(), format, err)
	}
}
