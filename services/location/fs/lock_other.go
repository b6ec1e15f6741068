//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fs

import "os"

// lockFile is a no-op where flock(2) is unavailable: the root is then not
// protected against a second driver.
func lockFile(*os.File) error { return nil }
