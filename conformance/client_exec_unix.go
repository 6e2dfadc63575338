//go:build unix

package conformance

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the client in a process group of its own, so that
// killing it also ends the processes it started.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcess kills the client's process group.
func killProcess(cmd *exec.Cmd) {
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		cmd.Process.Kill()
	}
}
