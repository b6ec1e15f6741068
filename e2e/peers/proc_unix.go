//go:build unix

package peers

import (
	"os/exec"
	"syscall"
)

// terminate sends SIGTERM to the process group of cmd (Start puts each server in its own).
func terminate(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }

// kill sends SIGKILL to the process group of cmd; harmless when it has already exited.
func kill(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
