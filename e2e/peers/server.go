// Package peers starts S3 servers — Sluice itself, MinIO and versitygw — as child
// processes on 127.0.0.1 ephemeral ports, each with its own temporary data directory, for
// performance comparisons and for tests that need a real S3 endpoint.
//
// Start waits, polling with a deadline, until the server's health endpoint answers; Stop
// terminates the whole process group and removes the directory. Output goes to a log file
// in the directory, whose tail is attached to startup errors.
package peers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultReadyTimeout bounds Start's wait for the health endpoint when Options.ReadyTimeout
// is zero.
const DefaultReadyTimeout = 60 * time.Second

// Options adjust Start. The zero value is ready to use.
type Options struct {
	// Binary is the server executable; empty means Find(kind), and for Sluice a fresh
	// build from SluiceSourceDir when SLUICE_BIN is not set.
	Binary string
	// Dir is where the data directory and log file go. Empty means a new temporary
	// directory that Stop removes; a given Dir is left in place.
	Dir string
	// AccessKey and SecretKey are the root credentials; empty means random ones.
	AccessKey string
	SecretKey string
	// ReadyTimeout bounds the wait for the health endpoint; default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Env is added to the server's environment (after the variables Start sets).
	Env []string
}

// Server is a running server. Its fields are read-only.
type Server struct {
	Kind Kind
	// Endpoint is the S3 base URL, http://127.0.0.1:PORT.
	Endpoint  string
	AccessKey string
	SecretKey string
	// Region is the region to sign with (us-east-1).
	Region string
	// Dir holds DataDir and LogPath.
	Dir     string
	DataDir string
	// LogPath receives the process's stdout and stderr.
	LogPath string
	// HTTPURL is Sluice's health and metrics listener (empty for the others).
	HTTPURL string
	// NATSURL is Sluice's embedded NATS server (empty for the others).
	NATSURL string

	cmd       *exec.Cmd
	exited    chan struct{} // closed when the process has been waited for
	waitErr   error
	removeDir bool
	stopOnce  sync.Once
	stopErr   error
}

// Start launches kind on free 127.0.0.1 ports and returns once its health endpoint
// answers 200. The process outlives ctx (ctx bounds only the start); call Stop. Errors
// wrap ErrUnknownKind, ErrBinaryNotFound, ErrBuild, ErrExited (with the log tail) or
// ErrNotReady.
//
// Free ports are found by listening on 127.0.0.1:0 and closing the listener, so another
// process may take the port before the server binds it. Start retries twice when the
// server exits complaining that its address is in use.
func Start(ctx context.Context, kind Kind, opts Options) (*Server, error) {
	if _, ok := binaryEnv[kind]; !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	dir, removeDir := opts.Dir, false
	if dir == "" {
		d, err := os.MkdirTemp("", "sluice-peer-"+string(kind)+"-")
		if err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		dir, removeDir = d, true
	}
	cleanup := func() {
		if removeDir {
			_ = os.RemoveAll(dir)
		}
	}
	bin := opts.Binary
	if bin == "" {
		var err error
		bin, err = Find(kind)
		if kind == Sluice && errors.Is(err, ErrBinaryNotFound) && os.Getenv(binaryEnv[Sluice]) == "" {
			var src string
			if src, err = SluiceSourceDir(); err == nil {
				bin, err = BuildSluice(ctx, src, dir)
			}
		}
		if err != nil {
			cleanup()
			return nil, err
		}
	}
	if opts.AccessKey == "" {
		opts.AccessKey = "peer" + randomHex(6)
	}
	if opts.SecretKey == "" {
		opts.SecretKey = randomHex(20)
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var s *Server
		s, err = startOnce(ctx, kind, bin, dir, opts)
		if err == nil {
			s.removeDir = removeDir
			return s, nil
		}
		if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	cleanup()
	return nil, err
}

// startOnce runs one attempt of Start in dir.
func startOnce(ctx context.Context, kind Kind, bin, dir string, opts Options) (*Server, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Kind: kind, AccessKey: opts.AccessKey, SecretKey: opts.SecretKey, Region: "us-east-1",
		Dir: dir, DataDir: filepath.Join(dir, "data"), LogPath: filepath.Join(dir, "server.log"),
		Endpoint: "http://" + ports[0],
	}
	// A retried attempt starts from an empty data directory.
	if err := os.RemoveAll(s.DataDir); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	var args, env []string
	var health string
	switch kind {
	case MinIO:
		args = []string{"server", s.DataDir, "--address", ports[0], "--console-address", ports[1]}
		env = []string{"MINIO_ROOT_USER=" + s.AccessKey, "MINIO_ROOT_PASSWORD=" + s.SecretKey,
			"MINIO_UPDATE=off", "MINIO_CALLHOME_ENABLE=off", "MINIO_BROWSER=off"}
		health = s.Endpoint + "/minio/health/live"
	case VersityGW:
		// The secret goes through the environment, not the process list.
		args = []string{"--access", s.AccessKey, "--port", ports[0], "--health", "/health", "--quiet", "posix", s.DataDir}
		env = []string{"ROOT_SECRET_ACCESS_KEY=" + s.SecretKey}
		health = s.Endpoint + "/health"
	case Sluice:
		s.HTTPURL, s.NATSURL = "http://"+ports[1], "nats://"+ports[2]
		args = []string{"run", "all", "-data-dir", s.DataDir, "-s3-listen", ports[0], "-http-listen", ports[1]}
		env = []string{"SLUICE_NATS_LISTEN=" + ports[2],
			"SLUICE_ROOT_ACCESS_KEY=" + s.AccessKey, "SLUICE_ROOT_SECRET_KEY=" + s.SecretKey}
		health = s.HTTPURL + "/readyz"
	}
	logFile, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	fmt.Fprintf(logFile, "=== %s %s\n", bin, strings.Join(args, " "))
	// Not CommandContext: the server outlives ctx, which bounds only the start.
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...), opts.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("peers: start %s: %w", kind, err)
	}
	_ = logFile.Close() // the child holds its own descriptor
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, health, opts.ReadyTimeout); err != nil {
		_ = s.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// waitReady polls url until it answers 200, the process exits, or the deadline passes.
func (s *Server) waitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("peers: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// Health can answer before the S3 API does (MinIO: "Server not
				// initialized"); an anonymous request must get an S3 answer, not a 5xx.
				if last, err = s.probeS3(ctx, client); err == nil {
					return nil
				}
			} else {
				last = "health: " + resp.Status
			}
		} else if ctx.Err() == nil {
			last = err.Error()
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%w: %s: %v\n%s", ErrExited, s.Kind, s.waitErr, s.LogTail(4096))
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %s did not answer 200 within %s (last: %s)\n%s",
				ErrNotReady, s.Kind, url, timeout, last, s.LogTail(4096))
		case <-tick.C:
		}
	}
}

// probeS3 sends an anonymous GET / to the S3 endpoint and succeeds when the answer is
// not a server error; it returns the status it saw.
func (s *Server) probeS3(ctx context.Context, client *http.Client) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/", nil)
	if err != nil {
		return "", fmt.Errorf("peers: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "s3: " + err.Error(), err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode >= 500 {
		return "s3: " + resp.Status, fmt.Errorf("peers: s3 answered %s", resp.Status)
	}
	return "", nil
}

// Stop sends SIGTERM to the server's process group, waits until the process exits or ctx
// ends (at most 15 s), then kills the group, and removes the directory Start created.
// It is safe to call more than once and on a Server whose start failed; every call
// returns the first call's result: nil, or the error removing the directory.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		if s.cmd != nil {
			terminate(s.cmd)
			t := time.NewTimer(15 * time.Second)
			select {
			case <-s.exited:
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			kill(s.cmd)
			<-s.exited
		}
		if s.removeDir {
			if err := os.RemoveAll(s.Dir); err != nil {
				s.stopErr = fmt.Errorf("peers: remove %s: %w", s.Dir, err)
			}
		}
	})
	return s.stopErr
}

// Exited reports whether the server process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// LogTail returns up to the last n bytes of the server's log, for diagnostics, with the
// secret key replaced by "[redacted]" should the server have printed it.
func (s *Server) LogTail(n int64) string {
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
	if s.SecretKey == "" {
		return string(b)
	}
	return strings.ReplaceAll(string(b), s.SecretKey, "[redacted]")
}

// freePorts returns n distinct 127.0.0.1:PORT addresses that were free a moment ago. The
// listeners are closed before returning, so another process can take a port before the
// server binds it; Start retries when that happens.
func freePorts(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("peers: find a free port: %w", err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// PID returns the server's process id (the leader of its process group), or 0 when it
// was never started.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
