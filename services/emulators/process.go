package emulators

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables the package reads.
const (
	// RequireEnv makes a missing or broken emulator fail the test instead of
	// skipping it when set to "1".
	RequireEnv = "SLUICE_REQUIRE_EMULATORS"
	// LogEnv copies every emulator's output to the test's stderr when set
	// to "1".
	LogEnv = "SLUICE_TEST_EMULATOR_LOG"
)

const (
	// readyTimeout bounds how long a start waits for the emulator to serve.
	readyTimeout = 60 * time.Second
	// stopTimeout bounds how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
	// pollInterval is how often readiness is polled.
	pollInterval = 50 * time.Millisecond
)

// plainClient makes the helpers' own HTTP requests; it keeps no idle
// connections, so no goroutine outlives a request.
var plainClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// unavailable skips t, or fails it when RequireEnv is "1".
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, RequireEnv)
	}
	t.Skipf("%s; set %s=1 to make this a failure", msg, RequireEnv)
}

// findBinary returns the first candidate that is an executable file: the
// path in env, name on PATH, then the extra paths.
func findBinary(env, name string, extra ...string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("$%s=%q is not an executable file", env, p)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, p := range extra {
		if p != "" && isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: set $%s, put it on PATH or install it at %v", name, env, extra)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// goBin returns $GOPATH/bin/name, $GOPATH defaulting to $HOME/go.
func goBin(name string) string {
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		gopath = filepath.Join(home, "go")
	}
	return filepath.Join(filepath.SplitList(gopath)[0], "bin", name)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// randomName returns prefix followed by 12 random lowercase hex digits: a
// valid S3 bucket, Azure container and GCS bucket name.
func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return prefix + hex.EncodeToString(b)
}

// process is one emulator child process that can be stopped and started
// again on the same port and data directory. Its methods are safe for
// concurrent use; start reports failures to the caller.
type process struct {
	name  string
	bin   string
	args  []string
	env   []string
	port  int
	log   string // path of the output file
	ready func(ctx context.Context, port int) error

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been waited for
}

// start runs the process and waits until ready reports it serving. It
// returns an error, with the tail of the log, when the process exits or
// is not ready in time; the process is then stopped.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	logFile, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%s: open log: %w", p.name, err)
	}
	var out io.Writer = logFile
	if os.Getenv(LogEnv) == "1" {
		out = io.MultiWriter(logFile, os.Stderr)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("%s: start %s: %w", p.name, p.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a stopped emulator is of no interest
		logFile.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var lastErr error
	for {
		if lastErr = p.ready(ctx, p.port); lastErr == nil {
			return nil
		}
		select {
		case <-done:
			p.stopLocked(0)
			return fmt.Errorf("%s exited before it was ready (%v); log %s:\n%s", p.name, lastErr, p.log, tail(p.log))
		case <-ctx.Done():
			p.stopLocked(stopTimeout)
			return fmt.Errorf("%s not ready after %v: %v; log %s:\n%s", p.name, readyTimeout, lastErr, p.log, tail(p.log))
		case <-time.After(pollInterval):
		}
	}
}

// stop sends SIGTERM (or SIGKILL when grace is 0), waits for the process to
// exit, escalating to SIGKILL after grace, and forgets it. Stopping a
// stopped process does nothing.
func (p *process) stop(grace time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked(grace)
}

func (p *process) stopLocked(grace time.Duration) {
	if p.cmd == nil {
		return
	}
	sig := syscall.SIGTERM
	if grace == 0 {
		sig = syscall.SIGKILL
	}
	_ = p.cmd.Process.Signal(sig) // fails only if it already exited
	select {
	case <-p.done:
	case <-time.After(grace + time.Millisecond):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd, p.done = nil, nil
}

// running reports whether the process was started and not stopped.
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// tail returns the last few KiB of the file at path.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const max = 4 << 10
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// httpReady returns a readiness probe that GETs path and accepts the
// statuses ok reports true for.
func httpReady(path string, ok func(status int) bool) func(ctx context.Context, port int) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: plainClient.Transport}
	return func(ctx context.Context, port int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if !ok(resp.StatusCode) {
			return fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
		return nil
	}
}

// server is what the three emulators share: the process, with its port
// and data directory.
type server struct {
	p *process
}

// launch finds the binary, prepares the process on a free port with its
// data directory and log in dir, starts it and registers its stop in
// t.Cleanup. It skips or fails t (see unavailable) when the emulator
// cannot be found or started. args receives the port.
func launch(t testing.TB, name string, bin string, findErr error, env []string, args func(port int, dataDir string) []string, ready func(ctx context.Context, port int) error) server {
	t.Helper()
	if findErr != nil {
		unavailable(t, "%s unavailable: %v", name, findErr)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var port int
		if port, err = freePort(); err != nil {
			t.Fatalf("%s: pick a port: %v", name, err)
		}
		p := &process{name: name, bin: bin, args: args(port, data), env: env, port: port,
			log: filepath.Join(dir, name+".log"), ready: ready}
		if err = p.start(); err == nil {
			t.Cleanup(func() { p.stop(stopTimeout) })
			return server{p: p}
		}
		// Another process may have taken the port between freePort and
		// the bind: try another one.
		if !portTaken(port) {
			break
		}
	}
	unavailable(t, "%s did not start: %v", name, err)
	return server{} // not reached: unavailable ends the test
}

// portTaken reports whether something accepts connections on port.
func portTaken(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Port returns the TCP port the emulator listens on, the same across
// restarts.
func (s server) Port() int { return s.p.port }

// Stop stops the emulator gracefully (SIGTERM, then SIGKILL after 10 s) and
// waits for it to exit; its data stays. Stopping a stopped emulator does
// nothing.
func (s server) Stop() { s.p.stop(stopTimeout) }

// Kill stops the emulator with SIGKILL and waits for it to exit, as a crash
// would; its data stays.
func (s server) Kill() { s.p.stop(0) }

// Restart starts a stopped emulator again on the same port and data
// directory and waits until it serves; it does nothing if the emulator
// runs. It fails t, which may be a subtest of the one that started the
// emulator, if the emulator does not come back. Call it from t's
// goroutine.
func (s server) Restart(t testing.TB) {
	t.Helper()
	if err := s.p.start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
}

// Running reports whether the emulator was started and not stopped.
func (s server) Running() bool { return s.p.running() }

// LogPath returns the file the emulator's output goes to.
func (s server) LogPath() string { return s.p.log }
