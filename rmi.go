package main

import (
	"fmt"
	"os"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/image"
	"github.com/urfave/cli"
)

var rmiCommand = cli.Command{
	Name:         "rmi",
	Usage:        "remove images: a name, or an image by ID (and the layers no other image uses)",
	ArgsUsage:    "IMAGE [IMAGE...]",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) == 0 {
			return usageErrorf("rmi needs an image: mydocker rmi IMAGE [IMAGE...]")
		}
		return removeImages(ctx.Args())
	},
}

// removeImages is `mydocker rmi IMAGE...`. An image a container uses,
// running or kept exited until rm, is refused: its layers are that
// container's lower layers. A name of an image that has others goes alone.
func removeImages(refs []string) error {
	store := image.NewStore(storeRoot)
	// As docker: every image is tried; each failure is said on its own
	// line, and the status is non-zero if any failed.
	failed := 0
	err := container.WithImageUsers(storeRoot, func(users map[string]string) error {
		inUse := func(id string) string {
			if user, ok := users[id]; ok {
				return user
			}
			// Containers made before layers name their image.
			if img, err := store.Resolve(id); err == nil {
				for _, n := range img.Names {
					for key, user := range users {
						if r, err := image.ParseReference(key); err == nil && r.String() == n {
							return user
						}
					}
				}
			}
			return ""
		}
		for _, ref := range refs {
			removal, err := store.Remove(ref, inUse)
			if err != nil {
				fmt.Fprintf(os.Stderr, "mydocker: %v\n", err)
				failed++
				continue
			}
			for _, name := range removal.Untagged {
				fmt.Println("Untagged: " + name)
			}
			if removal.Deleted != "" {
				fmt.Println("Deleted: " + removal.Deleted)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		return exitWith(container.StatusRuntimeError)
	}
	return nil
}
