package main

import (
	"fmt"
	"os"

	"github.com/mydocker/mydocker/image"
	"github.com/mydocker/mydocker/terminal"
	"github.com/urfave/cli"
)

var loadCommand = cli.Command{
	Name:         "load",
	Usage:        "load images from an archive docker save, podman save or an OCI layout wrote (standard input without -i)",
	OnUsageError: usageError,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "input, i", Usage: "read from `FILE` instead of standard input"},
		cli.BoolFlag{Name: "quiet, q", Usage: "print nothing but errors"},
	},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 0 {
			return usageErrorf("load takes no arguments: mydocker load [-i FILE] (or the archive on standard input)")
		}
		return loadImages(ctx.String("input"), ctx.Bool("quiet"))
	},
}

// loadImages is `mydocker load`: an archive's images into the store.
func loadImages(file string, quiet bool) error {
	in, label := os.Stdin, "standard input"
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return usageErrorf("load: %v", err)
		}
		defer f.Close()
		in, label = f, file
	} else if terminal.IsTerminal(os.Stdin) {
		return usageErrorf("load: standard input is a terminal: give the archive with -i FILE, or redirect it (mydocker load < FILE)")
	}
	store := image.NewStore(storeRoot)
	if !quiet {
		store.Progress = progressOutput()
	}
	interrupted, stop := cancelOnSignal(store)
	defer stop()
	lines, err := store.Load(in, label)
	if !quiet {
		for _, line := range lines {
			fmt.Println(line)
		}
	}
	if err != nil {
		if err == image.ErrInterrupted {
			return interruptedError(err, interrupted)
		}
		return usageErrorf("load %s: %v", label, err)
	}
	return nil
}
