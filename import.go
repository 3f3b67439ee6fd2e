package main

import (
	"fmt"
	"os"

	"github.com/mydocker/mydocker/image"
)

// importImage is `mydocker import [--change ...] TARBALL NAME`.
func importImage(tarball, name string, changes []string) error {
	var cfg image.Config
	for _, c := range changes {
		if err := cfg.ApplyChange(c); err != nil {
			return usageErrorf("%v", err)
		}
	}
	if os.Geteuid() != 0 && storeRoot == image.DefaultRoot {
		return usageErrorf("import into %s needs root privileges (try sudo, or --root DIR)", storeRoot)
	}
	if err := image.NewStore(storeRoot).Import(tarball, name, cfg); err != nil {
		return err
	}
	fmt.Println(name)
	return nil
}
