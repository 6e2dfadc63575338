//go:build !unix

package conformance

import "os/exec"

// setProcessGroup does nothing where process groups are not available.
func setProcessGroup(cmd *exec.Cmd) {}

// killProcess kills the client.
func killProcess(cmd *exec.Cmd) { cmd.Process.Kill() }
