//go:build linux

package peers

import "syscall"

// sysProcAttr puts the server in its own process group, so Stop reaches its children
// too, and asks the kernel to kill it if the parent dies without calling Stop.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
