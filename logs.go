package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mydocker/mydocker/container"
	"github.com/urfave/cli"
)

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
