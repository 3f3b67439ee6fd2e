package main

import (
	"os"

	"github.com/mydocker/mydocker/container"
	log "github.com/sirupsen/logrus"
	"github.com/urfave/cli"
)

var runCommand = cli.Command{
	Name:  "run",
	Usage: "run COMMAND in new UTS, PID, mount, network and IPC namespaces",
	UsageText: `mydocker run [flags] COMMAND [ARG...]

   Everything from COMMAND on belongs to COMMAND: mydocker run -ti /bin/ls -l /`,
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "interactive, i", Usage: "keep stdin attached (else it is /dev/null)"},
		cli.BoolFlag{Name: "tty, t", Usage: "the command uses the caller's terminal"},
		cli.BoolFlag{Name: "ti, it", Usage: "same as -i -t (the book's spelling)"},
	},
	// Flags stop at COMMAND: without this, urfave/cli would move the -l of
	// `run /bin/ls -l` in front of COMMAND and take it as its own.
	SkipArgReorder: true,
	OnUsageError:   usageError,
	Action: func(ctx *cli.Context) error {
		args := []string(ctx.Args())
		if len(args) == 0 {
			return usageErrorf("run needs a command: mydocker run [flags] COMMAND [ARG...]")
		}
		if args[0] == "" {
			return usageErrorf("run: the command is an empty string")
		}
		both := ctx.Bool("ti")
		opts := runOptions{
			interactive: both || ctx.Bool("interactive"),
			tty:         both || ctx.Bool("tty"),
			config:      &container.Config{Args: args},
		}
		return Run(opts)
	},
}

// initCommand is the inside of the container: run re-executes this binary
// as "mydocker init" in the new namespaces. Hidden: users never type it.
var initCommand = cli.Command{
	Name:            "init",
	Usage:           "internal: the first process inside a container; do not call it",
	Hidden:          true,
	SkipFlagParsing: true,
	Action: func(ctx *cli.Context) error {
		err := container.RunContainerInitProcess()
		if err == container.ErrNotInContainer {
			return err
		}
		// Any other failure went to the parent over the status pipe; the
		// parent prints it, so init only exits with the status.
		log.Debugf("init failed: %v", err)
		os.Exit(statusOf(err))
		return nil
	},
}
