package main

import (
	"os"

	"github.com/mydocker/mydocker/container"
	"github.com/urfave/cli"
)

var execCommand = cli.Command{
	Name:  "exec",
	Usage: "run a command in a running container: its namespaces, cgroup and confinement",
	UsageText: `mydocker exec [-i] [-t] [-e KEY=VALUE] [-w DIR] CONTAINER COMMAND [ARG...]

   The command gets the container's environment plus -e, its working
   directory (or -w), its capabilities, seccomp filter and no_new_privs,
   and is a process of its PID namespace. Its exit status is mydocker's
   (126 and 127 as in run).`,
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "interactive, i", Usage: "keep stdin attached"},
		cli.BoolFlag{Name: "tty, t", Usage: "a pseudo-terminal (from the container's own devpts)"},
		cli.BoolFlag{Name: "ti, it", Usage: "same as -i -t"},
		cli.StringSliceFlag{Name: "env, e", Usage: "set KEY=VALUE, or pass the caller's KEY (repeatable)"},
		cli.StringFlag{Name: "workdir, w", Usage: "the command's working directory (absolute)"},
		cli.StringFlag{Name: "user, u", Usage: "run as USER[:GROUP] (default: the container's --user)"},
	},
	SkipArgReorder: true,
	OnUsageError:   usageError,
	Action: func(ctx *cli.Context) error {
		args := []string(ctx.Args())
		if len(args) < 2 || args[1] == "" {
			return usageErrorf("exec needs a container and a command: mydocker exec CONTAINER COMMAND [ARG...]")
		}
		if os.Geteuid() != 0 {
			return usageErrorf("exec needs root privileges (try sudo)")
		}
		s, err := container.Find(storeRoot, args[0])
		if err != nil {
			return &statusError{status: 1, msg: err.Error()}
		}
		if !s.Running {
			return &statusError{status: 1, msg: "container " + s.Name + " is not running"}
		}
		both := ctx.Bool("ti")
		tty := both || ctx.Bool("tty")
		base := s.Env
		if tty && !hasKey(base, "TERM") {
			// As docker's exec -t, and as run -t: programs such as clear
			// and less need to know what terminal they drive.
			base = append(append([]string{}, base...), "TERM=xterm")
		}
		env, err := buildEnv(base, nil, ctx.StringSlice("env"))
		if err != nil {
			return usageErrorf("%v", err)
		}
		cfg := &container.Config{
			Args: args[1:], Env: env, Workdir: s.Workdir,
			LimitCapabilities: s.LimitCapabilities, Capabilities: s.Capabilities,
			Seccomp: s.Seccomp, NoNewPrivileges: s.NoNewPrivileges,
		}
		cfg.User = s.User // the container's --user, as docker's exec
		if isSet(ctx, "user") {
			if cfg.User, err = validUser(ctx.String("user")); err != nil {
				return usageErrorf("%v", err)
			}
		}
		cfg.HomeFromUser = cfg.User != "" && (s.HomeFromUser || isSet(ctx, "user")) &&
			!hasKey(buildEnvOrNil(ctx.StringSlice("env")), "HOME")
		if isSet(ctx, "workdir") {
			if err := validWorkdir(ctx.String("workdir")); err != nil {
				return usageErrorf("%v", err)
			}
			cfg.Workdir = ctx.String("workdir")
		}
		opts := runOptions{interactive: both || ctx.Bool("interactive"), tty: tty, config: cfg}
		if s.Image != "" {
			opts.image = s.Image // a root of its own: the terminal comes from its devpts
		}
		return execIn(s, opts)
	},
}

// execIn runs opts' command in the running container s and ends with its
// exit status, as a foreground run does.
func execIn(s *container.State, opts runOptions) error {
	console, stdio, err := setUpStdio(&opts)
	if err != nil {
		return err
	}
	if console != nil {
		defer console.Close()
	}
	p, err := container.NewExecProcess(s, opts.config, logArgs, stdio)
	if err != nil {
		return err
	}
	if opts.config.ConsoleSocket {
		p.OnConsole = console.Attach
	}
	waitStatus, hungUp, err := supervise(p, console, func() {})
	if err != nil {
		return err
	}
	status := exitStatus(waitStatus)
	if hungUp != 0 {
		status = 128 + int(hungUp)
	}
	if status != 0 {
		return exitWith(status)
	}
	return nil
}
