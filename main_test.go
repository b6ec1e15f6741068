package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// syncBuffer is a bytes.Buffer safe for the command writing and the test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env returns a lookup that sees only the given variables, so tests never depend on the
// caller's environment.
func env(kv map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := kv[name]
		return v, ok
	}
}

func withEnv(t *testing.T, kv map[string]string) {
	t.Helper()
	old := lookupEnv
	lookupEnv = env(kv)
	t.Cleanup(func() { lookupEnv = old })
}

// waitFor polls fn until it returns nil or the deadline passes.
func waitFor(t *testing.T, total time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %v", total, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runCLI(context.Background(), []string{"version"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "sluice ") {
		t.Fatalf("version output %q", out.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"run"}, {"run", "nosuchtarget"}, {"run", "all", "-bogus"}} {
		var out, errb bytes.Buffer
		if code := runCLI(context.Background(), args, &out, &errb); code != exitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", args, code, exitUsage, errb.String())
		}
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeFile(t, good, "data_dir: "+dir+"\nroot_access_key: ops\nroot_secret_key: very-secret-value\ns3:\n  listen: 127.0.0.1:9700\n")
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "http:\n  listen: ':9601'\nno_such_field: 1\n")

	withEnv(t, map[string]string{"SLUICE_HTTP_LISTEN": "127.0.0.1:9800"})
	var out, errb bytes.Buffer
	if code := runCLI(context.Background(), []string{"check-config", "-config", good}, &out, &errb); code != exitOK {
		t.Fatalf("good config: exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{"127.0.0.1:9700", "127.0.0.1:9800", "ops"} {
		if !strings.Contains(got, want) {
			t.Errorf("effective config lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "very-secret-value") {
		t.Errorf("check-config printed a secret:\n%s", got)
	}

	out.Reset()
	errb.Reset()
	if code := runCLI(context.Background(), []string{"check-config", "-config", bad}, &out, &errb); code != exitFailed {
		t.Fatalf("bad config: exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(errb.String(), "no_such_field") {
		t.Errorf("error does not name the unknown field: %s", errb.String())
	}

	// A flag wins over the environment and the file.
	out.Reset()
	if code := runCLI(context.Background(), []string{"check-config", "-config", good, "-s3-listen", "127.0.0.1:9900"}, &out, &errb); code != exitOK {
		t.Fatalf("flag override: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "127.0.0.1:9900") {
		t.Errorf("flag did not override s3 listen:\n%s", out.String())
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

var bannerURL = regexp.MustCompile(`(?m)^\s+(S3 endpoint|health/admin):\s+(http://[0-9.:]+)`)

// TestRunAll starts `sluice run all` in-process on ephemeral ports with a temp data dir
// and an embedded NATS, checks that it answers health, readiness and S3, then stops it
// through its context and expects a clean exit.
func TestRunAll(t *testing.T) {
	dir := t.TempDir()
	withEnv(t, map[string]string{
		"SLUICE_NATS_LISTEN": "127.0.0.1:0",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer hook.Close()
	cfgPath := filepath.Join(dir, "sluice.yaml")
	writeFile(t, cfgPath, "events:\n  targets:\n    - name: hook\n      kind: webhook\n      url: "+hook.URL+"\n")
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runCLI(ctx, []string{"run", "all", "-config", cfgPath, "-data-dir", dir, "-http-listen", "127.0.0.1:0", "-s3-listen", "127.0.0.1:0"}, &out, &errb)
	}()

	urls := map[string]string{}
	waitFor(t, 60*time.Second, func() error {
		select {
		case code := <-done:
			t.Fatalf("sluice exited early with %d: %s", code, errb.String())
		default:
		}
		for _, m := range bannerURL.FindAllStringSubmatch(out.String(), -1) {
			urls[m[1]] = m[2]
		}
		if len(urls) < 2 {
			return fmt.Errorf("banner incomplete: %q", out.String())
		}
		return nil
	})
	// With one location and no replication.destinations the replicator stays out.
	if !strings.Contains(out.String(), "replication:   idle") || strings.Contains(out.String(), "replicator") {
		t.Errorf("banner does not report the idle replicator:\n%s", out.String())
	}
	health := urls["health/admin"]
	for _, path := range []string{"/healthz", "/readyz"} {
		waitFor(t, 30*time.Second, func() error {
			resp, err := http.Get(health + path)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", path, resp.Status)
			}
			return nil
		})
	}
	// An anonymous request to the S3 endpoint is denied with an S3 error.
	resp, err := http.Get(urls["S3 endpoint"] + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amz-request-id") == "" {
		t.Fatalf("anonymous S3 request: %s, request id %q", resp.Status, resp.Header.Get("x-amz-request-id"))
	}
	// The indexer answers searches on the admin listener; a malformed query is a 400.
	for q, want := range map[string]int{"key%3D%27a%27": http.StatusOK, "key%3D%3D": http.StatusBadRequest} {
		resp, err := http.Get(health + "/admin/index/search?q=" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("index search %s: %s, want %d", q, resp.Status, want)
		}
	}
	// `sluice index rebuild` lists the S3 endpoint and rebuilds the index of a bucket.
	s3c := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(urls["S3 endpoint"]), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(devRootAccessKey, devRootSecretKey, ""),
	})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("rebuilt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("rebuilt"), Key: aws.String("a.txt"), Body: strings.NewReader("a")}); err != nil {
		t.Fatal(err)
	}
	var rbOut, rbErr bytes.Buffer
	if code := runCLI(ctx, []string{"index", "rebuild", "-config", cfgPath, "-data-dir", dir, "-endpoint", urls["S3 endpoint"], "-bucket", "rebuilt"}, &rbOut, &rbErr); code != exitOK {
		t.Fatalf("index rebuild: exit %d: %s", code, rbErr.String())
	}
	if !strings.Contains(rbOut.String(), "rebuilt 1 bucket(s), 1 version(s)") {
		t.Errorf("index rebuild output: %q", rbOut.String())
	}
	// `sluice replication object` asks s3front for one object's replication state: no
	// rules, so no status.
	var roOut, roErr bytes.Buffer
	if code := runCLI(ctx, []string{"replication", "-admin", health, "object", "rebuilt", "a.txt"}, &roOut, &roErr); code != exitOK {
		t.Fatalf("replication object: exit %d: %s", code, roErr.String())
	}
	if !strings.Contains(roOut.String(), `"key": "a.txt"`) || !strings.Contains(roOut.String(), `"status": ""`) {
		t.Errorf("replication object output: %s", roOut.String())
	}
	roErr.Reset()
	if code := runCLI(ctx, []string{"replication", "-admin", health, "object", "rebuilt", "nosuch"}, &roOut, &roErr); code != exitFailed || !strings.Contains(roErr.String(), "404") {
		t.Errorf("replication object of a missing key: exit %d, stderr %q", code, roErr.String())
	}
	// `sluice events` talks to the admin API of the running process.
	var evOut, evErr bytes.Buffer
	if code := runCLI(ctx, []string{"events", "-admin", health, "status", "hook"}, &evOut, &evErr); code != exitOK {
		t.Fatalf("sluice events status: exit %d: %s", code, evErr.String())
	}
	if !strings.Contains(evOut.String(), `"hook"`) {
		t.Errorf("events status does not name the target:\n%s", evOut.String())
	}
	evOut.Reset()
	if code := runCLI(ctx, []string{"events", "-admin", health, "status", "nosuch"}, &evOut, &evErr); code != exitFailed {
		t.Errorf("status of an unknown target: exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(out.String(), "access key:    "+devRootAccessKey) {
		t.Errorf("banner lacks the development access key:\n%s", out.String())
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d after cancel: %s", code, errb.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("sluice did not stop after its context ended")
	}
	if _, err := os.Stat(filepath.Join(dir, "nats")); err != nil {
		t.Errorf("embedded NATS store not under the data dir: %v", err)
	}
}

// TestDeployConfigs keeps the example configurations in deploy/ valid.
func TestDeployConfigs(t *testing.T) {
	files, err := filepath.Glob("deploy/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example configs found: %v", err)
	}
	withEnv(t, map[string]string{"SLUICE_ROOT_ACCESS_KEY": "ops-key", "SLUICE_ROOT_SECRET_KEY": "ops-secret-value"})
	for _, f := range files {
		var out, errb bytes.Buffer
		if code := runCLI(context.Background(), []string{"check-config", "-config", f}, &out, &errb); code != exitOK {
			t.Errorf("%s: exit %d: %s", f, code, errb.String())
		}
		if strings.Contains(out.String(), "ops-secret-value") {
			t.Errorf("%s: secret printed", f)
		}
	}
}
