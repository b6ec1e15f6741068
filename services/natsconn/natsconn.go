// Package natsconn gives a process its NATS connection and JetStream handle:
// either from a NATS server with JetStream embedded in the process (the
// single-binary default, with its store on local disk so events survive a
// restart) or from a connection to external servers.
package natsconn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/config"
)

// ErrNotReady is wrapped by Ping when the connection is not connected or
// JetStream does not answer.
var ErrNotReady = errors.New("nats not ready")

// ErrServerStart is wrapped by Open when the embedded server cannot be
// created or does not become ready in time.
var ErrServerStart = errors.New("embedded nats server did not start")

const (
	// reconnectBufSize is how much a publisher may buffer while reconnecting.
	reconnectBufSize = 16 << 20
	// reconnectWait is the pause between reconnect attempts to one server.
	reconnectWait = time.Second
	// defaultPingTimeout applies to Ping when ctx has no deadline.
	defaultPingTimeout = 2 * time.Second
	// minServerReadyTimeout leaves the embedded server time to recover its store.
	minServerReadyTimeout = 10 * time.Second
	// readyPoll is how long one readiness probe of the embedded server waits.
	readyPoll = 50 * time.Millisecond
)

// Option adjusts Open.
type Option func(*options)

type options struct{ name string }

// WithName sets the client connection name that servers report
// (default "sluice").
func WithName(name string) Option { return func(o *options) { o.name = name } }

// Handle owns a NATS connection and, in embedded mode, the server. It is
// safe for concurrent use.
type Handle struct {
	log    *zap.Logger
	srv    *server.Server // nil in connect mode
	nc     *nats.Conn
	js     jetstream.JetStream
	closed chan struct{} // closed by the connection's ClosedHandler

	closeOnce sync.Once
	closeErr  error
}

// Open starts an embedded server when cfg.UseEmbedded() and connects to it
// in process, or else connects to cfg.URLs. cfg should have passed
// config.Validate. The returned handle must be closed with Close.
//
// In connect mode Open keeps retrying until the first connection succeeds or
// ctx ends; afterwards the connection reconnects forever, buffering
// publishes meanwhile. Errors wrap ErrServerStart, ctx.Err(), or the
// nats.go error.
func Open(ctx context.Context, cfg config.NATS, log *zap.Logger, opts ...Option) (*Handle, error) {
	o := options{name: "sluice"}
	for _, opt := range opts {
		opt(&o)
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("nats")
	if cfg.UseEmbedded() {
		return startEmbedded(ctx, cfg, log, o)
	}
	return connect(ctx, cfg, log, o, nil)
}

// Conn returns the NATS connection.
func (h *Handle) Conn() *nats.Conn { return h.nc }

// JetStream returns the JetStream handle (nats.go jetstream package) bound
// to Conn.
func (h *Handle) JetStream() jetstream.JetStream { return h.js }

// Embedded reports whether the handle runs an embedded server.
func (h *Handle) Embedded() bool { return h.srv != nil }

// URL returns the client URL other processes use to reach this NATS: the
// embedded server's real listen address (the chosen port when listen was
// ":0"), or the URL the connection currently uses, with credentials hidden.
func (h *Handle) URL() string {
	if h.srv != nil {
		return h.srv.ClientURL()
	}
	return h.nc.ConnectedUrlRedacted()
}

// Ping checks that the connection is up and JetStream answers, with a
// JetStream account-info round trip. Without a ctx deadline it gives up
// after two seconds. Errors wrap ErrNotReady.
func (h *Handle) Ping(ctx context.Context) error {
	if !h.nc.IsConnected() {
		return fmt.Errorf("%w: connection is %s", ErrNotReady, h.nc.Status())
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultPingTimeout)
		defer cancel()
	}
	if _, err := h.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("%w: jetstream: %w", ErrNotReady, err)
	}
	return nil
}

// Close drains the connection (pending publishes are flushed and
// subscriptions finish their messages), waits until it is closed or ctx
// ends (then it closes it at once), and then shuts the embedded server down
// and waits for it. It is safe to call more than once; later calls return
// the first result.
func (h *Handle) Close(ctx context.Context) error {
	h.closeOnce.Do(func() { h.closeErr = h.close(ctx) })
	return h.closeErr
}

func (h *Handle) close(ctx context.Context) error {
	var errs []error
	if err := h.nc.Drain(); err != nil {
		// Drain refuses a connection that is closed or reconnecting.
		h.nc.Close()
	}
	select {
	case <-h.closed:
	case <-ctx.Done():
		h.nc.Close()
		<-h.closed
		errs = append(errs, fmt.Errorf("natsconn: drain: %w", ctx.Err()))
	}
	if h.srv != nil {
		h.srv.Shutdown()
		h.srv.WaitForShutdown()
		h.log.Info("embedded nats server stopped")
	}
	return errors.Join(errs...)
}
