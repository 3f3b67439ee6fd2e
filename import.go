package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mydocker/mydocker/image"
	"github.com/mydocker/mydocker/terminal"
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
	store := image.NewStore(storeRoot)
	store.Progress = progressOutput()
	if err := store.Import(tarball, name, cfg); err != nil {
		return err
	}
	fmt.Println(name)
	return nil
}

// progressOutput is where import and commit say how far they are: stderr
// when it is a terminal; nothing in scripts and pipes.
func progressOutput() io.Writer {
	if terminal.IsTerminal(os.Stderr) {
		return os.Stderr
	}
	return nil
}
