package container

import (
	"os"
	"os/signal"
	"syscall"

	log "github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// runTinyInit is `run --init`: mydocker's init stays PID 1, starts the
// command as its child, and does the two jobs of an init (as tini and
// docker --init do):
//
//   - Forward signals. The kernel drops a signal sent to a namespace's PID 1
//     unless PID 1 has a handler for it, so a command that never expected
//     to be PID 1 (sleep, most servers) would ignore SIGTERM and Ctrl-C.
//     As a child it gets the default actions back.
//   - Reap zombies. Orphans are re-parented to PID 1; a command that never
//     waits for unknown children would collect them as zombies.
//
// It never returns on success: it exits with the command's status, 128+N
// when signal N killed it.
func runTinyInit(path string, cfg *Config, status *os.File) *StartError {
	// Catch every signal before the child exists, so none is lost. SIGCHLD
	// has a channel of its own: the signals to forward (a storm of them,
	// even) must never fill the one that says the command ended. One
	// pending SIGCHLD is enough, as reap collects every zombie there is.
	// SIGURG is the Go runtime's own preemption signal, never forwarded.
	children := make(chan os.Signal, 1)
	signal.Notify(children, unix.SIGCHLD)
	signals := make(chan os.Signal, 32)
	signal.Notify(signals, forwarded()...)

	attr := &syscall.SysProcAttr{}
	if cfg.TTY {
		// The command gets its own process group and the terminal's
		// foreground: Ctrl-C and Ctrl-Z reach it (and its jobs) directly,
		// not this init, and a shell can do job control.
		attr.Setpgid = true
		attr.Foreground = true
		attr.Ctty = 0
	}
	child, err := os.StartProcess(path, cfg.Args, &os.ProcAttr{
		Env:   cfg.Env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   attr,
	})
	if err != nil {
		return execError(cfg.Args[0], err)
	}
	// The command runs: the parent must stop waiting for a start report.
	status.Close()
	log.Infof("init: command running as pid %d", child.Pid)

	for {
		select {
		case <-children:
			if status, done := reap(child.Pid); done {
				os.Exit(status)
			}
		case sig := <-signals:
			_ = unix.Kill(child.Pid, sig.(unix.Signal))
		}
	}
}

// forwarded are the signals --init passes on to the command: all but
// SIGCHLD (init's own), the Go runtime's (SIGURG, and 32 and 33, which
// the C library and the runtime use between threads) and the two no
// process can catch.
func forwarded() []os.Signal {
	var list []os.Signal
	for n := unix.Signal(1); n <= 64; n++ {
		switch n {
		case unix.SIGCHLD, unix.SIGURG, unix.SIGKILL, unix.SIGSTOP, 32, 33:
			continue
		}
		list = append(list, n)
	}
	return list
}

// reap collects every child that has exited. done is true once the command
// itself has, with the status init should exit with.
func reap(command int) (status int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return status, done
		}
		if pid != command {
			log.Debugf("init: reaped orphan %d", pid)
			continue
		}
		done = true
		if ws.Signaled() {
			status = 128 + int(ws.Signal())
		} else {
			status = ws.ExitStatus()
		}
	}
}
