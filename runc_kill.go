package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mydocker/mydocker/oci"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var runcKillCommand = cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to a container's init, or with --all to all its processes",
	ArgsUsage: "ID [SIGNAL]",
	Flags:     []cli.Flag{cli.BoolFlag{Name: "all, a", Usage: "every process of the container"}},
	Action: func(ctx *cli.Context) error {
		id, err := runcID(ctx)
		if err != nil {
			return err
		}
		sig := unix.SIGTERM
		if s := ctx.Args().Get(1); s != "" {
			if sig, err = parseSignal(s); err != nil {
				return err
			}
		}
		return oci.Kill(runcRoot, id, sig, ctx.Bool("all"))
	},
}

var runcDeleteCommand = cli.Command{
	Name:      "delete",
	Usage:     "delete a stopped container (--force: any, killing it; of an unknown ID, nothing)",
	ArgsUsage: "ID",
	Flags:     []cli.Flag{cli.BoolFlag{Name: "force, f", Usage: "kill it first if it runs"}},
	Action: func(ctx *cli.Context) error {
		id, err := runcID(ctx)
		if err != nil {
			return err
		}
		return oci.Delete(runcRoot, id, ctx.Bool("force"))
	},
}

var runcPauseCommand = cli.Command{
	Name:      "pause",
	Usage:     "freeze every process of a container (the freezer cgroup)",
	ArgsUsage: "ID",
	Action: func(ctx *cli.Context) error {
		id, err := runcID(ctx)
		if err != nil {
			return err
		}
		return oci.Pause(runcRoot, id, true)
	},
}

var runcResumeCommand = cli.Command{
	Name:      "resume",
	Usage:     "thaw a paused container",
	ArgsUsage: "ID",
	Action: func(ctx *cli.Context) error {
		id, err := runcID(ctx)
		if err != nil {
			return err
		}
		return oci.Pause(runcRoot, id, false)
	},
}

var runcUpdateCommand = cli.Command{
	Name:      "update",
	Usage:     "set new limits on a running container (linux.resources JSON, from a file or - for stdin)",
	ArgsUsage: "ID",
	Flags:     []cli.Flag{cli.StringFlag{Name: "resources, r", Usage: "the resources JSON: a file, or - for stdin"}},
	Action: func(ctx *cli.Context) error {
		id, err := runcID(ctx)
		if err != nil {
			return err
		}
		var data []byte
		switch path := ctx.String("resources"); path {
		case "":
			return fmt.Errorf("update: give --resources FILE (or - for stdin); single-value flags are not supported")
		case "-":
			data, err = io.ReadAll(os.Stdin)
		default:
			data, err = os.ReadFile(path)
		}
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		return oci.Update(runcRoot, id, data)
	},
}
