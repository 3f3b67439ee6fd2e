package main

import (
	"os"
	"os/signal"

	"github.com/mydocker/mydocker/oci"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

// create's and run's flags.
var runcCreateFlags = []cli.Flag{
	cli.StringFlag{Name: "bundle, b", Value: ".", Usage: "the bundle: the directory of config.json"},
	cli.StringFlag{Name: "pid-file", Usage: "write init's PID to this file"},
	cli.StringFlag{Name: "console-socket", Usage: "a unix socket to send the pty's master to (process.terminal)"},
	cli.BoolFlag{Name: "no-pivot", Usage: "move the root and chroot instead of pivot_root (a root on a ramdisk)"},
	cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring (default: one of the container's own)"},
	cli.IntFlag{Name: "preserve-fds", Usage: "pass this many more descriptors, from 3 on, to the command"},
}

func runcCreateOptions(ctx *cli.Context) (oci.CreateOptions, error) {
	id, err := runcID(ctx)
	if err != nil {
		return oci.CreateOptions{}, err
	}
	return oci.CreateOptions{
		Root: runcRoot, ID: id, Bundle: ctx.String("bundle"),
		PidFile: absPath(ctx.String("pid-file")), ConsoleSocket: ctx.String("console-socket"),
		NoPivot: ctx.Bool("no-pivot"), NoNewKeyring: ctx.Bool("no-new-keyring"), PreserveFds: ctx.Int("preserve-fds"),
	}, nil
}

var runcCreateCommand = cli.Command{
	Name:      "create",
	Usage:     "create a container from a bundle: everything set up, its command not yet started",
	ArgsUsage: "ID",
	Flags:     runcCreateFlags,
	Action: func(ctx *cli.Context) error {
		o, err := runcCreateOptions(ctx)
		if err != nil {
			return err
		}
		_, err = oci.Create(o)
		return err
	},
}

var runcStartCommand = cli.Command{
	Name:      "start",
	Usage:     "start the command of a created container",
	ArgsUsage: "ID",
	Action: func(ctx *cli.Context) error {
		id, err := runcID(ctx)
		if err != nil {
			return err
		}
		return oci.Start(runcRoot, id)
	},
}

var runcRunCommand = cli.Command{
	Name:      "run",
	Usage:     "create and start a container; without -d, wait for it, delete it and exit with its status",
	ArgsUsage: "ID",
	Flags: append([]cli.Flag{
		cli.BoolFlag{Name: "detach, d", Usage: "return once it has started"},
		cli.BoolFlag{Name: "keep", Usage: "do not delete the container when it ends"},
	}, runcCreateFlags...),
	Action: func(ctx *cli.Context) error {
		o, err := runcCreateOptions(ctx)
		if err != nil {
			return err
		}
		// Signals for the container, caught from before it exists.
		sigs := make(chan os.Signal, 8)
		if !ctx.Bool("detach") {
			signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH)
		}
		o.StartNow = true
		made, err := oci.Create(o)
		if err != nil {
			return err
		}
		if ctx.Bool("detach") {
			return nil
		}
		done := make(chan struct{})
		go func() {
			for {
				select {
				case s := <-sigs:
					unix.Kill(made.Pid, s.(unix.Signal))
				case <-done:
					return
				}
			}
		}()
		ws, err := made.Process.Wait()
		close(done)
		if !ctx.Bool("keep") {
			if derr := oci.Delete(o.Root, o.ID, true); derr != nil && err == nil {
				err = derr
			}
		}
		if err != nil {
			return err
		}
		if ws.Signaled() {
			return runcExit(128 + int(ws.Signal()))
		}
		return runcExit(ws.ExitStatus())
	},
}
