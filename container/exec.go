package container

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/trace"
	"golang.org/x/sys/unix"
)

// ExecProcess is `mydocker exec`'s process in a running container: a
// mydocker init born in the container's namespaces and cgroup, which
// confines itself as the container's PID 1 was (startCommand) and execs
// the command.
//
// The kernel lets a process enter a mount namespace only if its
// filesystem context (root, working directory) is its alone, and every
// thread of a Go program shares one: the book does it in C before the Go
// runtime starts, runc in its nsexec. Here one thread is taken out of Go's
// hands (LockOSThread, never undone): it unshares its filesystem context
// (CLONE_FS), joins the container's cgroup, enters all its namespaces at
// once through a pidfd (setns, Linux 5.8), which also makes sure the PID
// still is the container's, and forks init from there. The thread waits
// for it, and dies with its goroutine.
type ExecProcess struct {
	*ParentProcess
	// CgroupDirs, when set, are the container's cgroup directories
	// (an OCI container's, named by its config); else they are found
	// from its PID 1 among mydocker's.
	CgroupDirs []string
	state      *State
	done       chan execResult
}

type execResult struct {
	status syscall.WaitStatus
	err    error
}

// NewExecProcess prepares (but does not start) cfg's command in s.
func NewExecProcess(s *State, cfg *Config, initArgs []string, stdio Stdio) (*ExecProcess, error) {
	cfg.Exec = true
	p, err := NewParentProcess(cfg, initArgs, stdio)
	if err != nil {
		return nil, err
	}
	p.Cmd.SysProcAttr.Cloneflags = 0 // the container's namespaces, not new ones
	// Go's own death signal would kill the child at once: it checks that
	// its parent is alive with getppid(), which is 0 for a parent outside
	// the child's PID namespace. init sets the signal itself, and checks
	// the config pipe instead (dieWithParent).
	p.Cmd.SysProcAttr.Pdeathsig = 0
	return &ExecProcess{ParentProcess: p, state: s, done: make(chan execResult, 1)}, nil
}

// Start enters the container and starts init there, as ParentProcess.Start.
func (e *ExecProcess) Start(ready <-chan struct{}) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see ExecProcess
		if err := e.enter(); err != nil {
			e.ParentProcess.closeParentEnds()
			for _, f := range e.childFs {
				f.Close()
			}
			started <- err
			return
		}
		started <- e.ParentProcess.Start(ready)
		if e.Cmd.Process == nil || e.detached() {
			return
		}
		status, err := e.ParentProcess.Wait()
		e.done <- execResult{status, err}
	}()
	return <-started
}

// detached: the process outlives this command (runc's exec --detach),
// and its exit belongs to whoever inherits it (containerd's shim or
// conmon, a subreaper). Reaping it here, when it ends before this command
// does, would steal that exit: the shim would wait for it for ever.
func (e *ExecProcess) detached() bool {
	return e.config.Bundle != nil && e.config.Bundle.Detach
}

// Wait reaps the process and returns how it ended (never for a detached
// one).
func (e *ExecProcess) Wait() (syscall.WaitStatus, error) {
	r := <-e.done
	return r.status, r.err
}

// enter puts the calling (locked) thread into the container's cgroup and
// namespaces, so that what it forks starts there.
func (e *ExecProcess) enter() error {
	s := e.state
	pidfd, err := unix.PidfdOpen(s.Pid, 0)
	if err == nil && !s.Alive() {
		// The PID was handed to another process after the container's
		// ended: the pidfd is that one's.
		unix.Close(pidfd)
		err = unix.ESRCH
	}
	if err != nil {
		return fmt.Errorf("container %s is not running", s.Name)
	}
	defer unix.Close(pidfd)

	tasks, unified, err := cgroups.Of(s.Pid)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if e.CgroupDirs != nil {
		tasks, unified = nil, ""
		for _, d := range e.CgroupDirs {
			if _, err := os.Stat(filepath.Join(d, "cgroup.controllers")); err == nil {
				unified = d
			} else {
				tasks = append(tasks, filepath.Join(d, "tasks"))
			}
		}
	}
	for _, t := range tasks {
		// cgroup v1: this thread moves itself; what it forks starts there.
		err := os.WriteFile(t, []byte("0"), 0o644)
		trace.Step("5.4", "not in the book: exec joins the container's cgroup too", err, "write %s %q", t, "0")
		if err != nil {
			return fmt.Errorf("exec: join the container's cgroup: %w", err)
		}
	}
	if unified != "" {
		// cgroup v2: born there (clone3 with CLONE_INTO_CGROUP). The
		// descriptor is the child's only for the clone; closed after.
		cg, err := os.Open(unified)
		if err != nil {
			return fmt.Errorf("exec: open the container's cgroup: %w", err)
		}
		e.Cmd.SysProcAttr.UseCgroupFD = true
		e.Cmd.SysProcAttr.CgroupFD = int(cg.Fd())
		e.childFs = append(e.childFs, cg)
	}
	err = unix.Unshare(unix.CLONE_FS)
	trace.Step("5.4", "setns into a mount namespace needs a filesystem context of one's own: the book does it in C before Go starts", err, "unshare(CLONE_FS)")
	if err != nil {
		return fmt.Errorf("exec: unshare the filesystem context: %w", err)
	}
	const all = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET |
		unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP
	err = unix.Setns(pidfd, all)
	trace.Step("5.4", "all at once through a pidfd, which also makes sure the PID still is the container's", err, "setns(pidfd %d of PID %d, %s)", pidfd, s.Pid, trace.CloneFlags(all))
	if err != nil {
		return fmt.Errorf("exec: enter the namespaces of container %s: %w", s.Name, err)
	}
	return nil
}
