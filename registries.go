package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/urfave/cli"
)

// The registry commands run mydocker-registry, a helper built beside
// mydocker (make builds both): the registry client's libraries (net/http,
// TLS, docker's config code) stay out of this binary, whose every start
// would pay for their initialisation (docs/registries.md).

var insecureFlag = cli.StringSliceFlag{Name: "insecure-registry", Usage: "reach `HOST[:PORT]` by plain http or untrusted TLS, as docker's insecure-registries (repeatable; also MYDOCKER_INSECURE_REGISTRIES, comma-separated); loopback hosts always may"}

var pullCommand = cli.Command{
	Name:         "pull",
	Usage:        "download an image from a registry (Docker Hub unless the name says another)",
	ArgsUsage:    "NAME[:TAG|@DIGEST]",
	OnUsageError: usageError,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "platform", Usage: "the image for `OS/ARCH[/VARIANT]` of a multi-platform one (default: this host's)"},
		cli.BoolFlag{Name: "quiet, q", Usage: "print only the image's full name"},
		insecureFlag,
	},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 1 {
			return usageErrorf("pull needs one image: mydocker pull NAME[:TAG|@DIGEST]")
		}
		args := []string{"pull"}
		if p := ctx.String("platform"); p != "" {
			args = append(args, "-platform", p)
		}
		if ctx.Bool("quiet") {
			args = append(args, "-q")
		}
		return execRegistry(ctx.StringSlice("insecure-registry"), append(args, ctx.Args()[0]))
	},
}

var pushCommand = cli.Command{
	Name:         "push",
	Usage:        "send an image to the registry its name says (mydocker tag IMAGE HOST/NAME:TAG first)",
	ArgsUsage:    "NAME[:TAG]",
	OnUsageError: usageError,
	Flags:        []cli.Flag{cli.BoolFlag{Name: "quiet, q", Usage: "print nothing but errors"}, insecureFlag},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 1 {
			return usageErrorf("push needs one image: mydocker push NAME[:TAG]")
		}
		args := []string{"push"}
		if ctx.Bool("quiet") {
			args = append(args, "-q")
		}
		return execRegistry(ctx.StringSlice("insecure-registry"), append(args, ctx.Args()[0]))
	},
}

var loginCommand = cli.Command{
	Name:         "login",
	Usage:        "keep a registry's credentials where docker keeps them (~/.docker/config.json, or its credential helper)",
	ArgsUsage:    "[SERVER]",
	OnUsageError: usageError,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "username, u", Usage: "the user `NAME`"},
		cli.BoolFlag{Name: "password-stdin", Usage: "read the password from standard input (else it is asked on the terminal; never on the command line)"},
		insecureFlag,
	},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) > 1 {
			return usageErrorf("login takes one server: mydocker login [-u USER] [--password-stdin] [SERVER]")
		}
		args := []string{"login"}
		if u := ctx.String("username"); u != "" {
			args = append(args, "-u", u)
		}
		if ctx.Bool("password-stdin") {
			args = append(args, "-password-stdin")
		}
		return execRegistry(ctx.StringSlice("insecure-registry"), append(args, ctx.Args()...))
	},
}

var logoutCommand = cli.Command{
	Name:         "logout",
	Usage:        "remove a registry's credentials",
	ArgsUsage:    "[SERVER]",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) > 1 {
			return usageErrorf("logout takes one server: mydocker logout [SERVER]")
		}
		return execRegistry(nil, append([]string{"logout"}, ctx.Args()...))
	},
}

// registryHelper is mydocker-registry's path: beside this binary, else in
// PATH.
func registryHelper() (string, error) {
	if self, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(self), "mydocker-registry")
		if _, err := os.Stat(beside); err == nil {
			return beside, nil
		}
	}
	if path, err := exec.LookPath("mydocker-registry"); err == nil {
		return path, nil
	}
	return "", errors.New("mydocker-registry, the registry client, is neither beside mydocker nor in PATH (make builds both)")
}

// helperArgs is the helper's command line for args.
func helperArgs(insecure, args []string) []string {
	argv := []string{"mydocker-registry", "-root", storeRoot}
	for _, h := range insecure {
		argv = append(argv, "-insecure-registry", h)
	}
	return append(argv, args...)
}

// execRegistry becomes the helper: its output, its signals and its exit
// status are the command's.
func execRegistry(insecure, args []string) error {
	helper, err := registryHelper()
	if err != nil {
		return usageErrorf("%v", err)
	}
	err = syscall.Exec(helper, helperArgs(insecure, args), os.Environ())
	return usageErrorf("run %s: %v", helper, err)
}

// pullForRun is run's pull of a missing image (--pull), its output on
// stderr, as docker's: stdout is the container's.
func pullForRun(ref, platform string, insecure []string) error {
	helper, err := registryHelper()
	if err != nil {
		return err
	}
	args := []string{"pull"}
	if platform != "" {
		args = append(args, "-platform", platform)
	}
	cmd := exec.Command(helper, helperArgs(insecure, append(args, ref))[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		// The helper said why, in one line; what is left to say is the
		// way to the host's program of that name, if there is one.
		msg := ""
		if hint := hostProgramHint(ref); hint != "" {
			msg = "no image " + ref + ": " + hint
		}
		return &statusError{status: 125, msg: msg}
	}
	return nil
}
