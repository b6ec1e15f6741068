//go:build unix && !linux

package peers

import "syscall"

// sysProcAttr puts the server in its own process group, so Stop reaches its children too.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
