package container

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/mydocker/mydocker/trace"
	"golang.org/x/sys/unix"
)

// Signal sends sig to the container's PID 1, after making sure that PID
// still is the container's (its start time): never to a process that
// merely inherited the number.
func Signal(s *State, sig unix.Signal) error {
	if !s.Running || !s.Alive() {
		return fmt.Errorf("container %s is not running", s.Name)
	}
	err := unix.Kill(s.Pid, sig)
	trace.Step("5.5", "only after checking that the PID still is the container's (its start time)", err, "kill(%d, %s)", s.Pid, unix.SignalName(sig))
	if err != nil {
		return fmt.Errorf("signal container %s: %w", s.Name, err)
	}
	return nil
}

// WaitGone waits until the container's PID 1 is gone and its owner has let
// go of it (a detached container's monitor has recorded how it ended), at
// most timeout. It reports whether that happened.
func WaitGone(s *State, timeout time.Duration) bool {
	path := filepath.Join(RuntimeDir, s.ID)
	// The wait doubles from half a millisecond up to 10 ms: an owner that
	// is recording the end is done within a few milliseconds.
	wait := 500 * time.Microsecond
	for deadline := time.Now().Add(timeout); ; time.Sleep(wait) {
		wait = min(2*wait, 10*time.Millisecond)
		if _, held := readState(path); !held && !s.Alive() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// WaitStopped waits until the container's PID 1 is gone, at most timeout.
func WaitStopped(s *State, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		if !s.Alive() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
