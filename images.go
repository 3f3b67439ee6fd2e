package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/mydocker/mydocker/image"
)

// listImages is `mydocker images`: name, size and creation time.
func listImages(out io.Writer) error {
	images, err := image.NewStore(storeRoot).List()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tSIZE\tCREATED\tCMD")
	for _, img := range images {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", img.Name, humanSize(img.Size), img.Created.Format(time.DateTime), img.Config)
	}
	return w.Flush()
}

// humanSize prints bytes as docker does: 2.1MB (powers of 1000).
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}
