package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mydocker/mydocker/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli"
)

var runcExecCommand = cli.Command{
	Name:      "exec",
	Usage:     "run a process in a running container",
	ArgsUsage: "ID [COMMAND [ARG...]]",
	Flags: []cli.Flag{
		cli.StringFlag{Name: "process, p", Usage: "the process, as config.json's process (JSON file)"},
		cli.BoolFlag{Name: "detach, d", Usage: "return once it has started"},
		cli.StringFlag{Name: "pid-file", Usage: "write its PID to this file"},
		cli.StringFlag{Name: "console-socket", Usage: "a unix socket to send the pty's master to"},
		cli.BoolFlag{Name: "tty, t", Usage: "a pseudo-terminal (needs --console-socket)"},
		cli.StringFlag{Name: "cwd", Usage: "its working directory"},
		cli.StringSliceFlag{Name: "env, e", Usage: "add KEY=VALUE to its environment (repeatable)"},
		cli.StringFlag{Name: "user, u", Usage: "UID[:GID]"},
		cli.IntFlag{Name: "preserve-fds", Usage: "pass this many more descriptors, from 3 on, to the process"},
	},
	SkipArgReorder: true,
	Action: func(ctx *cli.Context) error {
		id, err := runcID(ctx)
		if err != nil {
			return err
		}
		o := oci.ExecOptions{
			Root: runcRoot, ID: id, ProcessFile: ctx.String("process"), Args: ctx.Args().Tail(),
			Cwd: ctx.String("cwd"), Env: ctx.StringSlice("env"), TTY: ctx.Bool("tty"),
			ConsoleSocket: ctx.String("console-socket"), Detach: ctx.Bool("detach"), PidFile: ctx.String("pid-file"),
			PreserveFds: ctx.Int("preserve-fds"),
		}
		if o.ProcessFile == "" && len(o.Args) == 0 {
			return fmt.Errorf("exec: give a command, or --process")
		}
		if u := ctx.String("user"); u != "" {
			uid, gid, _ := strings.Cut(u, ":")
			n, err := strconv.ParseUint(uid, 10, 32)
			if err != nil {
				return fmt.Errorf("exec: --user %q: want UID[:GID], numbers", u)
			}
			o.User = &specs.User{UID: uint32(n)}
			if gid != "" {
				g, err := strconv.ParseUint(gid, 10, 32)
				if err != nil {
					return fmt.Errorf("exec: --user %q: want UID[:GID], numbers", u)
				}
				o.User.GID = uint32(g)
			}
		}
		p, err := oci.Exec(o)
		if err != nil {
			return err
		}
		if o.Detach {
			return nil
		}
		ws, err := p.Wait()
		if err != nil {
			return err
		}
		if ws.Signaled() {
			return runcExit(128 + int(ws.Signal()))
		}
		return runcExit(ws.ExitStatus())
	},
}
