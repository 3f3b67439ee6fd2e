package main

import (
	"fmt"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/network"
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
	if s.Network != "" {
		// network rm does not wait for exited containers, as docker's.
		if _, err := network.Get(storeRoot, s.Network); err != nil {
			return usageErrorf("container %s: network %s no longer exists (it was removed)", s.Name, s.Network)
		}
	}
	return startMonitor(s.Argv, s.ID, s.Name, true)
}
