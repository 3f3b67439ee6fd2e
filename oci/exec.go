package oci

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mydocker/mydocker/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecOptions are exec's flags: a process.json (ProcessFile), or the
// container's own process with Args and the overrides.
type ExecOptions struct {
	Root, ID      string
	ProcessFile   string
	Args          []string
	Cwd           string
	Env           []string
	User          *specs.User
	TTY           bool
	ConsoleSocket string
	Detach        bool
	PidFile       string
	// PreserveFds: the caller's descriptors 3 to 3+N-1 are the process's.
	PreserveFds int
	InitArgs    []string
}

// Exec starts a process in a running container, through the same init
// as mydocker exec's (container.ExecProcess): born in the container's
// namespaces and cgroup, confined as the process asks.
func Exec(o ExecOptions) (*container.ExecProcess, error) {
	stdio, err := callerStdio(o.PreserveFds) // before anything is opened
	if err != nil {
		return nil, err
	}
	c, err := Load(o.Root, o.ID)
	if err != nil {
		return nil, err
	}
	if st := c.Status(); st != Running && st != Created {
		return nil, fmt.Errorf("cannot exec in a container that is not running (%s)", st)
	}
	proc := &specs.Process{}
	if o.ProcessFile != "" {
		data, err := os.ReadFile(o.ProcessFile)
		if err != nil {
			return nil, fmt.Errorf("process file: %w", err)
		}
		if err := json.Unmarshal(data, proc); err != nil {
			return nil, fmt.Errorf("process file %s: %w", o.ProcessFile, err)
		}
	} else {
		if len(c.Process) > 0 {
			if err := json.Unmarshal(c.Process, proc); err != nil {
				return nil, fmt.Errorf("container %s: state.json: process: %w", c.ID, err)
			}
		}
		proc.Args = o.Args
		proc.Terminal = o.TTY
		if o.Cwd != "" {
			proc.Cwd = o.Cwd
		}
		proc.Env = append(append([]string{}, proc.Env...), o.Env...)
		if o.User != nil {
			proc.User = *o.User
		}
	}
	if len(proc.Args) == 0 || proc.Args[0] == "" {
		return nil, fmt.Errorf("exec: no command")
	}
	if proc.Cwd == "" {
		proc.Cwd = "/"
	}
	if proc.Terminal && o.ConsoleSocket == "" {
		return nil, fmt.Errorf("exec: a terminal needs --console-socket")
	}
	b, err := processBundle(proc)
	if err != nil {
		return nil, err
	}
	b.Detach = o.Detach
	cfg := &container.Config{
		Args: proc.Args, Env: proc.Env, Workdir: proc.Cwd,
		TTY: proc.Terminal, ConsoleSocket: proc.Terminal,
		NoNewPrivileges: proc.NoNewPrivileges, Seccomp: c.Seccomp, Bundle: b,
	}
	st := &container.State{ID: c.ID, Name: c.ID, Pid: c.Pid, PidStart: c.StartTime}
	p, err := container.NewExecProcess(st, cfg, o.InitArgs, stdio)
	if err != nil {
		return nil, err
	}
	p.CgroupDirs = c.Cgroup
	if o.ConsoleSocket != "" && proc.Terminal {
		f, err := dialConsole(o.ConsoleSocket)
		if err != nil {
			return nil, err
		}
		p.ConsoleTo(f)
	}
	if err := p.Start(nil); err != nil {
		return nil, err
	}
	if o.PidFile != "" {
		if err := writePidFile(absFile(o.PidFile), p.Process().Pid); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func absFile(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// callerStdio is what the container's process gets of the caller's:
// stdin, stdout, stderr, and with --preserve-fds N its descriptors 3 to
// 3+N-1 (systemd's socket activation, podman's --preserve-fds).
func callerStdio(preserveFds int) (container.Stdio, error) {
	stdio := container.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
	if preserveFds < 0 {
		return stdio, fmt.Errorf("--preserve-fds %d: not a number of descriptors", preserveFds)
	}
	for fd := 3; fd < 3+preserveFds; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return stdio, fmt.Errorf("--preserve-fds %d: descriptor %d is not open", preserveFds, fd)
		}
		stdio.Preserved = append(stdio.Preserved, os.NewFile(uintptr(fd), fmt.Sprintf("preserved-%d", fd)))
	}
	return stdio, nil
}
