package main

import (
	"os"

	"github.com/mydocker/mydocker/container"
	log "github.com/sirupsen/logrus"
	"github.com/urfave/cli"
)

// envSettings collects every -e and --env, in command-line order.
var envSettings = &cli.StringSlice{}

var runCommand = cli.Command{
	Name:  "run",
	Usage: "run COMMAND in new UTS, PID, mount, network and IPC namespaces",
	UsageText: `mydocker run [flags] COMMAND [ARG...]

   Everything from COMMAND on belongs to COMMAND: mydocker run -ti /bin/ls -l /`,
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "interactive, i", Usage: "keep stdin attached (else it is /dev/null)"},
		cli.BoolFlag{Name: "tty, t", Usage: "give the container a pseudo-terminal of its own (when stdin is a terminal)"},
		cli.BoolFlag{Name: "ti, it", Usage: "same as -i -t (the book's spelling)"},
		cli.BoolFlag{Name: "init", Usage: "run a small init as PID 1 that forwards signals and reaps zombies"},
		cli.StringFlag{Name: "hostname", Usage: "the container's hostname (default: the caller's)"},
		// -e and --env are two flags sharing one list, so that they can be
		// mixed in one command line in order (urfave/cli refuses "two
		// forms of the same flag" for one flag with two names).
		cli.StringSliceFlag{Name: "e", Usage: "set KEY=VALUE, or pass the caller's KEY (repeatable)", Value: envSettings},
		cli.StringSliceFlag{Name: "env", Usage: "same as -e", Value: envSettings},
		cli.StringSliceFlag{Name: "env-file", Usage: "read KEY=VALUE lines from a file (repeatable)"},
		cli.StringFlag{Name: "workdir, w", Usage: "the command's working directory (absolute; default: the caller's)"},
	},
	// Flags stop at COMMAND: without this, urfave/cli would move the -l of
	// `run /bin/ls -l` in front of COMMAND and take it as its own.
	SkipArgReorder: true,
	OnUsageError:   usageError,
	Action: func(ctx *cli.Context) error {
		opts, err := parseRunOptions(ctx)
		if err != nil {
			return err
		}
		return Run(opts)
	},
}

// parseRunOptions turns run's flags into a validated runOptions, before
// anything is started.
func parseRunOptions(ctx *cli.Context) (runOptions, error) {
	args := []string(ctx.Args())
	if len(args) == 0 {
		return runOptions{}, usageErrorf("run needs a command: mydocker run [flags] COMMAND [ARG...]")
	}
	if args[0] == "" {
		return runOptions{}, usageErrorf("run: the command is an empty string")
	}
	both := ctx.Bool("ti")
	cfg := &container.Config{
		Args:     args,
		Hostname: ctx.String("hostname"),
		Workdir:  ctx.String("workdir"),
		Init:     ctx.Bool("init"),
	}
	if ctx.IsSet("hostname") {
		if err := validHostname(cfg.Hostname); err != nil {
			return runOptions{}, usageErrorf("%v", err)
		}
	}
	if ctx.IsSet("workdir") {
		if err := validWorkdir(cfg.Workdir); err != nil {
			return runOptions{}, usageErrorf("%v", err)
		}
	}
	env, err := buildEnv(os.Environ(), ctx.StringSlice("env-file"), *envSettings)
	if err != nil {
		return runOptions{}, usageErrorf("%v", err)
	}
	cfg.Env = env
	return runOptions{
		interactive: both || ctx.Bool("interactive"),
		tty:         both || ctx.Bool("tty"),
		config:      cfg,
	}, nil
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
