package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mydocker/mydocker/container"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var killCommand = cli.Command{
	Name:         "kill",
	Usage:        "send a signal to running containers (default SIGKILL)",
	ArgsUsage:    "CONTAINER [CONTAINER...]",
	OnUsageError: usageError,
	Flags:        []cli.Flag{cli.StringFlag{Name: "signal, s", Value: "KILL", Usage: "the signal: KILL, SIGTERM, 15..."}},
	Action: func(ctx *cli.Context) error {
		sig, err := parseSignal(ctx.String("signal"))
		if err != nil {
			return usageErrorf("%v", err)
		}
		return eachContainer(ctx, "kill", func(s *container.State) error { return container.Signal(s, sig) })
	},
}

// parseSignal reads KILL, SIGKILL, kill or 9.
func parseSignal(name string) (unix.Signal, error) {
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	upper := strings.ToUpper(name)
	if !strings.HasPrefix(upper, "SIG") {
		upper = "SIG" + upper
	}
	if sig := unix.SignalNum(upper); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal %q: a name (KILL, SIGTERM) or a number", name)
}
