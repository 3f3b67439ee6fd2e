package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/mydocker/mydocker/container"
	log "github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// runOptions are the run command's flags, validated.
type runOptions struct {
	interactive bool
	tty         bool
	config      *container.Config
}

// forwardedSignals reach the container's PID 1 when mydocker receives them,
// so `kill` and Ctrl-C on a script that wraps mydocker act on the command.
var forwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP,
	syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// Run starts the container, forwards signals to it, waits for it and ends
// with its exit status.
func Run(opts runOptions) error {
	if os.Geteuid() != 0 {
		return usageErrorf("run needs root privileges (try sudo)")
	}
	if opts.tty && !isTerminal(os.Stdin) {
		log.Info("-t: stdin is not a terminal, running with plain stdio")
	}

	parent, err := container.NewParentProcess(opts.config, logArgs, opts.interactive)
	if err != nil {
		return err
	}

	// Catch signals before the container exists, so none is lost between
	// its start and the forwarding loop.
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, forwardedSignals...)
	defer signal.Stop(signals)

	startErr := parent.Start()
	if parent.Cmd.Process == nil {
		return startErr // nothing was started, nothing to reap
	}
	go func() {
		for sig := range signals {
			log.Infof("forwarding %v to the container", sig)
			_ = parent.Cmd.Process.Signal(sig)
		}
	}()

	// Always reap, even when start-up failed: mydocker never leaves a
	// zombie or a running container behind.
	ws, waitErr := parent.Wait()
	if startErr != nil {
		return startErr // a *container.StartError carries 126, 127 or 125
	}
	if waitErr != nil {
		return waitErr
	}
	status := exitStatus(ws)
	log.Infof("container exited with status %d", status)
	if status != 0 {
		return exitWith(status)
	}
	return nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
