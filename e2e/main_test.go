package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-io/sluice/e2e/peers"
	"github.com/sluice-io/sluice/e2e/stack"
)

// requireClientsEnv, set to 1, turns a missing client program (/usr/bin/aws, rclone)
// into a test failure instead of a skip; CI sets it so a missing install is not green.
const requireClientsEnv = "SLUICE_REQUIRE_CLIENTS"

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		sluiceBin.remove()
		os.Exit(code)
	}))
}

// sluiceBin is the sluice binary every test in this package runs: $SLUICE_BIN, or one
// build of the source tree shared by all tests and removed by TestMain.
var sluiceBin buildOnce

type buildOnce struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// get returns the binary's path, building it on first use; a failure fails t.
func (b *buildOnce) get(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "sluice-e2e-bin-")
		if b.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		b.path, b.err = stack.Binary(ctx, b.dir)
	})
	if b.err != nil {
		t.Fatalf("sluice binary: %v", b.err)
	}
	return b.path
}

func (b *buildOnce) remove() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// startSluice starts `sluice run all` on fresh 127.0.0.1 ports and a fresh data
// directory, and stops it in t.Cleanup.
func startSluice(t *testing.T) *peers.Server {
	t.Helper()
	bin := sluiceBin.get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := peers.Start(ctx, peers.Sluice, peers.Options{Binary: bin})
	if err != nil {
		t.Fatalf("start sluice: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sluice log tail:\n%s", s.LogTail(8192))
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("stop sluice: %v", err)
		}
	})
	return s
}

// skipShort skips whole-stack tests under -short: each starts real processes.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("whole-stack test: starts the sluice binary (skipped with -short)")
	}
}

// requireProgram returns path when it is an executable file. Otherwise it skips t, or
// fails it when $SLUICE_REQUIRE_CLIENTS is 1.
func requireProgram(t *testing.T, path string) string {
	t.Helper()
	st, err := os.Stat(path)
	if err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
		return path
	}
	msg := path + " is not installed"
	if err != nil {
		msg += " (" + err.Error() + ")"
	}
	if os.Getenv(requireClientsEnv) == "1" {
		t.Fatalf("%s; $%s=1 requires it", msg, requireClientsEnv)
	}
	t.Skipf("%s; install it or set $%s=1 to make this a failure", msg, requireClientsEnv)
	return ""
}

// cleanEnv returns the process environment without the variables whose names start
// with one of prefixes, plus extra.
func cleanEnv(prefixes []string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				drop = true
				break
			}
		}
		if !drop {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runResult is what a client program printed and how it ended.
type runResult struct {
	stdout, stderr string
	err            error
}

// runProgram runs name with args and env in dir, bounded by timeout.
func runProgram(t *testing.T, timeout time.Duration, env []string, dir, name string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return runResult{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// writeRandomFile writes size pseudo-random bytes (from seed) to path, streaming.
func writeRandomFile(t *testing.T, path string, size int64, seed uint64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	if _, err := io.CopyN(f, rand.NewChaCha8(s), size); err != nil {
		_ = f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes content to path, creating its directory.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fileSHA256 hashes a file without reading it into memory.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sameFile fails t unless the two files have the same bytes.
func sameFile(t *testing.T, want, got string) {
	t.Helper()
	if a, b := fileSHA256(t, want), fileSHA256(t, got); a != b {
		t.Errorf("%s and %s differ (sha256 %s vs %s)", want, got, a, b)
	}
}
