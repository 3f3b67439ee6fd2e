package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/image"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/terminal"
	"github.com/mydocker/mydocker/trace"
	log "github.com/sirupsen/logrus"
)

// runOptions are the run command's flags, validated.
type runOptions struct {
	interactive bool
	tty         bool
	name        string // the container's name (--name, or generated)
	detach      bool   // -d: a monitor runs the container (detach.go)
	again       bool   // start: the monitor runs an exited container again
	autoRemove  bool   // --rm: a detached container goes when it ends
	// monitorReport is set in the monitor of a detached container: where
	// it tells run -d that the container started, or why not.
	monitorReport *startReport
	log           *os.File     // the detached container's log
	logTTY        *logTerminal // run -d -t: the terminal the log is read from
	image         string       // run in this image (chapter 4)
	img           *image.Image
	layers        *container.ImageLayers // img's, for its overlay
	rootfs        string                 // or in this directory, as it is
	id            string                 // the container's ID, with an image, rootfs or limits
	resources     cgroups.Resources
	network       string         // --net: the bridge network
	ports         []network.Port // -p: published on it
	config        *container.Config
}

// forwardedSignals reach the container's PID 1 when mydocker receives them,
// so `kill` and Ctrl-C on a script that wraps mydocker act on the command.
var forwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP,
	syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// Run starts the container, relays its terminal and signals, waits for it
// and ends with its exit status.
func Run(opts runOptions) (err error) {
	if opts.monitorReport != nil {
		// Whatever ends the monitor before the command runs is run -d's
		// answer.
		defer func() { opts.monitorReport.send(err) }()
	}
	if os.Geteuid() != 0 {
		return usageErrorf("run needs root privileges (try sudo)")
	}
	if opts.detach && opts.monitorReport == nil {
		return runDetached(opts) // detach.go: a monitor runs it
	}
	if opts.detach {
		trace.Hold() // the monitor's steps go to the log, once it is open
	}

	// The container's pieces on the host: state, layer, volumes, cgroup
	// (container.Container). Its end, whatever it is, releases them. They
	// are made after the clone, while init's Go runtime starts (init
	// waits for the config that names them), unless init needs them as it
	// is born (bornWith).
	spec := container.Spec{Root: storeRoot, State: newState(opts), Config: opts.config,
		Rootfs: opts.rootfs, Resources: opts.resources, Ports: opts.ports,
		Keep: opts.detach && !opts.autoRemove, Again: opts.again}
	spec.Image = opts.layers
	// A foreground container's layer, thrown away at its end, is in
	// memory (init mounts a tmpfs for it); a detached one's, kept for
	// commit and start, on disk, and so is the layer of a container given
	// a memory limit: in memory its files would count against the limit,
	// which the page cache of docker's layer on disk does not.
	opts.config.LayerInMemory = opts.layers != nil && !opts.detach && opts.resources.MemoryBytes == 0
	var c *container.Container
	create := func() (err error) {
		c, err = container.Create(spec)
		return err
	}
	ran, ended := false, -1 // whether the command ran; its exit status
	defer func() {
		if c == nil {
			return // never made, or undone by Create itself
		}
		if ended < 0 {
			ended = statusOf(err)
		}
		c.Release(ended, ran)
	}()
	early := bornWith(opts)
	if early {
		if err := create(); err != nil {
			return err
		}
	}
	if opts.detach {
		if err := openLog(&opts, c.LogPath()); err != nil {
			return err
		}
		trace.Resume()
	}

	console, stdio, err := setUpStdio(&opts)
	if err != nil {
		return err
	}
	if console != nil {
		defer console.Close() // restores the user's terminal on every way out
	}
	parent, err := container.NewParentProcess(opts.config, logArgs, stdio)
	if err != nil {
		return err
	}
	if opts.config.ConsoleSocket && console != nil {
		parent.OnConsole = console.Attach
	}
	if opts.logTTY != nil {
		// run -d -t: the terminal's output goes to the log.
		parent.OnConsole = opts.logTTY.attach
		defer opts.logTTY.drain()
	}
	if early && c.Cgroup != nil {
		parent.Cgroup = c.Cgroup
	}
	parent.OnCreated = func(pid int) error {
		if !early {
			if err := create(); err != nil {
				return err
			}
			if c.Cgroup != nil {
				parent.Cgroup = c.Cgroup // cgroup v1: init moves itself in
			}
		}
		return c.Connect(pid)
	}
	parent.OnLayer = func(layer *os.File) { c.HoldLayer(layer) }
	parent.OnStarted = func(pid int) {
		c.Started(pid)
		if opts.logTTY != nil {
			opts.logTTY.started()
		}
	}

	waitStatus, hungUp, err := supervise(parent, console, func() {
		ran = true
		if opts.monitorReport != nil {
			opts.monitorReport.send(nil) // run -d may return now
		}
	})
	if err != nil {
		return err
	}
	status := exitStatus(waitStatus)
	ended = status
	if c.Cgroup != nil && status == 137 && opts.resources.MemoryBytes > 0 && c.Cgroup.WaitOOMKilled() > 0 {
		c.State.OOMKilled = true
		fmt.Fprintf(os.Stderr, "mydocker: killed: out of memory, limit %s\n", cgroups.HumanSize(opts.resources.MemoryBytes))
	}
	if hungUp != 0 {
		status = 128 + int(hungUp)
	}
	log.Infof("container exited with status %d", status)
	if status != 0 {
		return exitWith(status)
	}
	return nil
}

// bornWith reports whether init needs the container's pieces on the host
// as it is cloned, rather than in its config: its log is its stdout (run
// -d); on cgroup v2 it is born in its cgroup (CLONE_INTO_CGROUP); and
// limits and networks keep the book's order, which --trace shows: the
// cgroup (chapter 3.2) or the address (chapter 6), then the clone.
// Otherwise they are made while init's Go runtime starts (README,
// Performance).
func bornWith(opts runOptions) bool {
	limits := opts.resources
	limits.Devices = nil // an image's device rules, which need no order
	return opts.detach || !limits.Empty() || opts.network != "" ||
		len(opts.resources.Devices) > 0 && cgroups.Unified()
}

// process is what supervise runs: run's container (ParentProcess) or
// exec's process in one (ExecProcess).
type process interface {
	Start(ready <-chan struct{}) error
	Wait() (syscall.WaitStatus, error)
	Process() *os.Process
}

// supervise starts p, relays its terminal and mydocker's signals to it,
// and reaps it, whatever happens: mydocker never leaves a zombie or a
// running container behind. started runs once the command runs. It
// returns how p ended and, with a terminal, the SIGTERM or SIGHUP that
// ended mydocker's side; or why the command could not start (a
// *container.StartError carries 126, 127 or 125).
func supervise(p process, console *terminal.Console, started func()) (syscall.WaitStatus, syscall.Signal, error) {
	// Catch signals before the command runs, so none is lost between its
	// start and the forwarding loop. Catching them is done while init
	// starts up (README, Performance), and p.Start waits for it before
	// init may go on. A signal that comes earlier ends mydocker as it
	// would have before the container existed, and init with it (its
	// death signal), before the command ever ran.
	// No signal.Stop: mydocker exits right after, and Stop waits for the
	// runtime's signal goroutine to settle (README, Performance).
	signals := make(chan os.Signal, 16)
	caught := make(chan struct{})
	go func() {
		signal.Notify(signals, append(forwardedSignals, syscall.SIGWINCH)...)
		close(caught)
	}()

	startErr := p.Start(caught)
	if p.Process() == nil {
		return 0, 0, startErr // nothing was started, nothing to reap
	}
	if startErr == nil && console != nil {
		startErr = console.Start()
	}
	if startErr != nil {
		// The command never ran, or cannot be talked to: make sure it is
		// gone before reporting.
		_ = p.Process().Kill()
	} else {
		started()
	}
	hungUp := make(chan syscall.Signal, 1)
	go relaySignals(signals, p.Process(), console, hungUp)

	waitStatus, waitErr := p.Wait()
	if console != nil {
		console.WaitOutput()
		// The user's terminal back to cooked mode before mydocker writes
		// anything more, or the next line starts mid-line.
		console.Close()
	}
	if startErr != nil {
		return 0, 0, startErr
	}
	if waitErr != nil {
		return 0, 0, waitErr
	}
	select {
	case sig := <-hungUp:
		return waitStatus, sig, nil
	default:
		return waitStatus, 0, nil
	}
}

// relaySignals hands mydocker's signals on to the container. With a
// terminal of its own, SIGWINCH resizes it, and SIGTERM or SIGHUP mean the
// user's side is going away: the container is killed (its PID 1 may well
// be a shell that ignores both) and mydocker ends with 128+N.
func relaySignals(signals <-chan os.Signal, container *os.Process, console *terminal.Console, hungUp chan<- syscall.Signal) {
	for sig := range signals {
		switch {
		case sig == syscall.SIGWINCH:
			if console != nil {
				_ = console.Resize()
			}
		case console != nil && (sig == syscall.SIGTERM || sig == syscall.SIGHUP):
			log.Infof("%v with a terminal: killing the container", sig)
			select {
			case hungUp <- sig.(syscall.Signal):
			default:
			}
			_ = container.Kill()
		default:
			log.Infof("forwarding %v to the container", sig)
			_ = container.Signal(sig)
		}
	}
}

// heldStdin is the write end of a detached -i container's stdin, kept
// open (and referenced, so that no finalizer closes it) for its life.
var heldStdin *os.File

// setUpStdio decides what the container's stdin, stdout and stderr are:
// the caller's (stdin only with -i), or with -t and a terminal on stdin a
// pseudo-terminal of the container's own, relayed by the returned Console.
func setUpStdio(opts *runOptions) (*terminal.Console, container.Stdio, error) {
	stdio := container.Stdio{Out: os.Stdout, Err: os.Stderr}
	if opts.log != nil {
		// Detached: stdout and stderr in one log, in order; no stdin.
		if opts.tty {
			return detachedTerminal(opts)
		}
		stdio = container.Stdio{Out: opts.log, Err: opts.log}
		if opts.interactive {
			// docker's -di with nobody attached: stdin stays open and
			// quiet, so a shell waits instead of reading end-of-file. The
			// monitor holds the write end until the container ends.
			r, w, err := os.Pipe()
			if err != nil {
				return nil, stdio, fmt.Errorf("stdin pipe: %w", err)
			}
			stdio.In, heldStdin = r, w
		}
		return nil, stdio, nil
	}
	if opts.interactive {
		stdio.In = os.Stdin
	}
	switch {
	case !opts.tty:
		return nil, stdio, nil
	case !terminal.IsTerminal(os.Stdin):
		log.Info("-t: stdin is not a terminal, running with plain stdio")
		return nil, stdio, nil
	case opts.image != "" || opts.rootfs != "":
		// The container makes its terminal in its own /dev/pts and sends
		// the master side back (container/console.go). Until then init
		// has no stdin.
		opts.config.TTY, opts.config.ConsoleSocket = true, true
		console := terminal.ForContainer(os.Stdin, os.Stdout, opts.interactive)
		return console, container.Stdio{Out: os.Stdout, Err: os.Stderr}, nil
	default:
		// On the host's files there is no devpts of the container's own:
		// mydocker opens the pty on the host's.
		console, err := terminal.New(os.Stdin, os.Stdout, opts.interactive)
		if err != nil {
			return nil, stdio, err
		}
		opts.config.TTY = true
		slave := console.Slave()
		return console, container.Stdio{In: slave, Out: slave, Err: slave}, nil
	}
}

// newState is what ps and inspect will know of the container.
func newState(opts runOptions) *container.State {
	cfg := opts.config
	s := &container.State{ID: opts.id, Root: storeRoot, Name: opts.name, Image: opts.image,
		Args: cfg.Args, Created: time.Now(), Detached: opts.detach, Env: cfg.Env,
		Hostname: cfg.Hostname, Workdir: cfg.Workdir, ReadOnly: cfg.ReadOnly,
		User: cfg.User, HomeFromUser: cfg.HomeFromUser,
		Privileged: cfg.Privileged, Capabilities: cfg.Capabilities,
		LimitCapabilities: cfg.LimitCapabilities, Seccomp: cfg.Seccomp, NoNewPrivileges: cfg.NoNewPrivileges}
	if opts.detach {
		s.Argv = os.Args[1:] // for start: the monitor's command line is run -d's
	}
	if opts.rootfs != "" {
		s.Image = opts.rootfs
	}
	if opts.img != nil {
		s.ImageID = opts.img.ID
		s.StopSignal = opts.img.Config.StopSignal
	}
	s.Network = opts.network
	for _, p := range opts.ports {
		s.Ports = append(s.Ports, p.String())
	}
	for _, v := range cfg.Volumes {
		bind := v.Source + ":" + v.Target
		if v.ReadOnly {
			bind += ":ro"
		}
		s.Binds = append(s.Binds, bind)
	}
	res := opts.resources
	for _, l := range []struct {
		name  string
		value string
		set   bool
	}{
		{"Memory", fmt.Sprint(res.MemoryBytes), res.MemoryBytes != 0},
		{"NanoCpus", fmt.Sprint(int64(res.CPUs * 1e9)), res.CPUs != 0},
		{"CpuShares", fmt.Sprint(res.CPUShares), res.CPUShares != 0},
		{"CpusetCpus", res.CPUSet, res.CPUSet != ""},
		{"PidsLimit", fmt.Sprint(res.PidsLimit), res.PidsLimit != 0},
	} {
		if l.set {
			s.Limits = append(s.Limits, l.name+"="+l.value)
		}
	}
	return s
}
