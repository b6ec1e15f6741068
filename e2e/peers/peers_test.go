package peers_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/peers"
)

// roundTrip creates a bucket on srv, writes an object and reads it back.
func roundTrip(t *testing.T, srv *peers.Server) {
	t.Helper()
	ctx := context.Background()
	client, closeIdle := load.NewClient(load.Config{
		Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Region: srv.Region,
	}.WithDefaults())
	defer closeIdle()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("peers-test")}); err != nil {
		t.Fatalf("create bucket on %s: %v", srv.Kind, err)
	}
	body := []byte("hello from " + string(srv.Kind))
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("peers-test"), Key: aws.String("a/b"),
		Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("put on %s: %v", srv.Kind, err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("peers-test"), Key: aws.String("a/b")})
	if err != nil {
		t.Fatalf("get on %s: %v", srv.Kind, err)
	}
	got, err := io.ReadAll(out.Body)
	_ = out.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("get on %s = %q, %v; want %q", srv.Kind, got, err, body)
	}
}

// pidAlive reports whether a process with pid runs: it exists and is not a zombie
// (an orphan's zombie may linger when PID 1 does not reap). It polls for up to 5 s, since
// a killed process dies asynchronously.
func pidAlive(pid int) bool {
	deadline := time.Now().Add(5 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		alive := syscall.Kill(pid, 0) == nil
		if err == nil {
			// The state follows the parenthesised command name: "pid (comm) S ...".
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				alive = false
			}
		}
		if !alive || time.Now().After(deadline) {
			return alive
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStartEachPeer(t *testing.T) {
	kinds := []peers.Kind{peers.MinIO, peers.VersityGW}
	if !testing.Short() {
		// Building sluice takes a while on a cold cache; -short leaves it out.
		kinds = append(kinds, peers.Sluice)
	}
	for _, k := range kinds {
		t.Run(string(k), func(t *testing.T) {
			srv := peers.StartTest(t, k)
			if !strings.HasPrefix(srv.Endpoint, "http://127.0.0.1:") {
				t.Fatalf("endpoint %q is not on 127.0.0.1", srv.Endpoint)
			}
			if k == peers.Sluice && (srv.NATSURL == "" || srv.HTTPURL == "") {
				t.Fatalf("sluice server lacks NATS or HTTP URL: %+v", srv)
			}
			roundTrip(t, srv)

			pid := srv.PID()
			if err := srv.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := srv.Stop(context.Background()); err != nil {
				t.Fatalf("second Stop = %v", err)
			}
			if !srv.Exited() || pidAlive(pid) {
				t.Fatalf("%s (pid %d) still running after Stop", k, pid)
			}
			if _, err := os.Stat(srv.Dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Stop left %s behind: %v", srv.Dir, err)
			}
		})
	}
}

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartFailures(t *testing.T) {
	tmp := t.TempDir()
	pidFile := filepath.Join(tmp, "child.pid")
	cases := []struct {
		name string
		bin  string
		want error
	}{
		{"exits at once", script(t, tmp, "exits", "echo 'boom: bad flag' >&2; exit 3"), peers.ErrExited},
		// The server never answers its health check; its child must die with it.
		{"never ready", script(t, tmp, "hangs", "sleep 60 & echo $! > "+pidFile+"; wait"), peers.ErrNotReady},
		{"missing binary", filepath.Join(tmp, "no-such-binary"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			srv, err := peers.Start(ctx, peers.MinIO, peers.Options{Binary: tc.bin, Dir: dir, ReadyTimeout: time.Second})
			if err == nil {
				_ = srv.Stop(ctx)
				t.Fatal("Start succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Start = %v, want %v", err, tc.want)
			}
			if tc.want == peers.ErrExited && !strings.Contains(err.Error(), "boom: bad flag") {
				t.Fatalf("error lacks the log tail: %v", err)
			}
		})
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if pidAlive(child) {
		t.Fatalf("the never-ready server's child %d survived Start's cleanup", child)
	}
}

func TestFind(t *testing.T) {
	tmp := t.TempDir()
	exe := script(t, tmp, "fake-server", "exit 0")
	notExe := filepath.Join(tmp, "plain")
	if err := os.WriteFile(notExe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind    peers.Kind
		env     string
		want    string
		wantErr error
	}{
		{peers.MinIO, exe, exe, nil},
		{peers.VersityGW, notExe, "", peers.ErrBinaryNotFound},
		{peers.Sluice, exe, exe, nil},
		{peers.Sluice, "", "", peers.ErrBinaryNotFound},
		{peers.Kind("ceph"), "", "", peers.ErrUnknownKind},
	} {
		t.Run(string(tc.kind)+"="+tc.env, func(t *testing.T) {
			if e := peers.BinaryEnv(tc.kind); e != "" {
				t.Setenv(e, tc.env)
			}
			got, err := peers.Find(tc.kind)
			if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Find(%s) = %q, %v; want %q, %v", tc.kind, got, err, tc.want, tc.wantErr)
			}
		})
	}
	t.Run("FindAll", func(t *testing.T) {
		t.Setenv("SLUICE_MINIO_BIN", exe)
		all := peers.FindAll()
		if len(all) != len(peers.Kinds) || all[1].Kind != peers.MinIO || all[1].Path != exe || all[1].Err != nil {
			t.Fatalf("FindAll() = %+v", all)
		}
	})
}

func TestParseKind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want peers.Kind
		ok   bool
	}{{"minio", peers.MinIO, true}, {" VersityGW", peers.VersityGW, true}, {"sluice", peers.Sluice, true}, {"ceph", "", false}} {
		got, err := peers.ParseKind(tc.in)
		if got != tc.want || (err == nil) != tc.ok || (err != nil && !errors.Is(err, peers.ErrUnknownKind)) {
			t.Errorf("ParseKind(%q) = %q, %v", tc.in, got, err)
		}
	}
}
