package main

import (
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/names"
	"github.com/urfave/cli"
)

var killCommand = cli.Command{
	Name:         "kill",
	Usage:        "send a signal to running containers (default SIGKILL)",
	ArgsUsage:    "CONTAINER [CONTAINER...]",
	OnUsageError: usageError,
	Flags:        []cli.Flag{cli.StringFlag{Name: "signal, s", Value: "KILL", Usage: "the signal: KILL, SIGTERM, 15..."}},
	Action: func(ctx *cli.Context) error {
		sig, err := names.Signal(ctx.String("signal"))
		if err != nil {
			return usageErrorf("%v", err)
		}
		return eachContainer(ctx, "kill", func(s *container.State) error { return container.Signal(s, sig) })
	},
}
