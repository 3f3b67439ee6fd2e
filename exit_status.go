package main

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/mydocker/mydocker/container"
	"github.com/urfave/cli"
)

// statusError carries the exit status mydocker should end with. An empty
// message means "exit quietly": the command's own status, already visible.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// exitWith ends mydocker with status and nothing printed.
func exitWith(status int) error { return &statusError{status: status} }

// usageErrorf is a mistake on the command line: docker's status 125.
func usageErrorf(format string, args ...any) error {
	return &statusError{status: container.StatusRuntimeError, msg: fmt.Sprintf(format, args...)}
}

// usageError replaces urfave/cli's reaction to a bad flag (a message plus
// the whole help text on stdout) with one line on stderr.
func usageError(ctx *cli.Context, err error, _ bool) error {
	where := "mydocker"
	if ctx.Command.Name != "" {
		where += " " + ctx.Command.Name
	}
	return usageErrorf("%v (see '%s --help')", err, where)
}

// statusOf is the exit status for an error that reached main: its own if
// it carries one, else 125, mydocker's own failure.
func statusOf(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	var start *container.StartError
	if errors.As(err, &start) {
		return start.Status
	}
	return container.StatusRuntimeError
}

// exitStatus turns how the container's PID 1 ended into mydocker's exit
// status, as a shell and docker do: its own status, or 128+N when signal N
// killed it.
func exitStatus(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return container.StatusRuntimeError
}
