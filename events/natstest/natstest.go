// Package natstest runs an embedded NATS server with JetStream for tests.
//
// It is an ordinary (non-_test) package so that every Sluice module's tests
// share one helper. Every server binds 127.0.0.1 on an ephemeral port, keeps
// its JetStream store in t.TempDir(), and is shut down (and waited for) in
// t.Cleanup, together with every connection the helper opened.
//
// Server logs are off unless the environment variable SLUICE_TEST_NATS_LOG is
// set to 1 for the run.
package natstest

import (
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// LogEnv is the environment variable that switches server logs on when set to "1".
const LogEnv = "SLUICE_TEST_NATS_LOG"

// readyTimeout bounds how long RunJetStream and Restart wait for the server to
// accept connections.
const readyTimeout = 10 * time.Second

// Option changes the server options before the server starts.
type Option func(*server.Options)

// WithServerOptions lets a test change any nats-server option (limits,
// accounts, ...) before the first start. Host, Port and StoreDir set by the
// helper may be overridden here, at the test's own risk.
func WithServerOptions(f func(*server.Options)) Option {
	return func(o *server.Options) { f(o) }
}

// WithStoreDir makes the server keep its JetStream store in dir instead of a
// fresh t.TempDir(); useful to start a second server on an existing store.
func WithStoreDir(dir string) Option {
	return func(o *server.Options) { o.StoreDir = dir }
}

// Server is a running (or stopped, after Shutdown) embedded JetStream server.
// All methods are safe for concurrent use.
type Server struct {
	t    testing.TB
	opts server.Options // the options of the first start, with the real port

	mu  sync.Mutex
	srv *server.Server
	url string

	nc *nats.Conn
	js jetstream.JetStream
}

// RunJetStream starts an embedded NATS server with JetStream enabled on
// 127.0.0.1 (ephemeral port) with its store in t.TempDir(), waits until it
// accepts connections, and connects one client to it (see Conn and
// JetStream). It fails the test with t.Fatalf when the server cannot start or
// the client cannot connect. Everything is shut down in t.Cleanup.
//
// RunJetStream must be called from the test goroutine.
func RunJetStream(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoSigs:    true,
	}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{t: t, opts: o}
	// Cleanups run last-in first-out: the server goes down after the
	// connections registered later have been closed.
	t.Cleanup(s.Shutdown)
	if err := s.start(); err != nil {
		t.Fatalf("natstest: %v", err)
	}
	nc, js := s.Connect(t)
	s.mu.Lock()
	s.nc, s.js = nc, js
	s.mu.Unlock()
	return s
}

// start creates and starts a server from s.opts and records its URL. After
// the first start it pins the port so that Restart reuses it.
func (s *Server) start() error {
	o := s.opts // copy: NewServer keeps and mutates its options
	srv, err := server.NewServer(&o)
	if err != nil {
		return fmt.Errorf("new server: %w", err)
	}
	if os.Getenv(LogEnv) == "1" {
		srv.ConfigureLogger()
	}
	go srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return fmt.Errorf("server not ready for connections after %v", readyTimeout)
	}
	s.mu.Lock()
	s.srv = srv
	s.url = srv.ClientURL()
	if s.opts.Port <= 0 {
		if addr, ok := srv.Addr().(*net.TCPAddr); ok {
			s.opts.Port = addr.Port
		}
	}
	s.mu.Unlock()
	return nil
}

// URL returns the client URL (nats://127.0.0.1:<port>). It stays the same
// across Restart.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// StoreDir returns the JetStream store directory, which Restart keeps.
func (s *Server) StoreDir() string { return s.opts.StoreDir }

// NATS returns the current underlying server (nil after Shutdown).
func (s *Server) NATS() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}

// Conn returns the helper's own connection. It reconnects forever (every
// 50ms) so that it survives Shutdown/Restart, and is closed in t.Cleanup.
func (s *Server) Conn() *nats.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nc
}

// JetStream returns a JetStream context on Conn.
func (s *Server) JetStream() jetstream.JetStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.js
}

// Connect opens a new client connection (as a separate process would) and a
// JetStream context on it. The connection reconnects forever every 50ms
// unless opts say otherwise, and is closed in t.Cleanup of the given t. It
// fails the test when the server cannot be reached; call it from the test
// goroutine.
func (s *Server) Connect(t testing.TB, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	base := []nats.Option{
		nats.Name(t.Name()),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond),
		nats.ReconnectJitter(0, 0),
	}
	nc, err := nats.Connect(s.URL(), append(base, opts...)...)
	if err != nil {
		t.Fatalf("natstest: connect %s: %v", s.URL(), err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	return nc, js
}

// Shutdown stops the server and waits until it has stopped. Clients stay
// open and keep trying to reconnect. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Shutdown()
	srv.WaitForShutdown()
}

// Restart shuts the server down (if it is running) and starts a new one on
// the same port with the same store directory, so streams, consumers and
// messages persisted to disk survive. It fails the test when the new server
// does not start; call it from the test goroutine.
func (s *Server) Restart() {
	s.t.Helper()
	s.Shutdown()
	if err := s.start(); err != nil {
		s.t.Fatalf("natstest: restart: %v", err)
	}
}

// CheckFor calls f every interval until it returns nil, and fails the test
// with f's last error when total has passed. It is the way to wait for a
// condition: poll with a deadline, never sleep. Call it from the test
// goroutine.
func CheckFor(t testing.TB, total, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(interval)
	}
	t.Fatalf("natstest: condition not met after %v: %v", total, err)
}
