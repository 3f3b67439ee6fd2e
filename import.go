package main

import (
	"fmt"
	"os"

	"github.com/mydocker/mydocker/image"
)

// importImage is `mydocker import TARBALL NAME`.
func importImage(tarball, name string) error {
	if os.Geteuid() != 0 && storeRoot == image.DefaultRoot {
		return usageErrorf("import into %s needs root privileges (try sudo, or --root DIR)", storeRoot)
	}
	if err := image.NewStore(storeRoot).Import(tarball, name); err != nil {
		return err
	}
	fmt.Println(name)
	return nil
}
