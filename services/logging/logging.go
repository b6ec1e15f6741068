// Package logging builds the process's zap logger from config.Log. There is
// no global logger: the logger is handed to every component explicitly.
package logging

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sluice-io/sluice/services/config"
)

// New builds a logger writing to standard error: JSON in production (the
// default), the console encoder when cfg.Format is "console" or
// cfg.Development is set. It returns an error wrapping config.ErrInvalid for
// an unknown level or format.
func New(cfg config.Log) (*zap.Logger, error) {
	log, _, err := Build(cfg, zapcore.Lock(os.Stderr))
	return log, err
}

// Build is New writing to out. It also returns the logger's level, which can
// be changed while the process runs (zap.AtomicLevel is an http.Handler that
// reads and sets it).
//
// Production output is JSON with ISO-8601 timestamps, the caller, and stack
// traces from the error level. Development output is coloured console text
// with stack traces from the warn level. Messages are never sampled away, and
// DPanic never panics.
func Build(cfg config.Log, out zapcore.WriteSyncer) (*zap.Logger, zap.AtomicLevel, error) {
	level, err := zap.ParseAtomicLevel(cfg.Level)
	if cfg.Level == "" {
		level, err = zap.NewAtomicLevelAt(zap.InfoLevel), nil
	}
	if err != nil {
		return nil, level, fmt.Errorf("logging: level %q: %w", cfg.Level, config.ErrInvalid)
	}
	var (
		enc        zapcore.Encoder
		stackLevel = zapcore.ErrorLevel
	)
	switch {
	case cfg.Development:
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
		stackLevel = zapcore.WarnLevel
	case cfg.Format == config.LogFormatConsole:
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	case cfg.Format == config.LogFormatJSON || cfg.Format == "":
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	default:
		return nil, level, fmt.Errorf("logging: format %q: %w", cfg.Format, config.ErrInvalid)
	}
	core := zapcore.NewCore(enc, out, level)
	log := zap.New(core,
		zap.AddCaller(),
		zap.AddStacktrace(stackLevel),
		zap.ErrorOutput(out),
	)
	return log, level, nil
}

// Sync flushes log, ignoring the errors that syncing a terminal or a pipe
// returns on some systems (EINVAL, ENOTTY), which are not data loss.
func Sync(log *zap.Logger) error {
	if log == nil {
		return nil
	}
	err := log.Sync()
	if err == nil || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.EBADF) {
		return nil
	}
	return fmt.Errorf("logging: sync: %w", err)
}
