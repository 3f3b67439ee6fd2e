package main

import (
	"fmt"

	"github.com/mydocker/mydocker/container"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var rmCommand = cli.Command{
	Name:         "rm",
	Usage:        "remove containers that are not running (-f: kill them first)",
	ArgsUsage:    "CONTAINER [CONTAINER...]",
	OnUsageError: usageError,
	Flags:        []cli.Flag{cli.BoolFlag{Name: "force, f", Usage: "kill a running container first"}},
	Action: func(ctx *cli.Context) error {
		return eachContainer(ctx, "rm", func(s *container.State) error { return removeContainer(s, ctx.Bool("force")) })
	},
}

// removeContainer is rm: what is left of a container that does not run.
func removeContainer(s *container.State, force bool) error {
	if s.Running {
		if !force {
			return fmt.Errorf("container %s is running: stop it first, or use rm -f", s.Name)
		}
		_ = container.Signal(s, unix.SIGKILL)
		if err := waitGone(s); err != nil {
			return err
		}
	} else if s.Pid != 0 {
		// Its command has ended, and its owner may still be recording
		// that (and releasing its cgroup and address): a moment.
		if err := waitGone(s); err != nil {
			return err
		}
	}
	return container.RemoveExited(s)
}
