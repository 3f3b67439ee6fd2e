package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mydocker/mydocker/container"
	"github.com/urfave/cli"
)

var psCommand = cli.Command{
	Name:         "ps",
	Usage:        "list containers",
	OnUsageError: usageError,
	// ps -aq, as docker users type it.
	UseShortOptionHandling: true,
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "all, a", Usage: "also those not running"},
		cli.BoolFlag{Name: "quiet, q", Usage: "IDs only"},
	},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 0 {
			return usageErrorf("ps takes no arguments")
		}
		return listContainers(ctx.App.Writer, ctx.Bool("all"), ctx.Bool("quiet"))
	},
}

// listContainers is `mydocker ps`: docker's columns, and the book's PID.
// PORTS are a running container's published ports.
func listContainers(out io.Writer, all, quiet bool) error {
	list, err := container.List(storeRoot)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	if !quiet {
		fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tPID\tNAMES")
	}
	now := time.Now()
	for _, s := range list {
		if !s.Running && !all {
			continue
		}
		if quiet {
			fmt.Fprintln(w, s.ID)
			continue
		}
		status, pid, ports := s.Status(now), "-", ""
		if s.Running {
			pid = fmt.Sprint(s.Pid)
			ports = strings.Join(s.Ports, ", ")
		}
		image := s.Image
		if image == "" {
			image = "(host files)"
		}
		fmt.Fprintf(w, "%s\t%s\t\"%s\"\t%s\t%s\t%s\t%s\t%s\n", s.ID, image, strings.Join(s.Args, " "),
			container.Ago(now, s.Created), status, ports, pid, s.Name)
	}
	return w.Flush()
}
