// Command barereexec is the benchmark's yardstick: the least a Go runtime
// can do to start a command the way mydocker does (re-exec itself in new
// UTS, PID, mount, network and IPC namespaces, make the mount tree private,
// mount /proc, exec), with none of mydocker's flags, logs, pipes, signal
// forwarding or error handling. scripts/bench.sh runs it beside mydocker
// to show how much of mydocker's start-up is Go's own, and how much is
// mydocker's. Not part of mydocker.
package main

import (
	"os"
	"os/exec"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, "")
		syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "")
		syscall.Exec(os.Args[2], os.Args[2:], os.Environ())
		os.Exit(127)
	}
	cmd := exec.Command("/proc/self/exe", append([]string{"init"}, os.Args[1:]...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS |
		syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		os.Exit(1)
	}
}
