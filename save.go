package main

import (
	"os"
	"path/filepath"

	"github.com/mydocker/mydocker/image"
	"github.com/mydocker/mydocker/terminal"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var saveCommand = cli.Command{
	Name:         "save",
	Usage:        "write images to a tar archive that docker load and podman load take (standard output without -o)",
	ArgsUsage:    "IMAGE [IMAGE...]",
	OnUsageError: usageError,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "output, o", Usage: "write to `FILE` instead of standard output"},
	},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) == 0 {
			return usageErrorf("save needs an image: mydocker save [-o FILE] IMAGE [IMAGE...]")
		}
		return saveImages(ctx.Args(), ctx.String("output"))
	},
}

// saveImages is `mydocker save`. With -o the archive is written beside
// FILE under a temporary name (.FILE.saving-*) and renamed to it once
// whole: an interrupted save leaves no half archive that looks like one;
// a signal removes the temporary file, and after SIGKILL the next save to
// FILE does.
func saveImages(refs []string, file string) error {
	store := image.NewStore(storeRoot)
	if file == "" {
		if terminal.IsTerminal(os.Stdout) {
			return usageErrorf("save: cowardly refusing to write an archive to a terminal: use -o FILE or redirect standard output")
		}
		if err := store.Save(os.Stdout, refs); err != nil {
			return usageErrorf("save: %v", err)
		}
		return nil
	}
	for _, ref := range refs {
		if _, err := store.Resolve(ref); err != nil {
			return usageErrorf("save: %v", err)
		}
	}
	removeDeadSaves(file)
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".saving-")
	if err != nil {
		return usageErrorf("save: %v", err)
	}
	tmp := f.Name()
	// Held while this save lives: a save to the same FILE after a SIGKILL
	// removes the temporary file nobody holds (removeDeadSaves).
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		os.Remove(tmp)
		return usageErrorf("save: %v", err)
	}
	interrupted, stop := cancelOnSignal(store)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- store.Save(f, refs) }()
	select {
	case err = <-done:
	case <-store.Cancel:
		f.Close()
		os.Remove(tmp)
		return interruptedError(image.ErrInterrupted, interrupted)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		os.Remove(tmp)
		return usageErrorf("save: %v", err)
	}
	return nil
}

// removeDeadSaves removes the temporary files of saves to file that were
// killed (SIGKILL): those no live save holds.
func removeDeadSaves(file string) {
	found, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "."+filepath.Base(file)+".saving-*"))
	for _, path := range found {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			os.Remove(path)
		}
		f.Close()
	}
}
