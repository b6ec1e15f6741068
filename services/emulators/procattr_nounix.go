//go:build !unix

package emulators

import "syscall"

// sysProcAttr needs nothing special outside Unix.
func sysProcAttr() *syscall.SysProcAttr { return nil }
