package main

import (
	"fmt"

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
	for _, name := range names {
		if inUse[name] {
			return usageErrorf("image %q is in use by a running container", name)
		}
		if err := store.Remove(name); err != nil {
			return usageErrorf("%v", err)
		}
		fmt.Println(name)
	}
	return nil
}
