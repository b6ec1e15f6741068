//go:build linux

package stack

import "syscall"

// sysProcAttr puts sluice in its own process group and has the kernel kill it if the
// test process dies without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
