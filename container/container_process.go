package container

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/mydocker/mydocker/trace"
	"golang.org/x/sys/unix"
)

// The handshake between `mydocker run` and `mydocker init` (the container's
// first process), in order:
//
//	run                                         init
//	---                                         ----
//	make the cgroup (cgroups.Manager.Create)
//	  if init is born in it (run: bornWith)
//	clone(NEWUTS|NEWPID|NEWNS|NEWNET|NEWIPC),
//	  on cgroup v2 into the cgroup,
//	  and exec /proc/self/exe init      ──────▶ (Go starts; waits on fd 3)
//	OnCreated: what init's config names, made
//	  while its Go runtime starts (run: the
//	  container's state, layer and cgroup v1);
//	  --net's veth pair, eth0 set up in init's
//	  network namespace
//	wait for ready (run: signals caught)
//	fd 3 ─ Config records, then "end" ────────▶ read up to "end"
//	  (fd 3 stays open: "run is alive")         mounts (the overlay, /proc, /dev...)
//	OnStarted: the PID into the state file
//	fd 5 ◀─ the tmpfs (a layer in memory) ───── its first mount: the layer, the
//	  held for commit (OnLayer)                   overlay's mount point, /etc files
//	                                            cgroup v1: move itself into the cgroup;
//	                                            cgroup namespace, /sys/fs/cgroup,
//	                                            pivot_root
//	fd 5 ◀─ the pty master (-t in an image) ─── make the pty in its own devpts
//	                                            re-arm the death signal, poll fd 3:
//	                                              hung up means run died: exit
//	                                            close-on-exec above 2; confine
//	fd 4 ◀─ nothing: closed by the exec ─────── exec COMMAND
//	     ◀─ or a StartError (125/126/127) ───── or report why not, and exit
//	     ◀─ or status 0, "ready" ────────────── or (mydocker-runc create) wait
//	                                              for start: oci/lifecycle.go
//	close fd 3 and 4; wait for PID 1
//
// The pipes init finds at these descriptors (exec.Cmd.ExtraFiles start at
// 3). Descriptors the caller passes to the command (mydocker-runc's
// --preserve-fds N) come first, at 3 to 3+N-1 where the command finds
// them, and push these up by N: init learns N from preservedEnv.
var (
	configFd  = 3 // parent -> init: the Config
	statusFd  = 4 // init -> parent: a StartError, or nothing if exec worked
	consoleFd = 5 // init -> parent: its layer in memory, then the pty master (cfg.LayerInMemory, cfg.ConsoleSocket)
	preserved = 0 // descriptors passed through to the command, from 3 on
)

// preservedEnv, in init's own environment, is how many descriptors
// precede init's pipes.
const preservedEnv = "MYDOCKER_PRESERVED_FDS"

// placeInitFds moves init's pipes past the n descriptors the command is
// passed.
func placeInitFds(n int) {
	preserved = n
	configFd, statusFd, consoleFd = 3+n, 4+n, 5+n
}

// Namespaces the container gets, as in the book: hostname, process IDs,
// mount table, network stack and System V IPC are all its own.
const cloneFlags = unix.CLONE_NEWUTS | unix.CLONE_NEWPID | unix.CLONE_NEWNS |
	unix.CLONE_NEWNET | unix.CLONE_NEWIPC

// ParentProcess is the run side of a container: the re-executed
// "mydocker init" process and the two pipes that talk to it.
type ParentProcess struct {
	Cmd *exec.Cmd
	// Cgroup, when set, is the container's cgroup, made with its limits:
	// init joins it before the command can run (see Start).
	Cgroup Cgroup
	// OnCreated, when set, is told init's PID as soon as its namespaces
	// exist, before init gets its config: what must be in place before
	// the container goes on (its network) is made there. An error stops
	// the start.
	OnCreated func(pid int) error
	// OnStarted, when set, is told init's PID once init has its config,
	// while init sets the container up.
	OnStarted func(pid int)
	// OnConsole receives the master side of the pseudo-terminal init made
	// (cfg.ConsoleSocket), before the user's command starts.
	OnConsole func(master *os.File) error
	// OnLayer receives init's descriptor of the tmpfs its layer is on
	// (cfg.LayerInMemory), as soon as it is mounted.
	OnLayer  func(layer *os.File)
	consoleR *os.File // our end of the console socket
	// Ready: init said it waits for start (Bundle.StartFifo), rather than
	// closing the status pipe by exec'ing.
	Ready bool

	config  *Config
	configW *os.File // write end of the config pipe
	statusR *os.File // read end of the status pipe
	childFs []*os.File
	// preserved: how many of childFs come before init's pipes.
	preserved int
}

// Cgroup is where a container runs (cgroups.Manager).
type Cgroup interface {
	UnifiedDir() string  // cgroup v2: clone straight into it
	TaskFiles() []string // cgroup v1: init writes "0" into each
}

// Stdio is what the container's standard descriptors are connected to. A
// nil In is /dev/null.
type Stdio struct {
	In, Out, Err *os.File
	// Preserved are passed to the command as they are, at descriptors 3
	// and up (mydocker-runc's --preserve-fds).
	Preserved []*os.File
}

// NewParentProcess prepares (but does not start) /proc/self/exe init in new
// namespaces. initArgs are the global flags init should run with (the log
// settings). With cfg.TTY, stdio must be a pseudo-terminal's slave side: it
// becomes the controlling terminal of the container's new session.
func NewParentProcess(cfg *Config, initArgs []string, stdio Stdio) (*ParentProcess, error) {
	// Descriptors mydocker inherited from its caller are not init's
	// business: only stdio and the pipes below cross the clone.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return nil, fmt.Errorf("close inherited descriptors: %w", err)
	}
	configR, configW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create config pipe: %w", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		configR.Close()
		configW.Close()
		return nil, fmt.Errorf("create status pipe: %w", err)
	}

	// /proc/self/exe is this very binary, wherever it was started from.
	cmd := exec.Command("/proc/self/exe", append(initArgs, "init")...)
	cmd.Args[0] = "mydocker"
	// init's own environment (the command gets cfg.Env, not this). One P
	// is all init needs: it runs for a millisecond, single-threaded, and
	// with the default of one P per CPU the Go scheduler spins idle
	// threads that compete for the CPU with every other container starting
	// at the same time (-20% wall time for 50 at once, measured).
	cmd.Env = []string{"GOMAXPROCS=1"}
	if trace.On {
		cmd.Env = append(cmd.Env, trace.Env+"=1")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: cloneFlags,
		// If mydocker dies without reaping the container (SIGKILL), the
		// container's PID 1 is killed too, and with it the whole PID
		// namespace: a one-off run never leaves an orphaned container.
		Pdeathsig: syscall.SIGKILL,
		// A session of its own, as docker's container has: the user's
		// terminal is not its controlling terminal, so what is typed
		// there (Ctrl-C, Ctrl-Z) signals mydocker, which forwards it
		// once, and not the container straight from the terminal too.
		Setsid: true,
	}
	if n := len(stdio.Preserved); n > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", preservedEnv, n))
	}
	files := append(append([]*os.File{}, stdio.Preserved...), configR, statusW)
	var consoleR *os.File
	if cfg.ConsoleSocket || cfg.LayerInMemory {
		// What init makes and sends back as descriptors: its layer in
		// memory, its terminal (which, its session's controlling
		// terminal, gives it stdin once the pty's slave side replaces
		// stdio).
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			for _, f := range []*os.File{configR, configW, statusR, statusW} {
				f.Close()
			}
			return nil, fmt.Errorf("create console socket: %w", err)
		}
		consoleR = os.NewFile(uintptr(fds[0]), "console-socket")
		files = append(files, os.NewFile(uintptr(fds[1]), "console-socket-child"))
	}
	if !cfg.ConsoleSocket && cfg.TTY {
		// The pseudo-terminal as the session's controlling terminal: job
		// control works, Ctrl-C signals the container's foreground
		// process, and the host's terminal is out of reach.
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0 // the child's stdin
	}
	// *os.File values are handed to the child as they are, with no copying
	// goroutine in between: `mydocker run echo hi | wc -c` sees exactly
	// what echo wrote. A nil interface (not a nil *os.File) means /dev/null.
	if stdio.In != nil {
		cmd.Stdin = stdio.In
	}
	cmd.Stdout = stdio.Out
	cmd.Stderr = stdio.Err
	cmd.ExtraFiles = files

	return &ParentProcess{
		Cmd:       cmd,
		preserved: len(stdio.Preserved),
		config:    cfg,
		configW:   configW,
		statusR:   statusR,
		consoleR:  consoleR,
		childFs:   files,
	}, nil
}

// Start clones the container, sends it its Config and waits until init has
// either exec'd the user's command or reported why it could not. A
// *StartError means init ran and refused; the caller must still Wait.
// ready, if not nil, is what the caller prepares while init starts up:
// init gets its Config, and with it the go-ahead, once ready is closed.
func (p *ParentProcess) Start(ready <-chan struct{}) error {
	defer p.closeParentEnds()
	if p.Cgroup != nil && p.Cgroup.UnifiedDir() != "" {
		// cgroup v2: init is born in its cgroup (clone3 with
		// CLONE_INTO_CGROUP), so it never runs outside.
		cg, err := os.Open(p.Cgroup.UnifiedDir())
		if err != nil {
			return fmt.Errorf("open the container's cgroup: %w", err)
		}
		defer cg.Close()
		p.Cmd.SysProcAttr.UseCgroupFD = true
		p.Cmd.SysProcAttr.CgroupFD = int(cg.Fd())
	}
	err := p.Cmd.Start()
	// The child has its own copies now; ours must go, or the status pipe
	// would never reach end-of-file.
	for _, f := range p.childFs {
		f.Close()
	}
	if err != nil {
		trace.Step("3.1", "", err, "clone(%s)", trace.CloneFlags(p.Cmd.SysProcAttr.Cloneflags))
		return fmt.Errorf("start container process: %w", err)
	}
	if p.Cmd.SysProcAttr.Cloneflags == 0 {
		trace.Result("5.4", "exec: the thread that forks is in the container's namespaces already", fmt.Sprint(p.Cmd.Process.Pid),
			"fork and execve(\"/proc/self/exe\", [\"mydocker\", \"init\"])")
	} else if p.Cmd.SysProcAttr.UseCgroupFD {
		trace.Result("3.1", "CLONE_INTO_CGROUP (not in the book): born in its cgroup, never outside", fmt.Sprint(p.Cmd.Process.Pid),
			"clone3(%s|CLONE_INTO_CGROUP) and execve(\"/proc/self/exe\", [\"mydocker\", \"init\"])", trace.CloneFlags(p.Cmd.SysProcAttr.Cloneflags))
	} else {
		trace.Result("3.1", "", fmt.Sprint(p.Cmd.Process.Pid),
			"clone(%s) and execve(\"/proc/self/exe\", [\"mydocker\", \"init\"])", trace.CloneFlags(p.Cmd.SysProcAttr.Cloneflags))
	}
	if p.OnCreated != nil {
		if err := p.OnCreated(p.Cmd.Process.Pid); err != nil {
			_ = p.Cmd.Process.Kill()
			return err
		}
	}
	if p.Cgroup != nil && !p.Cmd.SysProcAttr.UseCgroupFD {
		if p.Cgroup.UnifiedDir() != "" {
			// Made after the clone (OnCreated): too late for cgroup v2.
			_ = p.Cmd.Process.Kill()
			return fmt.Errorf("start container process: its cgroup v2 must exist before the clone")
		}
		// cgroup v1: init moves itself in (enterCgroup), which OnCreated
		// may have made after the clone.
		p.config.CgroupTasks = p.Cgroup.TaskFiles()
	}
	if ready != nil {
		<-ready
	}
	// A write error (init died early) is not the interesting one: the
	// start report or the exit status says what happened. The pipe stays
	// open until the command runs: it is how init knows that run is alive
	// (dieWithParent). init narrates the pipe (3.3) when it has read it:
	// a line printed here, after the write, could come after init's next
	// steps.
	sendErr := WriteConfig(p.configW, p.config)
	if p.OnStarted != nil {
		p.OnStarted(p.Cmd.Process.Pid)
	}
	if p.consoleR != nil && p.config.LayerInMemory {
		err := p.receive("layer", func(layer *os.File) error {
			if p.OnLayer == nil {
				return layer.Close()
			}
			p.OnLayer(layer)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if p.consoleR != nil && p.config.ConsoleSocket {
		err := p.receive("pty master", func(master *os.File) error {
			if p.OnConsole == nil {
				return nil
			}
			return p.OnConsole(master)
		})
		if err != nil {
			return err
		}
	}

	report, err := readStartReport(p.statusR)
	if err != nil {
		return err
	}
	if report != nil && report.Status == 0 {
		p.Ready = true // an OCI container's init, waiting for start
		report = nil
	}
	if report != nil {
		return report
	}
	if sendErr != nil && !errors.Is(sendErr, syscall.EPIPE) {
		return sendErr
	}
	return nil
}

// receive takes the next descriptor init sends over the console socket
// and hands it to use; an error of either kills init. None at all means
// init failed before sending it: its start report says why.
func (p *ParentProcess) receive(what string, use func(*os.File) error) error {
	f, err := receiveFd(p.consoleR, what)
	if err == nil && f != nil {
		err = use(f)
	}
	if err != nil {
		_ = p.Cmd.Process.Kill()
	}
	return err
}

// ConsoleTo makes init send the pty master it makes (cfg.ConsoleSocket)
// over conn, a connection to the caller's console socket (OCI's
// --console-socket), instead of back to this process.
func (p *ParentProcess) ConsoleTo(conn *os.File) {
	if p.consoleR == nil {
		return
	}
	p.consoleR.Close()
	p.consoleR = nil
	i := p.preserved + 2 // after the config and status pipes
	p.childFs[i].Close()
	p.childFs[i] = conn
	p.Cmd.ExtraFiles = p.childFs
}

// PassFile hands f to init, as the descriptor it returns.
func (p *ParentProcess) PassFile(f *os.File) int {
	p.childFs = append(p.childFs, f)
	p.Cmd.ExtraFiles = p.childFs
	return 3 + len(p.childFs) - 1
}

func (p *ParentProcess) closeParentEnds() {
	p.configW.Close()
	p.statusR.Close()
	if p.consoleR != nil {
		p.consoleR.Close()
	}
}

// Process is the container's init, once started.
func (p *ParentProcess) Process() *os.Process { return p.Cmd.Process }

// Wait reaps the container's PID 1 and returns how it ended.
func (p *ParentProcess) Wait() (syscall.WaitStatus, error) {
	err := p.Cmd.Wait()
	if p.Cmd.ProcessState == nil {
		return 0, fmt.Errorf("wait for container: %w", err)
	}
	return p.Cmd.ProcessState.Sys().(syscall.WaitStatus), nil
}
