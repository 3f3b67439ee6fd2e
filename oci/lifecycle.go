package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The life of an OCI container, between runc's commands:
//
//	create (this process)                        init
//	------                                       ----
//	ROOT/ID made (EEXIST: the ID is taken)
//	config.json read, checked, planned
//	cgroup v2: state.json (the cgroup's
//	  directories named), the cgroup made
//	exec.fifo made (not by run)
//	clone(config.json's namespaces) ──────────▶ (starts; waits on fd 3)
//	state.json: init's PID and start time
//	cgroup v1: the cgroup made (named first)
//	createRuntime and prestart hooks
//	fd 3 ─ Config (with the Bundle) ──────────▶ exec.fifo's descriptor,
//	                                            cgroup (v1: moves itself in),
//	                                            mounts, createContainer
//	                                            hooks, pivot_root, hostname,
//	                                            sysctls, rlimits...
//	                                            no death signal from here on:
//	                                            create is about to go
//	fd 4 ◀─ end of file: ready ──────────────── confine; close fd 4;
//	     ◀─ or a StartError ─────────────────── block reading exec.fifo
//	state.json: ready; --pid-file
//	exit 0: init's parent is now the caller's
//	subreaper (containerd's shim, conmon)
//
//	start: write a byte into exec.fifo ───────▶ read it; startContainer
//	       remove exec.fifo                     hooks; exec the command
//	       (once init has exec'd) poststart hooks
//	delete: SIGKILL if --force; the cgroup, ROOT/ID; poststop hooks
//
// run is create without exec.fifo: init goes from confine straight to
// the startContainer hooks and the exec, which closes fd 4 (as `mydocker
// run`'s); run then runs the poststart hooks and waits.
//
// With --preserve-fds N, the caller's descriptors 3 to 3+N-1 come first
// and init's "fd 3" and "fd 4" are 3+N and 4+N.
//
// Whatever kills create midway leaves ROOT/ID, which state, list and
// delete --force recognise: until init's PID is saved, the container is
// creating with no process; after, its status comes from that process.
// init has its death signal until it is ready: killed before, create
// takes init with it.

// CreateOptions are create's flags.
type CreateOptions struct {
	Root, ID, Bundle string
	PidFile          string
	ConsoleSocket    string
	NoPivot          bool
	NoNewKeyring     bool
	// StartNow: run's create, whose command starts as soon as init is
	// set up, without waiting for a start.
	StartNow bool
	// PreserveFds: the caller's descriptors 3 to 3+N-1 are the command's.
	PreserveFds int
	// InitArgs are the global flags init runs with.
	InitArgs []string
}

// Made is a container create made, with init waiting for start. run
// keeps it to wait for its end; create lets it go.
type Made struct {
	*Container
	Process *container.ParentProcess
}

// Create makes the container, up to init waiting before the command.
func Create(o CreateOptions) (cr *Made, err error) {
	if !validID(o.ID) {
		return nil, fmt.Errorf("invalid container ID %q", o.ID)
	}
	// Before this process opens anything that could take the place of
	// a descriptor the caller did not pass.
	stdio, err := callerStdio(o.PreserveFds)
	if err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(o.Bundle)
	if err != nil {
		return nil, err
	}
	spec, written, err := LoadSpec(bundle)
	if err != nil {
		return nil, err
	}
	plan, err := MakePlan(spec, bundle, o.ID, o.ConsoleSocket != "")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Root, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", o.Root, err)
	}
	if err := os.Mkdir(Dir(o.Root, o.ID), 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container with id %s already exists", o.ID)
		}
		return nil, fmt.Errorf("state directory: %w", err)
	}
	c := &Container{
		ID: o.ID, Bundle: bundle, Rootfs: plan.Config.Rootfs, Created: time.Now().UTC(),
		Annotations: spec.Annotations, Hooks: written.Hooks, NewPID: plan.Config.Bundle.NewPID, root: o.Root,
		Process: written.Process, Seccomp: plan.Config.Seccomp,
	}
	defer func() {
		if err != nil {
			c.destroy()
		}
	}()
	m, err := cgroups.NewPath(plan.CgroupPath, plan.Resources)
	if err != nil {
		return nil, err
	}
	if plan.DefaultCgroup {
		// Whoever's it is (a container of another --root with this ID),
		// it is not this container's: delete would kill what runs there.
		for _, d := range m.Targets() {
			if _, err := os.Stat(d); err == nil {
				return nil, fmt.Errorf("cgroup %s exists already: another container's", d)
			}
		}
	}
	// The directories are named in state.json before they are made: a
	// create killed while making them leaves them there for delete, and
	// the parents it makes listed for the last container below them to
	// remove. On cgroup v2 init is born in its cgroup, which is made
	// before the clone; on v1 init moves itself in, and the cgroup is
	// made after the clone, while init's Go runtime starts (OnCreated).
	c.Cgroup = m.Targets()
	makeCgroup := func() error {
		if err := c.save(); err != nil {
			return err
		}
		list := lockParents(o.Root)
		list.add(m.MissingParents())
		err := m.Create()
		list.unlock()
		return err
	}
	cgroupFirst := cgroups.Unified()
	if cgroupFirst {
		if err := makeCgroup(); err != nil {
			return nil, err
		}
	}
	plan.Config.Bundle.NoPivot = o.NoPivot
	if !o.NoNewKeyring {
		plan.Config.Bundle.SessionKeyring = "_ses." + o.ID
	}

	p, err := container.NewParentProcess(plan.Config, o.InitArgs, stdio)
	if err != nil {
		return nil, err
	}
	if o.StartNow {
		// run: nothing waits between create and start, so init has no
		// FIFO to wait on; it outlives run as it outlives create.
		plan.Config.Bundle.Detach = true
	} else {
		fifo, err := makeStartFifo(c.fifo())
		if err != nil {
			return nil, err
		}
		defer fifo.Close()
		plan.Config.Bundle.StartFifo = p.PassFile(fifo)
	}
	attr := p.Cmd.SysProcAttr
	attr.Cloneflags = plan.CloneFlags
	for _, j := range plan.Join {
		if j.Flag == unix.CLONE_NEWPID {
			// Go's death signal checks getppid(), 0 for a parent outside
			// the PID namespace joined: the child would kill itself. init
			// checks that create is alive from the config pipe instead.
			attr.Pdeathsig = 0
		}
	}
	if plan.Config.Bundle.NewUser {
		for _, m := range plan.UIDMaps {
			attr.UidMappings = append(attr.UidMappings, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
		}
		for _, m := range plan.GIDMaps {
			attr.GidMappings = append(attr.GidMappings, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
		}
		attr.GidMappingsEnableSetgroups = true
		// init starts as the namespace's root, not as the host's (which
		// has no mapping there).
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	} else {
		p.Cgroup = m
	}
	if o.ConsoleSocket != "" {
		f, err := dialConsole(o.ConsoleSocket)
		if err != nil {
			return nil, err
		}
		p.ConsoleTo(f)
	}
	p.OnCreated = func(pid int) error {
		c.Pid = pid
		if start, _, err := container.ProcessStat(pid); err == nil {
			c.StartTime = start
		}
		if cgroupFirst {
			if err := c.save(); err != nil {
				return err
			}
		} else if err := makeCgroup(); err != nil {
			return err
		}
		if plan.Config.Bundle.NewUser {
			// init is root only in its user namespace: the host's root
			// moves it into its cgroup, the book's way.
			for _, d := range c.Cgroup {
				if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
					return fmt.Errorf("join the container's cgroup: %w", err)
				}
			}
		}
		if spec.Hooks != nil {
			// init runs these two itself; they read the state as
			// runc's show it: creating before pivot_root, created
			// before the command.
			st := c.State()
			st.Pid, st.Status = pid, Creating
			b := plan.Config.Bundle
			var herr error
			if b.CreateContainer, herr = containerHooks(spec.Hooks.CreateContainer, st); herr != nil {
				return herr
			}
			st.Status = Created
			if b.StartContainer, herr = containerHooks(spec.Hooks.StartContainer, st); herr != nil {
				return herr
			}
			if err := runHooks(c, "createRuntime", spec.Hooks.CreateRuntime); err != nil {
				return err
			}
			return runHooks(c, "prestart", spec.Hooks.Prestart) //nolint:staticcheck // prestart is deprecated, not gone
		}
		return nil
	}
	err = startIn(p, plan.Join)
	if err == nil && !p.Ready && !o.StartNow {
		err = fmt.Errorf("container init ended before it was ready")
		if p.Cmd.Process != nil {
			if ws, werr := p.Wait(); werr == nil {
				err = fmt.Errorf("container init ended before it was ready (exit status %d)", ws.ExitStatus())
			}
		}
	}
	if err != nil {
		if p.Cmd.Process != nil {
			p.Cmd.Process.Kill()
			p.Wait()
		}
		return nil, err
	}
	if !o.StartNow {
		// Ready, waiting for start: created, not creating. (run's
		// command has exec'd by now: its status is running, from the
		// process.)
		c.Ready = true
		if err := c.save(); err != nil {
			return nil, err
		}
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, c.Pid); err != nil {
			return nil, err
		}
	}
	if o.StartNow && spec.Hooks != nil {
		// The command has exec'd (init's status pipe closed with it).
		if err := runHooks(c, "poststart", spec.Hooks.Poststart); err != nil {
			return nil, err
		}
	}
	return &Made{Container: c, Process: p}, nil
}

// makeStartFifo makes exec.fifo, on which init waits for start, and opens
// it read-write, which never blocks, for init to inherit.
func makeStartFifo(path string) (*os.File, error) {
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("create exec.fifo: %w", err)
	}
	fifo, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec.fifo: %w", err)
	}
	return fifo, nil
}

// startIn starts init from a thread that has joined the namespaces named
// by path first (what it forks starts in them). Without any, from this
// one: the main thread, which outlives create (the death signal init
// keeps until it is ready belongs to the thread that cloned it).
func startIn(p *container.ParentProcess, joins []Join) error {
	if len(joins) == 0 {
		return p.Start(nil)
	}
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, changed for good, ends with this
		// goroutine; init no longer has a death signal by then.
		runtime.LockOSThread()
		for _, j := range joins {
			if j.Flag == unix.CLONE_NEWNS {
				// setns into a mount namespace needs a filesystem
				// context of the thread's own.
				if err := unix.Unshare(unix.CLONE_FS); err != nil {
					done <- fmt.Errorf("unshare the filesystem context: %w", err)
					return
				}
			}
			fd, err := unix.Open(j.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				err = unix.Setns(fd, int(j.Flag))
				unix.Close(fd)
			}
			if err != nil {
				done <- fmt.Errorf("join %s namespace %s: %w", j.Type, j.Path, err)
				return
			}
		}
		done <- p.Start(nil)
	}()
	return <-done
}

// writePidFile writes pid, digits only, by rename: a reader (containerd's
// shim) never sees it half written.
func writePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

// Start lets a created container's command run.
func Start(root, id string) error {
	c, err := Load(root, id)
	if err != nil {
		return err
	}
	switch st := c.Status(); st {
	case Created:
	case Stopped:
		return fmt.Errorf("cannot start a container that has stopped")
	case Running:
		return fmt.Errorf("cannot start an already running container")
	default:
		return fmt.Errorf("cannot start a container in the %s state", st)
	}
	// Non-blocking: only a waiting init holds the other end open.
	fd, err := unix.Open(c.fifo(), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot start container %s: %w", id, err)
	}
	_, err = unix.Write(fd, []byte{0})
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("cannot start container %s: %w", id, err)
	}
	os.Remove(c.fifo())
	// start returns once the command runs: init has exec'd it (or it has
	// ended already), so that state says running and poststart hooks
	// come after it, as the spec orders them.
	for i := 0; i < 5000 && c.Alive() && c.stillInit(); i++ {
		time.Sleep(200 * time.Microsecond)
	}
	h, err := c.hooks()
	if err != nil || h == nil {
		return err
	}
	return runHooks(c, "poststart", h.Poststart)
}

// Kill sends sig to the container's init, or with all to every process in
// its cgroup.
func Kill(root, id string, sig unix.Signal, all bool) error {
	c, err := Load(root, id)
	if err != nil {
		return err
	}
	if !c.Alive() {
		return fmt.Errorf("container not running")
	}
	if all {
		pids, err := c.Cgroup.Procs()
		if err != nil {
			return err
		}
		for _, pid := range pids {
			unix.Kill(pid, sig)
		}
		return nil
	}
	if err := unix.Kill(c.Pid, sig); err != nil {
		return fmt.Errorf("kill container %s: %w", id, err)
	}
	return nil
}

// Delete removes a stopped container, or with force any, killing it.
func Delete(root, id string, force bool) error {
	c, err := Load(root, id)
	if err != nil {
		if force && os.IsNotExist(errors.Unwrap(err)) || force && !dirExists(Dir(root, id)) {
			return nil
		}
		return err
	}
	if st := c.Status(); st != Stopped && c.Pid > 0 {
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, st)
		}
	}
	c.destroy()
	h, err := c.hooks()
	if err != nil || h == nil {
		return err
	}
	return runHooks(c, "poststop", h.Poststop)
}

func dirExists(dir string) bool {
	_, err := os.Stat(dir)
	return err == nil
}

// destroy is the one teardown of an OCI container, whoever calls it (a
// failed create, delete): its processes killed, its cgroup and its state
// directory removed.
func (c *Container) destroy() {
	if c.Cgroup.Frozen() {
		c.Cgroup.Freeze(false)
	}
	if c.Alive() {
		unix.Kill(c.Pid, unix.SIGKILL)
	}
	// Without a PID namespace of its own, init's death leaves the rest.
	if pids, err := c.Cgroup.Procs(); err == nil {
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	// Its parent is the caller's (a subreaper): wait for it to be gone
	// from the cgroup, not for a status that is not ours to reap.
	for i := 0; i < 2000; i++ {
		pids, err := c.Cgroup.Procs()
		if (err != nil || len(pids) == 0) && !c.Alive() {
			break
		}
		time.Sleep(time.Millisecond)
	}
	list := lockParents(c.root)
	c.Cgroup.Remove()
	list.removeAbove(c.Cgroup)
	list.unlock()
	os.RemoveAll(Dir(c.root, c.ID))
}

// Pause freezes every process of the container; Resume thaws them.
func Pause(root, id string, frozen bool) error {
	c, err := Load(root, id)
	if err != nil {
		return err
	}
	st := c.Status()
	if frozen && st != Running && st != Created {
		return fmt.Errorf("container not running")
	}
	if !frozen && st != Paused {
		return fmt.Errorf("container not paused")
	}
	return c.Cgroup.Freeze(frozen)
}

// Procs lists the container's processes.
func Procs(root, id string) ([]int, error) {
	c, err := Load(root, id)
	if err != nil {
		return nil, err
	}
	if !c.Alive() {
		return []int{}, nil
	}
	pids, err := c.Cgroup.Procs()
	if pids == nil {
		pids = []int{}
	}
	return pids, err
}

// Update sets new limits on a container's cgroup: linux.resources JSON.
func Update(root, id string, resources []byte) error {
	c, err := Load(root, id)
	if err != nil {
		return err
	}
	if !c.Alive() {
		return fmt.Errorf("container not running")
	}
	var r specs.LinuxResources
	if err := json.Unmarshal(resources, &r); err != nil {
		return fmt.Errorf("update: resources: %w", err)
	}
	res, err := planResources(&r)
	if err != nil {
		return err
	}
	return c.Cgroup.Update(res)
}

// dialConsole connects to the caller's console socket: init sends the
// pty's master over it (the descriptor passes to init as it is).
func dialConsole(path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("console socket %s: %w", path, err)
	}
	defer conn.Close()
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		return nil, fmt.Errorf("console socket %s: %w", path, err)
	}
	return f, nil
}
