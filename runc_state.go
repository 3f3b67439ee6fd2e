package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mydocker/mydocker/oci"
	"github.com/urfave/cli"
)

var runcStateCommand = cli.Command{
	Name:      "state",
	Usage:     "print a container's state, as the runtime spec's JSON",
	ArgsUsage: "ID",
	Action: func(ctx *cli.Context) error {
		id, err := runcID(ctx)
		if err != nil {
			return err
		}
		c, err := oci.Load(runcRoot, id)
		if err != nil {
			return err
		}
		return printJSON(c.State(), true)
	},
}

var runcListCommand = cli.Command{
	Name:  "list",
	Usage: "list the containers",
	Flags: []cli.Flag{
		cli.StringFlag{Name: "format, f", Value: "table", Usage: "table or json"},
		cli.BoolFlag{Name: "quiet, q", Usage: "IDs only"},
	},
	Action: func(ctx *cli.Context) error {
		cs, err := oci.List(runcRoot)
		if err != nil {
			return err
		}
		states := make([]oci.State, 0, len(cs))
		for _, c := range cs {
			states = append(states, c.State())
		}
		switch {
		case ctx.Bool("quiet"):
			for _, s := range states {
				fmt.Println(s.ID)
			}
			return nil
		case ctx.String("format") == "json":
			return printJSON(states, false)
		case ctx.String("format") != "table":
			return fmt.Errorf("invalid --format %q: use table or json", ctx.String("format"))
		}
		w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, s := range states {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), "root")
		}
		return w.Flush()
	},
}

var runcPsCommand = cli.Command{
	Name:      "ps",
	Usage:     "list a container's processes (--format json: their PIDs)",
	ArgsUsage: "ID [ps OPTIONS]",
	Flags:     []cli.Flag{cli.StringFlag{Name: "format, f", Value: "table", Usage: "table or json"}},
	Action: func(ctx *cli.Context) error {
		id, err := runcID(ctx)
		if err != nil {
			return err
		}
		pids, err := oci.Procs(runcRoot, id)
		if err != nil {
			return err
		}
		if ctx.String("format") == "json" {
			return printJSON(pids, false)
		}
		if ctx.String("format") != "table" {
			return fmt.Errorf("invalid --format %q: use table or json", ctx.String("format"))
		}
		// ps's own table, of these processes only, as runc does.
		args := ctx.Args().Tail()
		if len(args) == 0 {
			args = []string{"-ef"}
		}
		out, err := exec.Command("ps", args...).Output()
		if err != nil {
			return fmt.Errorf("ps: %w", err)
		}
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		col := -1
		for i, f := range strings.Fields(lines[0]) {
			if f == "PID" {
				col = i
			}
		}
		if col < 0 {
			return fmt.Errorf("ps: no PID column in its output")
		}
		in := map[int]bool{}
		for _, p := range pids {
			in[p] = true
		}
		fmt.Println(lines[0])
		for _, l := range lines[1:] {
			if f := strings.Fields(l); len(f) > col {
				if n, err := strconv.Atoi(f[col]); err == nil && in[n] {
					fmt.Println(l)
				}
			}
		}
		return nil
	},
}

var runcFeaturesCommand = cli.Command{
	Name:  "features",
	Usage: "print what this runtime supports (the runtime spec's features JSON)",
	Action: func(ctx *cli.Context) error {
		return printJSON(oci.Features(), true)
	},
}
