package emulators

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-io/sluice/services/location"
)

// FakeGCS is a running (or stopped) fake-gcs-server. Its methods are safe
// for concurrent use; those taking a testing.TB must be called from that
// test's goroutine.
type FakeGCS struct {
	server
	base string
}

// FakeGCSOption changes how StartFakeGCS runs the server.
type FakeGCSOption func(*fakeGCSOptions)

type fakeGCSOptions struct {
	onDisk bool
}

// FakeGCSOnDisk keeps objects in files under the test's temp directory, so
// they survive Stop, Kill and Restart. The file layout has limits GCS does
// not: an object "a" and an object "a/b" cannot both exist, and no name
// segment may exceed the file system's 255 bytes.
func FakeGCSOnDisk() FakeGCSOption {
	return func(o *fakeGCSOptions) { o.onDisk = true }
}

// StartFakeGCS starts fake-gcs-server over plain HTTP on 127.0.0.1, waits
// until it is healthy and stops it when t ends. Objects are kept in memory,
// with GCS's naming rules, and lost when the server stops; see
// FakeGCSOnDisk. It skips t (or fails it, see RequireEnv) when the binary
// cannot be found or started.
func StartFakeGCS(t testing.TB, opts ...FakeGCSOption) *FakeGCS {
	t.Helper()
	var o fakeGCSOptions
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := findBinary("SLUICE_FAKE_GCS_BIN", "fake-gcs-server", goBin("fake-gcs-server"))
	args := func(port int, data string) []string {
		base := "http://127.0.0.1:" + strconv.Itoa(port)
		backend := []string{"-backend", "memory"}
		if o.onDisk {
			backend = []string{"-backend", "filesystem", "-filesystem-root", data}
		}
		return append([]string{"-scheme", "http", "-host", "127.0.0.1", "-port", strconv.Itoa(port),
			"-external-url", base, "-public-host", "127.0.0.1:" + strconv.Itoa(port), "-log-level", "warn"}, backend...)
	}
	ready := httpReady("/_internal/healthcheck", func(status int) bool { return status == http.StatusOK })
	s := launch(t, "fake-gcs-server", bin, err, nil, args, ready)
	return &FakeGCS{server: s, base: "http://127.0.0.1:" + strconv.Itoa(s.Port())}
}

// Endpoint returns the JSON API endpoint to give the storage client with
// option.WithEndpoint: "http://127.0.0.1:<port>/storage/v1/".
func (f *FakeGCS) Endpoint() string { return f.base + "/storage/v1/" }

// NewBucket creates a bucket with a fresh random name and returns the
// name. It fails t if the bucket cannot be created.
func (f *FakeGCS) NewBucket(t testing.TB) string {
	t.Helper()
	name := randomName("sluice-")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"name": name}) // cannot fail on a map of strings
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.base+"/storage/v1/b?project=sluice-test", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("fake-gcs-server: create bucket: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := plainClient.Do(req)
	if err != nil {
		t.Fatalf("fake-gcs-server: create bucket %s: %v", name, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fake-gcs-server: create bucket %s: status %d: %s", name, resp.StatusCode, msg)
	}
	return name
}

// Config returns the location config of bucket (under prefix, which may be
// empty) on this server.
func (f *FakeGCS) Config(bucket, prefix string) location.Config {
	return location.Config{Type: location.TypeGCS, GCS: &location.GCSConfig{
		Endpoint: f.Endpoint(),
		Bucket:   bucket,
		Prefix:   prefix,
	}}
}

// String describes the server for test logs.
func (f *FakeGCS) String() string { return fmt.Sprintf("fake-gcs-server at %s", f.base) }
