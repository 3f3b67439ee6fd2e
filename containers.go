package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/mydocker/mydocker/container"
	"github.com/urfave/cli"
)

// The commands that act on containers by name or ID (docker's and the
// book's chapter 5), one file each: stop.go, kill.go, rm.go, start.go,
// logs.go, commit.go, inspect.go. Each refers to containers by
// name, full ID or a unique ID prefix. A container that cannot be found,
// or is not in the state the command needs, is one line on stderr and
// status 1, as in docker; the other containers named are still acted on.

// eachContainer runs act on every container named on the command line,
// going on past failures (each one line on stderr, then status 1) and
// printing each one done, as docker does.
func eachContainer(ctx *cli.Context, verb string, act func(*container.State) error) error {
	if len(ctx.Args()) == 0 {
		return usageErrorf("%s needs a container: mydocker %s CONTAINER [CONTAINER...]", verb, verb)
	}
	// The status is 1, as docker's, unless a failure carries its own
	// (start: 125 for a runtime error, 126 and 127 for the command).
	status := 0
	for _, ref := range ctx.Args() {
		s, err := container.Find(storeRoot, ref)
		if err == nil {
			err = act(s)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "mydocker: %v\n", err)
			status = 1
			var se *statusError
			var start *container.StartError
			if errors.As(err, &se) || errors.As(err, &start) {
				status = statusOf(err)
			}
			continue
		}
		fmt.Println(ref)
	}
	if status != 0 {
		return exitWith(status)
	}
	return nil
}
