//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fs

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes a non-blocking exclusive flock(2) on f, held until f is
// closed. It returns ErrRootInUse if another open file description holds it.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrRootInUse
	}
	if err != nil {
		return fmt.Errorf("lock root: %w", err)
	}
	return nil
}
