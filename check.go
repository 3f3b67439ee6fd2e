package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mydocker/mydocker/check"
	"github.com/urfave/cli"
)

// checkCommand says, chapter by chapter, whether this host can do what
// mydocker does (check/).
var checkCommand = cli.Command{
	Name:         "check",
	Usage:        "say what this host supports, chapter by chapter (status 1 when something a chapter needs is missing)",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 0 {
			return usageErrorf("check takes no arguments")
		}
		if !printCheck(ctx.App.Writer, check.Run(os.Geteuid() == 0)) {
			return exitWith(1)
		}
		return nil
	},
}

// printCheck prints one line per probe under its chapter, then a summary
// per chapter, and reports whether nothing needed is missing.
func printCheck(w io.Writer, results []check.Result) bool {
	allOK, skipped := true, 0
	var summary []string
	for _, ch := range check.Chapters {
		fmt.Fprintf(w, "Chapter %s: %s\n", ch.Number, ch.Title)
		chapterOK, chapterSkipped := true, false
		for _, r := range results {
			if r.Chapter != ch.Number {
				continue
			}
			mark := "✓"
			switch {
			case r.Skipped:
				mark, chapterSkipped = "-", true
				skipped++
			case !r.OK && check.Needed(r):
				mark, chapterOK = "✗", false
			case !r.OK:
				mark = "!"
			}
			line := fmt.Sprintf("  %s %s", mark, r.What)
			if r.Detail != "" {
				line += ": " + r.Detail
			}
			fmt.Fprintln(w, line)
		}
		verdict := "ready"
		switch {
		case !chapterOK:
			verdict, allOK = "missing something (✗ above)", false
		case chapterSkipped:
			verdict = "ready as far as checked without root"
		}
		summary = append(summary, fmt.Sprintf("  chapter %s: %s", ch.Number, verdict))
	}
	fmt.Fprintln(w, "Summary:")
	for _, s := range summary {
		fmt.Fprintln(w, s)
	}
	if skipped > 0 {
		fmt.Fprintf(w, "%d probes need root (-): sudo mydocker check\n", skipped)
	}
	return allOK
}
