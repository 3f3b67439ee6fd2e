package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

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
	interrupted, stop := cancelOnSignal(store)
	defer stop()
	id, err := store.Import(tarball, name, cfg)
	if err != nil {
		return interruptedError(err, interrupted)
	}
	fmt.Println(id) // docker's answer: the new image's ID
	return nil
}

// cancelOnSignal makes SIGINT, SIGTERM and SIGHUP stop the store's import
// or commit half-way, which then removes what it made (Store.Cancel)
// instead of dying with its staging directory on disk. The signal that
// came is sent on the returned channel.
func cancelOnSignal(store *image.Store) (<-chan os.Signal, func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	cancel := make(chan struct{})
	store.Cancel = cancel
	got := make(chan os.Signal, 1)
	go func() {
		sig := <-sigs
		got <- sig
		close(cancel)
	}()
	return got, func() { signal.Stop(sigs) }
}

// interruptedError is err, or if a signal stopped the work, a one-line
// message and the shell's status for that signal (130 for Ctrl-C).
func interruptedError(err error, interrupted <-chan os.Signal) error {
	if !errors.Is(err, image.ErrInterrupted) {
		return err
	}
	sig := syscall.SIGINT
	select {
	case s := <-interrupted:
		sig = s.(syscall.Signal)
	default:
	}
	return &statusError{status: 128 + int(sig), msg: err.Error()}
}

// progressOutput is where import and commit say how far they are: stderr
// when it is a terminal; nothing in scripts and pipes.
func progressOutput() io.Writer {
	if terminal.IsTerminal(os.Stderr) {
		return os.Stderr
	}
	return nil
}
