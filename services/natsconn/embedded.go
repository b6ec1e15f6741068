package natsconn

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/config"
)

func startEmbedded(ctx context.Context, cfg config.NATS, log *zap.Logger, o options) (*Handle, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("%w: listen %q: %w", ErrServerStart, cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("%w: listen %q: %w", ErrServerStart, cfg.Listen, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if err := os.MkdirAll(cfg.StoreDir, 0o750); err != nil {
		return nil, fmt.Errorf("%w: store dir: %w", ErrServerStart, err)
	}
	sopts := &server.Options{
		ServerName:    cfg.ServerName,
		Host:          host,
		Port:          port,
		JetStream:     true,
		StoreDir:      cfg.StoreDir,
		NoSigs:        true,
		Username:      cfg.User,
		Password:      cfg.Password,
		Authorization: cfg.Token,
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrServerStart, err)
	}
	srvLog := log.Named("server")
	fatal := make(chan error, 1)
	srv.SetLoggerV2(serverLogger{s: srvLog.Sugar(), fatal: fatal}, srvLog.Core().Enabled(zap.DebugLevel), false, false)
	srv.Start()

	stop := func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
	wait := max(cfg.ConnectTimeout, minServerReadyTimeout)
	deadline := time.Now().Add(wait)
	for !srv.ReadyForConnections(readyPoll) {
		select {
		case err := <-fatal:
			stop()
			return nil, fmt.Errorf("%w: %w", ErrServerStart, err)
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("%w: %w", ErrServerStart, ctx.Err())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%w: not ready for connections within %s", ErrServerStart, wait)
		}
	}
	if !srv.JetStreamEnabled() {
		stop()
		return nil, fmt.Errorf("%w: jetstream is not enabled", ErrServerStart)
	}
	log.Info("embedded nats server ready",
		zap.String("url", srv.ClientURL()), zap.String("store_dir", cfg.StoreDir), zap.String("server_name", cfg.ServerName))

	h, err := connect(ctx, cfg, log, o, srv)
	if err != nil {
		stop()
		return nil, err
	}
	return h, nil
}

// serverLogger routes the embedded server's log to zap. Fatalf logs at
// error level, never exits the process, and reports the first fatal error
// on fatal so that a failed start is noticed at once.
type serverLogger struct {
	s     *zap.SugaredLogger
	fatal chan<- error
}

func (l serverLogger) Noticef(format string, v ...any) { l.s.Infof(format, v...) }
func (l serverLogger) Warnf(format string, v ...any)   { l.s.Warnf(format, v...) }
func (l serverLogger) Fatalf(format string, v ...any) {
	l.s.Errorf(format, v...)
	select {
	case l.fatal <- fmt.Errorf(format, v...):
	default:
	}
}
func (l serverLogger) Errorf(format string, v ...any) { l.s.Errorf(format, v...) }
func (l serverLogger) Debugf(format string, v ...any) { l.s.Debugf(format, v...) }
func (l serverLogger) Tracef(format string, v ...any) { l.s.Debugf(format, v...) }
