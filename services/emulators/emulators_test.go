package emulators

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// controllable is what every emulator offers to take it down and back.
type controllable interface {
	Stop()
	Kill()
	Restart(t testing.TB)
	Running() bool
	Port() int
}

// emulator starts one kind of server and returns a way to write and read
// an object on it.
type emulator struct {
	name string
	// killKeepsData: a write acknowledged before SIGKILL survives. Azurite
	// saves its metadata every few seconds, so a kill loses recent writes.
	killKeepsData bool
	start         func(t *testing.T) (srv controllable, put func(key, value string) error, get func(key string) (string, error))
}

func TestEmulatorsRestartKeepData(t *testing.T) {
	tests := []emulator{
		{"minio", true, func(t *testing.T) (srv controllable, put func(k, v string) error, get func(k string) (string, error)) {
			m := StartMinIO(t)
			bucket := m.NewBucket(t)
			c := m.Client()
			put = func(k, v string) error {
				_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader(v)})
				return err
			}
			get = func(k string) (string, error) {
				out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
				if err != nil {
					return "", err
				}
				defer out.Body.Close()
				b, err := io.ReadAll(out.Body)
				return string(b), err
			}
			return m, put, get
		}},
		{"azurite", false, func(t *testing.T) (srv controllable, put func(k, v string) error, get func(k string) (string, error)) {
			a := StartAzurite(t)
			container := a.NewContainer(t)
			c, err := a.Client()
			if err != nil {
				t.Fatal(err)
			}
			put = func(k, v string) error {
				_, err := c.UploadBuffer(t.Context(), container, k, []byte(v), nil)
				return err
			}
			get = func(k string) (string, error) {
				out, err := c.DownloadStream(t.Context(), container, k, nil)
				if err != nil {
					return "", err
				}
				defer out.Body.Close()
				b, err := io.ReadAll(out.Body)
				return string(b), err
			}
			return a, put, get
		}},
		{"fake-gcs-server", true, func(t *testing.T) (srv controllable, put func(k, v string) error, get func(k string) (string, error)) {
			f := StartFakeGCS(t, FakeGCSOnDisk())
			bucket := f.NewBucket(t)
			put = func(k, v string) error {
				url := fmt.Sprintf("%s/upload/storage/v1/b/%s/o?uploadType=media&name=%s", f.base, bucket, k)
				return do(t, http.MethodPost, url, v, nil)
			}
			get = func(k string) (string, error) {
				var b bytes.Buffer
				err := do(t, http.MethodGet, fmt.Sprintf("%s/storage/v1/b/%s/o/%s?alt=media", f.base, bucket, k), "", &b)
				return b.String(), err
			}
			return f, put, get
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, put, get := tc.start(t)
			if !srv.Running() || srv.Port() == 0 {
				t.Fatalf("after start: Running = %v, Port = %d", srv.Running(), srv.Port())
			}
			if err := put("k1", "before restart"); err != nil {
				t.Fatalf("put: %v", err)
			}
			srv.Stop()
			srv.Stop() // twice is fine
			if srv.Running() {
				t.Fatal("Running after Stop")
			}
			if _, err := get("k1"); err == nil {
				t.Fatal("get succeeded while the emulator was stopped")
			}
			srv.Restart(t)
			if got, err := get("k1"); err != nil || got != "before restart" {
				t.Fatalf("after restart: get = %q, %v; want the object written before", got, err)
			}
			if err := put("k2", "after restart"); err != nil {
				t.Fatalf("put after restart: %v", err)
			}
			srv.Kill()
			if srv.Running() {
				t.Fatal("Running after Kill")
			}
			srv.Restart(t)
			if tc.killKeepsData {
				if got, err := get("k2"); err != nil || got != "after restart" {
					t.Fatalf("after kill and restart: get = %q, %v", got, err)
				}
			}
			if err := put("k3", "after kill"); err != nil {
				t.Fatalf("put after kill and restart: %v", err)
			}
			if got, err := get("k3"); err != nil || got != "after kill" {
				t.Fatalf("get after kill and restart: %q, %v", got, err)
			}
		})
	}
}

// do sends one request and copies a 2xx response body to out.
func do(t *testing.T, method, url, body string, out io.Writer) error {
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := plainClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, msg)
	}
	if out != nil {
		_, err = io.Copy(out, resp.Body)
	}
	return err
}

// recordingTB records how a starter ended the test instead of ending it.
type recordingTB struct {
	testing.TB
	mu      sync.Mutex
	skipped string
	fatal   string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func TestMissingEmulatorSkipsOrFails(t *testing.T) {
	starters := map[string]struct {
		env   string
		start func(testing.TB)
	}{
		"minio":           {"SLUICE_MINIO_BIN", func(tb testing.TB) { StartMinIO(tb) }},
		"azurite":         {"SLUICE_AZURITE_BIN", func(tb testing.TB) { StartAzurite(tb) }},
		"fake-gcs-server": {"SLUICE_FAKE_GCS_BIN", func(tb testing.TB) { StartFakeGCS(tb) }},
	}
	for name, st := range starters {
		for _, require := range []string{"", "1"} {
			t.Run(fmt.Sprintf("%s require=%q", name, require), func(t *testing.T) {
				t.Setenv(st.env, "/nonexistent/emulator")
				t.Setenv(RequireEnv, require)
				rec := &recordingTB{TB: t}
				done := make(chan struct{})
				go func() {
					defer close(done)
					st.start(rec)
				}()
				<-done
				rec.mu.Lock()
				defer rec.mu.Unlock()
				wantFatal := require == "1"
				if got := rec.fatal != ""; got != wantFatal {
					t.Fatalf("fatal = %q, skipped = %q; want fatal %v", rec.fatal, rec.skipped, wantFatal)
				}
				if got := rec.skipped != ""; got == wantFatal {
					t.Fatalf("skipped = %q, fatal = %q; want skipped %v", rec.skipped, rec.fatal, !wantFatal)
				}
				if msg := rec.fatal + rec.skipped; !strings.Contains(msg, "/nonexistent/emulator") {
					t.Fatalf("message %q does not say which binary is missing", msg)
				}
			})
		}
	}
}

func TestProcessExitBeforeReady(t *testing.T) {
	// A "server" that exits at once: start must report it with the log.
	p := &process{name: "false", bin: "/bin/sh", args: []string{"-c", "echo boom; exit 3"},
		log: t.TempDir() + "/false.log", ready: func(context.Context, int) error { return errors.New("not ready") }}
	start := time.Now()
	err := p.start()
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("start = %v, want an exit error quoting the log", err)
	}
	if p.running() {
		t.Fatal("process still marked running")
	}
	t.Logf("failed start reported after %v", time.Since(start))
}
