package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/image"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

// The commands that act on a container by name or ID (docker's and the
// book's chapter 5): stop, kill, rm and logs. Each refers to containers by
// name, full ID or a unique ID prefix. A container that cannot be found,
// or is not in the state the command needs, is one line on stderr and
// status 1, as in docker; the other containers named are still acted on.

var stopCommand = cli.Command{
	Name:         "stop",
	Usage:        "stop running containers: SIGTERM, then SIGKILL after -t seconds",
	ArgsUsage:    "CONTAINER [CONTAINER...]",
	OnUsageError: usageError,
	Flags:        []cli.Flag{cli.IntFlag{Name: "time, t", Value: 10, Usage: "seconds to wait after SIGTERM before SIGKILL"}},
	Action: func(ctx *cli.Context) error {
		if ctx.Int("time") < 0 {
			return usageErrorf("stop: -t must be 0 or more seconds")
		}
		return eachContainer(ctx, "stop", func(s *container.State) error {
			return stopContainer(s, time.Duration(ctx.Int("time"))*time.Second)
		})
	},
}

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

var rmCommand = cli.Command{
	Name:         "rm",
	Usage:        "remove containers that are not running (-f: kill them first)",
	ArgsUsage:    "CONTAINER [CONTAINER...]",
	OnUsageError: usageError,
	Flags:        []cli.Flag{cli.BoolFlag{Name: "force, f", Usage: "kill a running container first"}},
	Action: func(ctx *cli.Context) error {
		return eachContainer(ctx, "rm", func(s *container.State) error { return removeContainer(s, ctx.Bool("force")) })
	},
}

var startCommand = cli.Command{
	Name:         "start",
	Usage:        "run exited detached containers again, detached, on their own layer",
	ArgsUsage:    "CONTAINER [CONTAINER...]",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		return eachContainer(ctx, "start", startContainer)
	},
}

var commitCommand = cli.Command{
	Name:         "commit",
	Usage:        "make an image of a container's files: its image plus what it changed (the book's 4.4)",
	ArgsUsage:    "CONTAINER IMAGE",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 2 {
			return usageErrorf("commit needs a container and an image name: mydocker commit CONTAINER IMAGE")
		}
		s, err := container.Find(storeRoot, ctx.Args()[0])
		if err == nil {
			err = commitContainer(s, ctx.Args()[1])
		}
		if err != nil {
			return &statusError{status: 1, msg: err.Error()}
		}
		fmt.Println(ctx.Args()[1])
		return nil
	},
}

var logsCommand = cli.Command{
	Name:         "logs",
	Usage:        "print a detached container's output (stdout and stderr, in order)",
	ArgsUsage:    "CONTAINER",
	OnUsageError: usageError,
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "follow, f", Usage: "go on printing until the container ends"},
		cli.StringFlag{Name: "tail", Value: "all", Usage: "only the last N lines"},
	},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 1 {
			return usageErrorf("logs needs one container: mydocker logs CONTAINER")
		}
		tail := -1
		if v := ctx.String("tail"); v != "all" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return usageErrorf("invalid --tail %q: a number of lines, or all", v)
			}
			tail = n
		}
		s, err := container.Find(storeRoot, ctx.Args()[0])
		if err != nil {
			return &statusError{status: 1, msg: err.Error()}
		}
		return printLogs(os.Stdout, s, tail, ctx.Bool("follow"))
	},
}

// eachContainer runs act on every container named on the command line,
// going on past failures (each one line on stderr, then status 1) and
// printing each one done, as docker does.
func eachContainer(ctx *cli.Context, verb string, act func(*container.State) error) error {
	if len(ctx.Args()) == 0 {
		return usageErrorf("%s needs a container: mydocker %s CONTAINER [CONTAINER...]", verb, verb)
	}
	failed := false
	for _, ref := range ctx.Args() {
		s, err := container.Find(storeRoot, ref)
		if err == nil {
			err = act(s)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "mydocker: %v\n", err)
			failed = true
			continue
		}
		fmt.Println(ref)
	}
	if failed {
		return exitWith(1)
	}
	return nil
}

// stopContainer is docker's stop: SIGTERM, SIGKILL after grace, and back
// once the container is gone. A container that is not running is not an
// error.
func stopContainer(s *container.State, grace time.Duration) error {
	if !s.Running {
		return nil
	}
	if container.Signal(s, unix.SIGTERM) == nil && container.WaitStopped(s, grace) {
		return waitGone(s)
	}
	// A PID 1 without a handler ignores SIGTERM (the book marked it
	// stopped anyway).
	_ = container.Signal(s, unix.SIGKILL)
	return waitGone(s)
}

func waitGone(s *container.State) error {
	if !container.WaitGone(s, 10*time.Second) {
		return fmt.Errorf("container %s is still running 10 seconds after SIGKILL", s.Name)
	}
	return nil
}

// removeContainer is rm: what is left of a container that does not run.
func removeContainer(s *container.State, force bool) error {
	if s.Running {
		if !force {
			return fmt.Errorf("container %s is running: stop it first, or use rm -f", s.Name)
		}
		_ = container.Signal(s, unix.SIGKILL)
		if err := waitGone(s); err != nil {
			return err
		}
	}
	if err := container.RemoveExited(storeRoot, s); err != nil {
		return err
	}
	// A monitor killed with SIGKILL could not release the cgroup.
	cgroups.RemoveLeft(cgroups.Prefix + s.ID)
	return nil
}

// startContainer runs an exited detached container again: a new monitor
// with its run -d command line, its ID, name and layer. One that runs is
// left alone, as docker does.
func startContainer(s *container.State) error {
	switch {
	case s.Running:
		return nil
	case !s.Detached || len(s.Argv) == 0:
		return fmt.Errorf("container %s was not started with run -d: there is nothing to start again", s.Name)
	}
	return startMonitor(s.Argv, s.ID, s.Name, true)
}

// commitContainer is commit: the container's image plus its own layer, as
// a new image (whether it runs or has exited; a running one is not
// paused, so a file it writes meanwhile may or may not be in).
func commitContainer(s *container.State, name string) error {
	if s.Image == "" || strings.Contains(s.Image, "/") {
		return fmt.Errorf("container %s runs on the host's files or a --rootfs directory: it has no layer of its own to commit", s.Name)
	}
	store := image.NewStore(storeRoot)
	base, err := store.Get(s.Image)
	if err != nil {
		return err
	}
	// The /etc files are mydocker's, bind-mounted over the container's.
	etc := []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}
	return store.Commit(base, container.LayerPath(storeRoot, s.ID, "upper"), name, etc)
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

// printLogs copies a detached container's log to out: the last tail lines
// (all with tail < 0), then with follow whatever it writes until it ends.
func printLogs(out io.Writer, s *container.State, tail int, follow bool) error {
	if !s.Detached {
		return &statusError{status: 1, msg: fmt.Sprintf("container %s runs in the foreground: its output goes to its terminal, not to a log", s.Name)}
	}
	f, err := os.Open(container.LogPath(storeRoot, s.ID))
	if err != nil {
		return &statusError{status: 1, msg: fmt.Sprintf("logs of %s: %v", s.Name, err)}
	}
	defer f.Close()
	if tail >= 0 {
		if err := seekToLastLines(f, tail); err != nil {
			return err
		}
	}
	w := bufio.NewWriter(out)
	defer w.Flush()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return err
		}
		if !follow || !s.Running || !s.Alive() {
			if follow {
				io.Copy(w, f) // what it wrote last
			}
			return nil
		}
		w.Flush()
		time.Sleep(50 * time.Millisecond)
	}
}

// seekToLastLines leaves f at the start of its last n lines.
func seekToLastLines(f *os.File, n int) error {
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	start := end + 1
	for i := 0; i < n && start > 0; i++ {
		j := strings.LastIndexByte(string(data[:start-1]), '\n')
		start = j + 1
		if j < 0 {
			start = 0
			break
		}
	}
	if n == 0 {
		start = len(data)
	}
	_, err = f.Seek(int64(start), io.SeekStart)
	return err
}
