//go:build unix

package stack

import "syscall"

// signalGroup sends sig to the process group led by pid; harmless once it has exited.
func signalGroup(pid int, sig syscall.Signal) { _ = syscall.Kill(-pid, sig) }
