//go:build unix

package fs

import (
	"os"
	"syscall"
)

func devIno(st os.FileInfo) (dev, ino uint64, ok bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(s.Dev), uint64(s.Ino), true //nolint:unconvert // Dev is int32 on some platforms
}
