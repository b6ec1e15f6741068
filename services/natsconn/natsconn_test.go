package natsconn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-io/sluice/services/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// embeddedConfig is the default NATS section on an ephemeral port and a
// store under dir.
func embeddedConfig(dir string) config.NATS {
	var c config.NATS
	c.SetDefaults()
	c.Listen = "127.0.0.1:0"
	c.StoreDir = dir
	return c
}

func open(t *testing.T, cfg config.NATS) *Handle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := Open(ctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

func closeHandle(t *testing.T, h *Handle) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestEmbeddedStoreSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := embeddedConfig(filepath.Join(t.TempDir(), "nats"))

	h := open(t, cfg)
	if !h.Embedded() {
		t.Fatal("want an embedded server")
	}
	if !strings.HasPrefix(h.URL(), "nats://127.0.0.1:") || strings.HasSuffix(h.URL(), ":0") || strings.HasSuffix(h.URL(), ":4222") {
		t.Fatalf("URL = %q, want the real ephemeral port", h.URL())
	}
	if err := h.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	js := h.JetStream()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RESTART", Subjects: []string{"restart.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	for i := range 3 {
		if _, err := js.Publish(ctx, "restart.obj", fmt.Appendf(nil, "event-%d", i)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	closeHandle(t, h)
	if err := h.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	h2 := open(t, cfg)
	s, err := h2.JetStream().Stream(ctx, "RESTART")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Fatalf("messages after restart = %d, want 3", info.State.Msgs)
	}
	msg, err := s.GetMsg(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Data) != "event-2" {
		t.Fatalf("message 3 = %q", msg.Data)
	}
	closeHandle(t, h2)
}

func TestConnectToExternalServer(t *testing.T) {
	tests := []struct {
		name   string
		server func(*config.NATS) // authentication the server requires
		client func(*config.NATS) // what the client presents
		ok     bool
	}{
		{name: "no auth", server: func(*config.NATS) {}, client: func(*config.NATS) {}, ok: true},
		{
			name:   "user and password",
			server: func(c *config.NATS) { c.User, c.Password = "svc", "pw-123456" },
			client: func(c *config.NATS) { c.User, c.Password = "svc", "pw-123456" },
			ok:     true,
		},
		{
			name:   "token",
			server: func(c *config.NATS) { c.Token = "tok-abcdef" },
			client: func(c *config.NATS) { c.Token = "tok-abcdef" },
			ok:     true,
		},
		{
			name:   "wrong password",
			server: func(c *config.NATS) { c.User, c.Password = "svc", "pw-123456" },
			client: func(c *config.NATS) { c.User, c.Password = "svc", "wrong" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scfg := embeddedConfig(t.TempDir())
			tt.server(&scfg)
			srv := open(t, scfg)

			var ccfg config.NATS
			ccfg.SetDefaults()
			ccfg.URLs = []string{srv.URL()}
			ccfg.ConnectTimeout = time.Second
			tt.client(&ccfg)
			if err := ccfg.Validate(); err != nil {
				t.Fatalf("client config: %v", err)
			}
			timeout := 10 * time.Second
			if !tt.ok {
				timeout = time.Second // Open retries until ctx ends
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			h, err := Open(ctx, ccfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)), WithName("test-client"))
			if !tt.ok {
				if err == nil {
					_ = h.Close(ctx)
					t.Fatal("Open succeeded with wrong credentials")
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer closeHandle(t, h)
			if h.Embedded() {
				t.Fatal("connect mode reports an embedded server")
			}
			if err := h.Ping(ctx); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			// A stream made through the client is visible to the server's own connection.
			if _, err := h.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "EXT", Subjects: []string{"ext.>"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := h.JetStream().Publish(ctx, "ext.a", []byte("x")); err != nil {
				t.Fatal(err)
			}
			info, err := srv.JetStream().Stream(ctx, "EXT")
			if err != nil || info.CachedInfo().State.Msgs != 1 {
				t.Fatalf("server side stream: %v %+v", err, info)
			}
			if h.Conn().Opts.Name != "test-client" {
				t.Fatalf("client name = %q", h.Conn().Opts.Name)
			}
		})
	}
}

func TestPingFailsWhenServerGoes(t *testing.T) {
	srv := open(t, embeddedConfig(t.TempDir()))
	var ccfg config.NATS
	ccfg.SetDefaults()
	ccfg.URLs = []string{srv.URL()}
	h := open(t, ccfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	closeHandle(t, srv)
	for {
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := h.Ping(pctx)
		pcancel()
		if err != nil && !errors.Is(err, ErrNotReady) {
			t.Fatalf("Ping error %v does not wrap ErrNotReady", err)
		}
		if err != nil && !h.Conn().IsConnected() {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Ping kept succeeding after the server stopped: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Close must not hang on a connection that is reconnecting.
	closeHandle(t, h)
}

func TestOpenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	noPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(noPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     func(dir string) config.NATS
		wantErr error
		want    string
	}{
		{
			name: "listen port in use",
			cfg: func(dir string) config.NATS {
				c := embeddedConfig(dir)
				c.Listen = busy.Addr().String()
				return c
			},
			wantErr: ErrServerStart,
		},
		{
			name: "store dir is a file",
			cfg: func(string) config.NATS {
				return embeddedConfig(noPEM)
			},
			wantErr: ErrServerStart,
		},
		{
			name: "missing ca file",
			cfg: func(dir string) config.NATS {
				c := embeddedConfig(dir)
				c.URLs = []string{"nats://127.0.0.1:1"}
				c.TLS.CAFile = filepath.Join(dir, "missing.pem")
				return c
			},
			wantErr: fs.ErrNotExist,
		},
		{
			name: "ca file without certificates",
			cfg: func(dir string) config.NATS {
				c := embeddedConfig(dir)
				c.URLs = []string{"nats://127.0.0.1:1"}
				c.TLS.CAFile = noPEM
				return c
			},
			want: "no PEM certificates",
		},
		{
			name: "missing nkey seed",
			cfg: func(dir string) config.NATS {
				c := embeddedConfig(dir)
				c.URLs = []string{"nats://127.0.0.1:1"}
				c.NkeySeedFile = filepath.Join(dir, "missing.nk")
				return c
			},
			want: "nkey seed file",
		},
		{
			name: "nobody listening until ctx ends",
			cfg: func(dir string) config.NATS {
				c := embeddedConfig(dir)
				c.URLs = []string{"nats://" + busy.Addr().String()}
				c.ConnectTimeout = 200 * time.Millisecond
				return c
			},
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			h, err := Open(ctx, tt.cfg(t.TempDir()), zaptest.NewLogger(t, zaptest.Level(zap.FatalLevel)))
			if err == nil {
				_ = h.Close(ctx)
				t.Fatal("Open succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestCloseWithExpiredContext(t *testing.T) {
	h := open(t, embeddedConfig(t.TempDir()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Either the drain finished at once or the context cut it short; both close everything.
	if err := h.Close(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Close: %v", err)
	}
	if !h.Conn().IsClosed() {
		t.Fatal("connection still open")
	}
	if err := h.Ping(context.Background()); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Ping after Close = %v, want ErrNotReady", err)
	}
}
