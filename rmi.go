package main

import (
	"fmt"
	"os"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/image"
)

// removeImages is `mydocker rmi NAME...`. An image a running container
// uses is refused: its files are that container's lower layer.
func removeImages(names []string) error {
	inUse, err := container.CleanStale(storeRoot)
	if err != nil {
		return err
	}
	store := image.NewStore(storeRoot)
	// As docker: every name is tried; each failure is said on its own
	// line, and the status is non-zero if any failed.
	failed := 0
	for _, name := range names {
		var err error
		if inUse[name] {
			err = fmt.Errorf("image %q is in use by a running container", name)
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
	if failed > 0 {
		return exitWith(container.StatusRuntimeError)
	}
	return nil
}
