package main

import (
	"fmt"
	"os"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/image"
)

// removeImages is `mydocker rmi NAME...`. An image a container uses,
// running or kept exited until rm, is refused: its files are that
// container's lower layer.
func removeImages(names []string) error {
	store := image.NewStore(storeRoot)
	// As docker: every name is tried; each failure is said on its own
	// line, and the status is non-zero if any failed.
	failed := 0
	err := container.WithImageUsers(storeRoot, func(users map[string]string) error {
		for _, name := range names {
			var err error
			key, _ := image.StoreName(name) // busybox:latest is busybox
			if user, used := users[key]; used {
				err = fmt.Errorf("image %q is in use by container %s (rm it first)", name, user)
			} else {
				err = store.Remove(name)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "mydocker: %v\n", err)
				failed++
				continue
			}
			fmt.Println(name)
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
