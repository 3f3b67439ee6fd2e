package main

import (
	"fmt"

	"github.com/mydocker/mydocker/container"
	"github.com/urfave/cli"
)

var startCommand = cli.Command{
	Name:         "start",
	Usage:        "run exited detached containers again, detached, on their own layer",
	ArgsUsage:    "CONTAINER [CONTAINER...]",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		return eachContainer(ctx, "start", startContainer)
	},
}

// startContainer runs an exited detached container again: a new monitor
// with its run -d command line, its ID, name and layer. One that runs is
// left alone, as docker does.
func startContainer(s *container.State) error {
	switch {
	case s.Running:
		return nil
	case !s.Detached || len(s.Argv) == 0:
		return fmt.Errorf("container %s was not started with run -d: there is nothing to start again", s.Name)
	}
	return startMonitor(s.Argv, s.ID, s.Name, true)
}
