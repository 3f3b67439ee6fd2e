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
func listContainers(out io.Writer, all, quiet bool) error {
	list, err := container.List(storeRoot)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	if !quiet {
		fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPID\tNAMES")
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
		status, pid := "Created", "-"
		if s.Running {
			status, pid = "Up "+humanDuration(now.Sub(s.Created)), fmt.Sprint(s.Pid)
		}
		image := s.Image
		if image == "" {
			image = "(host files)"
		}
		fmt.Fprintf(w, "%s\t%s\t\"%s\"\t%s ago\t%s\t%s\t%s\n", s.ID, image, strings.Join(s.Args, " "),
			humanDuration(now.Sub(s.Created)), status, pid, s.Name)
	}
	return w.Flush()
}

// humanDuration is docker's way of saying how long ago: "Less than a
// second", "3 seconds", "About a minute", "5 minutes", "About an hour"...
func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case d.Minutes() < 2:
		return "About a minute"
	case d.Minutes() < 60:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d.Hours() < 2:
		return "About an hour"
	case d.Hours() < 48:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d.Hours() < 24*7*2:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d.Hours() < 24*30*2:
		return fmt.Sprintf("%d weeks", int(d.Hours()/24/7))
	case d.Hours() < 24*365*2:
		return fmt.Sprintf("%d months", int(d.Hours()/24/30))
	}
	return fmt.Sprintf("%d years", int(d.Hours()/24/365))
}
