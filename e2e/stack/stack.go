// Package stack runs the real sluice binary (`sluice run all`) as a child process that a
// whole-stack test can SIGKILL and start again on the same data directory, the same
// embedded NATS store and the same 127.0.0.1 ports.
//
// The first Start lets the kernel choose the ports (":0") and reads them from the
// start-up banner, so it never races another process for a port; later Starts bind the
// same addresses, so clients and NATS connections keep their URLs across a restart.
// For a server that only needs to start and stop, package e2e/peers is simpler.
package stack

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-io/sluice/e2e/peers"
)

// DefaultReadyTimeout bounds Start's wait for /readyz when Config.ReadyTimeout is zero.
const DefaultReadyTimeout = 60 * time.Second

// stopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopGrace = 15 * time.Second

// Binary returns a sluice executable: $SLUICE_BIN when it is set, else a fresh
// `go build` of the source tree peers.SluiceSourceDir finds, written into dir. Errors
// wrap peers.ErrBinaryNotFound ($SLUICE_BIN is not executable) or peers.ErrBuild.
func Binary(ctx context.Context, dir string) (string, error) {
	if p := os.Getenv(peers.BinaryEnv(peers.Sluice)); p != "" {
		return peers.Find(peers.Sluice)
	}
	src, err := peers.SluiceSourceDir()
	if err != nil {
		return "", err
	}
	return peers.BuildSluice(ctx, src, dir)
}

// Config describes a Sluice process. Bin and Dir are required.
type Config struct {
	// Bin is the sluice executable (see Binary).
	Bin string
	// Dir holds the data directory (Dir/data, which holds the embedded NATS store
	// under data/nats) and the log (Dir/sluice.log). The caller removes it.
	Dir string
	// AccessKey and SecretKey are the root credentials; empty means random ones.
	AccessKey string
	SecretKey string
	// Target is the `sluice run` target: "all" (the default), "s3front", "events",
	// "indexer" or "replicator".
	Target string
	// NATSURL, when set, makes the process connect to that NATS server instead of
	// embedding one (so several processes, each with its own target, share one
	// JetStream). Empty: the process embeds NATS, with its store under Dir/data/nats.
	NATSURL string
	// Env is added to the process environment after the variables Start sets.
	Env []string
	// ReadyTimeout bounds each Start's wait for /readyz; default DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// Sluice is a `sluice run <target>` process that can be killed and started again on the
// same state. Its exported fields are read-only; Endpoint, HTTPURL and NATSURL are set
// by the first successful Start and stay the same afterwards. Start, Kill and Stop must
// not be called concurrently with each other; Running and Metric may be called from
// any goroutine.
type Sluice struct {
	Bin       string
	Dir       string
	DataDir   string
	LogPath   string
	AccessKey string
	SecretKey string
	// Region is the region to sign requests with.
	Region string
	// Target is the `sluice run` target.
	Target string
	// Endpoint is the S3 base URL, http://127.0.0.1:PORT; empty when the target
	// does not serve S3.
	Endpoint string
	// HTTPURL serves /healthz, /readyz and /metrics.
	HTTPURL string
	// NATSURL is the NATS server the process uses, nats://127.0.0.1:PORT: its
	// embedded one, or Config.NATSURL.
	NATSURL string

	external     bool // NATSURL is Config.NATSURL, not embedded
	env          []string
	readyTimeout time.Duration

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed once cmd has been waited for
	waitErr error
	starts  int
}

// New prepares a Sluice from cfg; nothing runs until Start.
func New(cfg Config) *Sluice {
	if cfg.AccessKey == "" {
		cfg.AccessKey = "e2e" + randomHex(6)
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = randomHex(20)
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if cfg.Target == "" {
		cfg.Target = "all"
	}
	return &Sluice{
		Bin: cfg.Bin, Dir: cfg.Dir, Target: cfg.Target, NATSURL: cfg.NATSURL, external: cfg.NATSURL != "",
		DataDir: filepath.Join(cfg.Dir, "data"), LogPath: filepath.Join(cfg.Dir, "sluice.log"),
		AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Region: "us-east-1",
		env: cfg.Env, readyTimeout: cfg.ReadyTimeout,
	}
}

// Start launches the process and returns once /readyz answers 200. The first Start
// binds kernel-chosen ports and learns them from the banner; every later Start binds
// the same ones. The process outlives ctx, which bounds only the start. On failure the
// process is killed and the error wraps ErrRunning, ErrExited, ErrBanner or ErrNotReady
// and carries the log's tail.
func (s *Sluice) Start(ctx context.Context) error {
	s.mu.Lock()
	running := s.cmd != nil && !closed(s.exited)
	first := s.HTTPURL == ""
	s.starts++
	n := s.starts
	s.mu.Unlock()
	if running {
		return ErrRunning
	}
	s3Addr, httpAddr, natsAddr := "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if !first {
		httpAddr = hostPort(s.HTTPURL)
		if s.Endpoint != "" {
			s3Addr = hostPort(s.Endpoint)
		}
		if !s.external {
			natsAddr = hostPort(s.NATSURL)
		}
	}
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	logFile, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	marker := fmt.Sprintf("=== stack: start %d", n)
	fmt.Fprintln(logFile, marker)
	args := []string{"run", s.Target, "-data-dir", s.DataDir, "-s3-listen", s3Addr, "-http-listen", httpAddr}
	cmd := exec.Command(s.Bin, args...) // not CommandContext: the process outlives ctx
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "SLUICE_ROOT_ACCESS_KEY="+s.AccessKey, "SLUICE_ROOT_SECRET_KEY="+s.SecretKey)
	if s.external {
		cmd.Env = append(cmd.Env, "SLUICE_NATS_EMBEDDED=false", "SLUICE_NATS_URLS="+s.NATSURL)
	} else {
		cmd.Env = append(cmd.Env, "SLUICE_NATS_LISTEN="+natsAddr)
	}
	cmd.Env = append(cmd.Env, s.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("stack: start %s: %w", s.Bin, err)
	}
	_ = logFile.Close() // the child holds its own descriptor
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited, s.waitErr = cmd, exited, nil
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(exited)
	}()

	ctx, cancel := context.WithTimeout(ctx, s.readyTimeout)
	defer cancel()
	if first {
		if err := s.readBanner(ctx, marker, exited); err != nil {
			s.Kill()
			return err
		}
	}
	if err := s.waitReady(ctx, exited); err != nil {
		s.Kill()
		return err
	}
	return nil
}

// readBanner polls the log, from the line marker on, until the banner names the S3
// endpoint (for targets that serve S3), the health listener and NATS, and sets
// Endpoint, HTTPURL and NATSURL.
func (s *Sluice) readBanner(ctx context.Context, marker string, exited <-chan struct{}) error {
	fields := map[string]*string{"health/admin:": &s.HTTPURL}
	if !s.external {
		fields["NATS:"] = &s.NATSURL
	}
	if s.Target == "all" || s.Target == "s3front" {
		fields["S3 endpoint:"] = &s.Endpoint
	}
	err := poll(ctx, exited, func() (bool, error) {
		found, err := scanBanner(s.LogPath, marker, fields)
		if err != nil || len(found) < len(fields) {
			return false, err
		}
		for prefix, dst := range fields {
			*dst = found[prefix]
		}
		return true, nil
	})
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		want := make([]string, 0, len(fields))
		for prefix := range fields {
			want = append(want, prefix)
		}
		sort.Strings(want)
		return fmt.Errorf("%w: want lines %q in %s: %w\n%s", ErrBanner, want, s.LogPath, err, s.LogTail(4096))
	}
	return s.exitError(err)
}

// scanBanner returns the first word after each of the fields' prefixes on the log's
// lines that follow the line marker.
func scanBanner(path, marker string, fields map[string]*string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	defer f.Close()
	found := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == marker {
			seen, found = true, map[string]string{}
			continue
		}
		if !seen {
			continue
		}
		for prefix := range fields {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				if v := strings.Fields(rest); len(v) > 0 {
					found[prefix] = v[0]
				}
			}
		}
	}
	return found, sc.Err()
}

// waitReady polls HTTPURL/readyz until it answers 200.
func (s *Sluice) waitReady(ctx context.Context, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	url := s.HTTPURL + "/readyz"
	var last string
	err := poll(ctx, exited, func() (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, fmt.Errorf("stack: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		last = resp.Status + " " + string(b)
		return resp.StatusCode == http.StatusOK, nil
	})
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %s (last answer: %s): %w\n%s", ErrNotReady, url, last, err, s.LogTail(4096))
	}
	return s.exitError(err)
}

// errProcessExited is poll's report that the process ended.
var errProcessExited = errors.New("process exited")

// exitError turns poll's errProcessExited into an ErrExited error with the exit
// status and the log's tail; other errors pass through.
func (s *Sluice) exitError(err error) error {
	if !errors.Is(err, errProcessExited) {
		return err
	}
	s.mu.Lock()
	werr := s.waitErr
	s.mu.Unlock()
	return fmt.Errorf("%w while starting: %v\n%s", ErrExited, werr, s.LogTail(4096))
}

// poll calls check every 50 ms until it reports done or an error, the process exits
// (errProcessExited) or ctx ends (ctx.Err()).
func poll(ctx context.Context, exited <-chan struct{}, check func() (bool, error)) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-exited:
			return errProcessExited
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Kill sends SIGKILL to the process group and waits until the process has exited. It
// is a no-op when nothing runs.
func (s *Sluice) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	signalGroup(cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

// Stop sends SIGTERM, waits until the process exits, ctx ends or 15 s pass, then kills
// the group. It returns nil when the process exited on SIGTERM (or was not running),
// and otherwise an error wrapping ErrExited that says how it ended.
func (s *Sluice) Stop(ctx context.Context) error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil || closed(exited) {
		return nil
	}
	signalGroup(cmd.Process.Pid, syscall.SIGTERM)
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	var err error
	select {
	case <-exited:
	case <-ctx.Done():
		err = fmt.Errorf("%w: still running when ctx ended: %w", ErrExited, ctx.Err())
	case <-t.C:
		err = fmt.Errorf("%w: still running %s after SIGTERM", ErrExited, stopGrace)
	}
	signalGroup(cmd.Process.Pid, syscall.SIGKILL)
	<-exited
	if err != nil {
		return err
	}
	s.mu.Lock()
	werr := s.waitErr
	s.mu.Unlock()
	if werr != nil {
		return fmt.Errorf("%w: after SIGTERM: %w", ErrExited, werr)
	}
	return nil
}

// Running reports whether the process is running.
func (s *Sluice) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil && !closed(s.exited)
}

// Metric returns the value of an unlabelled metric from HTTPURL/metrics, such as
// sluice_outbox_pending_events. Errors wrap ErrMetric.
func (s *Sluice) Metric(ctx context.Context, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.HTTPURL+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMetric, err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMetric, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w: /metrics answered %s", ErrMetric, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %w", ErrMetric, name, err)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMetric, err)
	}
	return 0, fmt.Errorf("%w: %s not exported", ErrMetric, name)
}

// LogTail returns up to the last n bytes of the process log, for diagnostics.
func (s *Sluice) LogTail(n int64) string {
	f, err := os.Open(s.LogPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-n, 0)
	b, _ := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	return string(b)
}

// hostPort strips the scheme from a URL such as http://127.0.0.1:9000.
func hostPort(u string) string {
	if _, rest, ok := strings.Cut(u, "://"); ok {
		return rest
	}
	return u
}

func closed(ch <-chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
