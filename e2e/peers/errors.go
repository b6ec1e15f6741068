package peers

import "errors"

// Sentinel errors returned by this package, wrapped with %w.
var (
	// ErrBinaryNotFound is returned by Find and Start when a server's binary is not
	// installed where this package looks for it.
	ErrBinaryNotFound = errors.New("peers: binary not found")
	// ErrNotReady is returned by Start when the server did not answer its health check
	// before Options.ReadyTimeout or ctx ended.
	ErrNotReady = errors.New("peers: server not ready")
	// ErrExited is returned by Start when the server process exited while starting.
	ErrExited = errors.New("peers: server exited")
	// ErrUnknownKind is returned for a Kind this package does not know.
	ErrUnknownKind = errors.New("peers: unknown server kind")
	// ErrBuild is returned by BuildSluice and Start(Sluice) when `go build` fails or the
	// Sluice source tree cannot be found.
	ErrBuild = errors.New("peers: build failed")
)
