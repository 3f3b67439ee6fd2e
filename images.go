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
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", img.Name, image.HumanSize(img.Size), img.Created.Format(time.DateTime), img.Config)
	}
	return w.Flush()
}
