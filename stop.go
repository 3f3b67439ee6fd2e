package main

import (
	"fmt"
	"time"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/names"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var stopCommand = cli.Command{
	Name:         "stop",
	Usage:        "stop running containers: SIGTERM, then SIGKILL after -t seconds",
	ArgsUsage:    "CONTAINER [CONTAINER...]",
	OnUsageError: usageError,
	Flags:        []cli.Flag{cli.IntFlag{Name: "time, t", Value: 10, Usage: "seconds to wait after SIGTERM before SIGKILL"}},
	Action: func(ctx *cli.Context) error {
		if ctx.Int("time") < 0 {
			return usageErrorf("stop: -t must be 0 or more seconds")
		}
		return eachContainer(ctx, "stop", func(s *container.State) error {
			return stopContainer(s, time.Duration(ctx.Int("time"))*time.Second)
		})
	},
}

// stopContainer is docker's stop: SIGTERM (or the image's STOPSIGNAL),
// SIGKILL after grace, and back
// once the container is gone. A container that is not running is not an
// error.
func stopContainer(s *container.State, grace time.Duration) error {
	if !s.Running {
		return nil
	}
	sig := unix.SIGTERM
	if s.StopSignal != "" {
		// The image's STOPSIGNAL, checked when it was recorded.
		if custom, err := names.Signal(s.StopSignal); err == nil {
			sig = custom
		}
	}
	if container.Signal(s, sig) == nil && container.WaitStopped(s, grace) {
		return waitGone(s)
	}
	// A PID 1 without a handler ignores SIGTERM (the book marked it
	// stopped anyway).
	_ = container.Signal(s, unix.SIGKILL)
	return waitGone(s)
}

func waitGone(s *container.State) error {
	if !container.WaitGone(s, 10*time.Second) {
		return fmt.Errorf("container %s is still running 10 seconds after SIGKILL", s.Name)
	}
	return nil
}
