package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/sluice-io/sluice/services/location"
)

// Inside one process every driver opened on the same root directory shares
// one open root: the first New opens, locks and cleans it (deleting the
// temp files a crashed process left), later ones only take a reference, and
// the last Close releases it. Two independent opens could not be safe: the
// second one's start-up would delete the temp files of the first one's
// writes in progress. Another process still gets ErrRootInUse from the
// lock. Roots are told apart by device and inode, so two paths to one
// directory share it too. The first opener's Config (logger, clock, buffer
// size, sync concurrency) serves all of them.
var (
	sharedMu sync.Mutex
	sharedBy = map[rootID]*sharedRoot{}
)

type sharedRoot struct {
	d    *driver
	id   rootID
	refs int
}

// openShared returns a handle on the process's open driver for dir, or
// opens one with first.
func openShared(dir string, first func() (*driver, error)) (location.Driver, error) {
	id, err := rootIDOf(dir)
	if err != nil {
		return nil, fmt.Errorf("fs: root %s: %w", dir, err)
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	s := sharedBy[id]
	if s == nil {
		d, err := first()
		if err != nil {
			return nil, err
		}
		s = &sharedRoot{d: d, id: id}
		sharedBy[id] = s
	}
	s.refs++
	return &handle{s: s}, nil
}

// handle is one New's view of a shared driver; closing it drops its
// reference.
type handle struct {
	s      *sharedRoot
	closed atomic.Bool
}

var (
	_ location.Driver   = (*handle)(nil)
	_ location.Composer = (*handle)(nil)
)

func (h *handle) driver() (*driver, error) {
	if h.closed.Load() {
		return nil, location.ErrClosed
	}
	return h.s.d, nil
}

func (h *handle) Put(ctx context.Context, key string, r io.Reader, opts location.PutOptions) (location.ObjectInfo, error) {
	d, err := h.driver()
	if err != nil {
		return location.ObjectInfo{}, err
	}
	return d.Put(ctx, key, r, opts)
}

func (h *handle) Get(ctx context.Context, key string, rng *location.Range) (io.ReadCloser, location.ObjectInfo, error) {
	d, err := h.driver()
	if err != nil {
		return nil, location.ObjectInfo{}, err
	}
	return d.Get(ctx, key, rng)
}

func (h *handle) Stat(ctx context.Context, key string) (location.ObjectInfo, error) {
	d, err := h.driver()
	if err != nil {
		return location.ObjectInfo{}, err
	}
	return d.Stat(ctx, key)
}

func (h *handle) Delete(ctx context.Context, key string) error {
	d, err := h.driver()
	if err != nil {
		return err
	}
	return d.Delete(ctx, key)
}

func (h *handle) List(ctx context.Context, prefix, startAfter string, limit int) ([]location.ObjectInfo, error) {
	d, err := h.driver()
	if err != nil {
		return nil, err
	}
	return d.List(ctx, prefix, startAfter, limit)
}

func (h *handle) Compose(ctx context.Context, dst string, srcs []string, opts location.ComposeOptions) (location.ObjectInfo, error) {
	d, err := h.driver()
	if err != nil {
		return location.ObjectInfo{}, err
	}
	return d.Compose(ctx, dst, srcs, opts)
}

// Close drops this handle's reference; the last one closes the root.
func (h *handle) Close() error {
	if h.closed.Swap(true) {
		return nil
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	h.s.refs--
	if h.s.refs > 0 {
		return nil
	}
	delete(sharedBy, h.s.id)
	return h.s.d.Close()
}

// rootID identifies a directory: device and inode where the platform has
// them, the absolute path otherwise.
type rootID struct {
	dev, ino uint64
	path     string
}

func rootIDOf(dir string) (rootID, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return rootID{}, err
	}
	if !st.IsDir() {
		return rootID{}, errors.New("not a directory")
	}
	if dev, ino, ok := devIno(st); ok {
		return rootID{dev: dev, ino: ino}, nil
	}
	return rootID{path: dir}, nil
}
