package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mydocker/mydocker/image"
	"github.com/urfave/cli"
)

var imagesCommand = cli.Command{
	Name:         "images",
	Usage:        "list the images in the store, a line per name, as docker images",
	ArgsUsage:    "[REPOSITORY[:TAG]]",
	OnUsageError: usageError,
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "quiet, q", Usage: "print image IDs only"},
		cli.BoolFlag{Name: "digests", Usage: "show the digest of the manifest each image was pulled by"},
		cli.BoolFlag{Name: "no-trunc", Usage: "print whole image IDs"},
	},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) > 1 {
			return usageErrorf("images takes at most one argument: mydocker images [REPOSITORY[:TAG]]")
		}
		return listImages(os.Stdout, ctx.Args().First(), ctx.Bool("quiet"), ctx.Bool("digests"), ctx.Bool("no-trunc"))
	},
}

// listImages is `mydocker images`: docker's columns, newest first, a line
// per name (an image without one as <none> <none>).
func listImages(out io.Writer, filter string, quiet, digests, noTrunc bool) error {
	images, err := image.NewStore(storeRoot).List()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	if !quiet {
		header := "REPOSITORY\tTAG\t"
		if digests {
			header += "DIGEST\t"
		}
		fmt.Fprintln(w, header+"IMAGE ID\tCREATED\tSIZE")
	}
	seen := map[string]bool{}
	for _, img := range images {
		id := img.ShortID()
		if noTrunc {
			id = img.ID
		}
		rows := [][2]string{}
		for _, name := range img.Names {
			r, err := image.ParseReference(name)
			if err != nil {
				continue
			}
			rows = append(rows, [2]string{r.FamiliarName(), r.Tag})
		}
		if len(rows) == 0 {
			// Pulled by digest: the repository, no tag.
			for _, d := range img.Digests {
				if r, err := image.ParseReference(d); err == nil {
					rows = append(rows, [2]string{r.FamiliarName(), "<none>"})
				}
			}
		}
		if len(rows) == 0 {
			rows = append(rows, [2]string{"<none>", "<none>"})
		}
		for _, row := range rows {
			if !matches(filter, row[0], row[1]) {
				continue
			}
			if quiet {
				if !seen[id] {
					fmt.Fprintln(w, id)
				}
				seen[id] = true
				continue
			}
			line := row[0] + "\t" + row[1] + "\t"
			if digests {
				line += digestOf(img, row[0]) + "\t"
			}
			fmt.Fprintf(w, "%s%s\t%s\t%s\n", line, id, humanDuration(img.Created), image.HumanSize(img.Size))
		}
	}
	return w.Flush()
}

// digestOf is the digest of the manifest img was pulled by from the
// repository repo (familiar), or <none>.
func digestOf(img *image.Image, repo string) string {
	for _, d := range img.Digests {
		if r, err := image.ParseReference(d); err == nil && r.FamiliarName() == repo {
			return r.Digest
		}
	}
	return "<none>"
}

// matches is docker images' REPOSITORY[:TAG] argument.
func matches(filter, repo, tag string) bool {
	if filter == "" {
		return true
	}
	if r, err := image.ParseReference(filter); err == nil && r.FamiliarName() == repo {
		tagged := strings.LastIndexByte(filter, ':') > strings.LastIndexByte(filter, '/')
		return !tagged || r.Tag == tag
	}
	return false
}

// humanDuration is docker's CREATED column: "3 hours ago".
func humanDuration(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	d := time.Since(t)
	plural := func(n int, unit string) string {
		if n == 1 {
			if unit == "hour" {
				return "About an hour ago"
			}
			return "1 " + unit + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, unit)
	}
	switch {
	case d < time.Second:
		return "Less than a second ago"
	case d < time.Minute:
		return plural(int(d.Seconds()), "second")
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute")
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour")
	case d < 14*24*time.Hour:
		return plural(int(d.Hours()/24), "day")
	case d < 60*24*time.Hour:
		return plural(int(d.Hours()/24/7), "week")
	case d < 2*365*24*time.Hour:
		return plural(int(d.Hours()/24/30), "month")
	}
	return plural(int(d.Hours()/24/365), "year")
}
