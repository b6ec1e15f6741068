//go:build unix && !linux

package stack

import "syscall"

// sysProcAttr puts sluice in its own process group.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
