package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/image"
	"github.com/urfave/cli"
)

var commitCommand = cli.Command{
	Name:         "commit",
	Usage:        "make an image of a container's files: its image plus what it changed (the book's 4.4)",
	ArgsUsage:    "CONTAINER IMAGE",
	OnUsageError: usageError,
	Flags:        []cli.Flag{cli.StringSliceFlag{Name: "change, c", Usage: changeUsage + ", over the container's image's"}},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 2 {
			return usageErrorf("commit needs a container and an image name: mydocker commit [--change INSTRUCTION] CONTAINER IMAGE")
		}
		name := ctx.Args()[1]
		// The image name and the changes are checked first, with import's
		// words and status.
		store := image.NewStore(storeRoot)
		if _, err := store.CheckNewName(name); err != nil {
			return usageErrorf("%v", err)
		}
		var changes image.Config
		for _, c := range ctx.StringSlice("change") {
			if err := changes.ApplyChange(c); err != nil {
				return usageErrorf("%v", err)
			}
		}
		s, err := container.Find(storeRoot, ctx.Args()[0])
		id := ""
		if err == nil {
			id, err = commitContainer(store, s, name, ctx.StringSlice("change"))
		}
		var interrupted *statusError
		if errors.As(err, &interrupted) {
			return err // stopped by a signal: its status, 128+N
		}
		if err != nil {
			return &statusError{status: 1, msg: err.Error()}
		}
		fmt.Println(id) // docker's answer: the new image's ID
		return nil
	},
}

// commitContainer is commit: the container's image plus its own layer, as
// a new image (whether it runs or has exited; a running one is not
// paused, so a file it writes meanwhile may or may not be in).
func commitContainer(store *image.Store, s *container.State, name string, changes []string) (string, error) {
	if s.ImageID == "" && (s.Image == "" || strings.Contains(s.Image, "/")) {
		return "", fmt.Errorf("container %s runs on the host's files or a --rootfs directory: it has no layer of its own to commit", s.Name)
	}
	store.Progress = progressOutput()
	ref := s.ImageID
	if ref == "" {
		ref = s.Image // a container made before layers
	}
	base, err := store.Resolve(ref)
	if err != nil {
		return "", err
	}
	// docker commit --change: over the image's own config, in order.
	cfg := base.Config
	for _, c := range changes {
		if err := cfg.ApplyChange(c); err != nil {
			return "", err
		}
	}
	interrupted, stop := cancelOnSignal(store)
	defer stop()
	// The /etc files are mydocker's, bind-mounted over the container's.
	etc := []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}
	upper := container.LayerPath(storeRoot, s.ID, "upper")
	if s.LayerDir != "" {
		// A foreground container's layer, in memory: read through its
		// owner's descriptor of it.
		upper = filepath.Join(s.LayerDir, "upper")
	}
	id, err := store.Commit(base, upper, name, cfg, etc)
	return id, interruptedError(err, interrupted)
}
