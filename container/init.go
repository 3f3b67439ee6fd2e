package container

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/mydocker/mydocker/trace"
	log "github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// ErrNotInContainer is what "mydocker init" says when typed by hand.
var ErrNotInContainer = errors.New("init is internal: it runs only as PID 1 of a container started by 'mydocker run'")

// RunContainerInitProcess is the inside of the container: it runs as PID 1
// of the new namespaces, reads its Config from the parent, prepares the
// mounts and execs the user's command, which then becomes PID 1 itself.
// It returns only on failure; the error has already been reported to the
// parent when it is a *StartError.
func RunContainerInitProcess() error {
	// The pipes come after the descriptors passed to the command, if any.
	if n, err := strconv.Atoi(os.Getenv(preservedEnv)); err == nil && n > 0 {
		placeInitFds(n)
	}
	// Refuse before touching anything: run by hand, the mounts below would
	// land in the caller's mount namespace.
	if err := checkStartedByRun(); err != nil {
		return err
	}
	status := os.NewFile(uintptr(statusFd), "status-pipe")
	// Close-on-exec: a successful exec closes the pipe, which is how the
	// parent learns that the command is running.
	unix.CloseOnExec(statusFd)

	se := initContainer(status)
	writeStartReport(status, se)
	return se
}

// checkStartedByRun makes sure this process holds both pipes from its
// parent (and, but for exec, is PID 1 of a fresh PID namespace: see
// initContainer).
func checkStartedByRun() error {
	for _, fd := range []int{configFd, statusFd} {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return ErrNotInContainer
		}
	}
	return nil
}

// initContainer is init's work, step by step, in the order the kernel
// needs it (the parent's side of the handshake is in container_process.go):
//
//  1. read the Config from run, up to its end record;
//  2. the mounts: a private tree, then /proc, or the container's own root;
//  3. join the container's cgroup (cgroup v1), then a cgroup namespace
//     rooted there, /sys/fs/cgroup, and pivot_root;
//  4. hostname, the loopback interface up, --user looked up, and the
//     working directory;
//  5. find the command (127 and 126 are decided here, where PATH is known);
//  6. die with run: re-arm the death signal, then make sure run is alive;
//  7. close every descriptor above 2 at exec;
//  8. confine: no_new_privs, the seccomp filter, the capability sets,
//     and --user (looked up in the container's /etc/passwd at step 4);
//  9. exec the command, which becomes PID 1 (or, with --init, its child).
func initContainer(status *os.File) *StartError {
	log.Info("init come on")
	configPipe := os.NewFile(uintptr(configFd), "config-pipe")
	defer configPipe.Close() // the user's command must not inherit it
	cfg, err := ReadConfig(configPipe)
	if err != nil {
		trace.Step("3.3", "", err, "read(fd 3, the pipe from run)")
		return startErrorf(StatusRuntimeError, "%v", err)
	}
	trace.Step("3.3", "argv as NUL-ended records: the book's pipe, without its split on spaces", nil,
		"read(fd 3, the pipe from run: %d arguments and the config)", len(cfg.Args))
	log.Infof("command %q", cfg.Args)

	if cfg.Exec {
		// exec: the container exists, and this process was born in its
		// namespaces and cgroup (exec.go); only the steps from the working
		// directory on are its.
		if os.Getpid() == 1 {
			return startErrorf(StatusRuntimeError, "exec: init is PID 1: not in a running container")
		}
		// Nobody of the container may look into this process (its
		// /proc/PID/exe is mydocker, on the host) until the exec.
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
			return startErrorf(StatusRuntimeError, "exec: %v", err)
		}
		if cfg.ConsoleSocket {
			if err := setUpConsole("/dev/pts"); err != nil {
				return startErrorf(StatusRuntimeError, "%v", err)
			}
		}
		return startCommand(cfg, configPipe, status)
	}
	b := cfg.Bundle
	if os.Getpid() != 1 && (b == nil || b.NewPID) {
		return startErrorf(StatusRuntimeError, "%v", ErrNotInContainer)
	}
	if b != nil {
		// An OCI bundle: its cgroup (and cgroup namespace) is joined
		// before its mounts, one of which may be that cgroup's.
		if b.StartFifo != 0 {
			unix.CloseOnExec(b.StartFifo)
		}
		if err := enterCgroup(cfg); err != nil {
			return startErrorf(StatusRuntimeError, "%v", err)
		}
	}
	if err := setUpMounts(cfg); err != nil {
		return startErrorf(StatusRuntimeError, "%v", err)
	}
	if b == nil {
		if err := enterCgroup(cfg); err != nil {
			return startErrorf(StatusRuntimeError, "%v", err)
		}
	} else if err := b.CreateContainer.run("createContainer"); err != nil {
		return startErrorf(StatusRuntimeError, "%v", err)
	}
	if cfg.Rootfs != "" {
		pivot := pivotRoot
		if b != nil && b.NoPivot {
			pivot = moveRoot
		}
		if err := pivot(cfg.Rootfs); err != nil {
			return startErrorf(StatusRuntimeError, "%v", err)
		}
	}
	if b != nil && b.RootPropagation != 0 {
		// The root's propagation, as config.json asks, once it is the
		// root (pivot_root refuses a shared new root): the tree was made
		// private first, so even "shared" is a peer group of the
		// container's own, reaching nothing of the host's.
		if err := mount(trace.Beyond, "config.json's rootfsPropagation", "", "/", "", b.RootPropagation, ""); err != nil {
			return startErrorf(StatusRuntimeError, "%v", err)
		}
	}
	if cfg.Hostname != "" {
		err := unix.Sethostname([]byte(cfg.Hostname))
		trace.Step("3.1", "", err, "sethostname(%q)", cfg.Hostname)
		if err != nil {
			return startErrorf(StatusRuntimeError, "set hostname %q: %v", cfg.Hostname, err)
		}
	}
	if b != nil && b.Domainname != "" {
		if err := unix.Setdomainname([]byte(b.Domainname)); err != nil {
			return startErrorf(StatusRuntimeError, "set domainname %q: %v", b.Domainname, err)
		}
	}
	if b == nil || b.NewNet {
		if err := loopbackUp(); err != nil {
			return startErrorf(StatusRuntimeError, "%v", err)
		}
	}
	return startCommand(cfg, configPipe, status)
}

// startCommand is the last steps, those of run and exec alike: the
// working directory, the command looked up, the death signal, descriptors,
// confinement, exec.
func startCommand(cfg *Config, configPipe, status *os.File) *StartError {
	var id *identity
	if b := cfg.Bundle; b != nil {
		if envValue(cfg.Env, "HOME") == "" {
			home := "/"
			if e := findEntry("/etc/passwd", 7, func(f []string) bool { n, _ := parseID(f[2]); return n == b.UID }); e != nil && e[5] != "" {
				home = e[5]
			}
			cfg.Env = append(cfg.Env, "HOME="+home)
		}
		if err := applyProcessLimits(b); err != nil {
			return startErrorf(StatusRuntimeError, "%v", err)
		}
	} else if cfg.User != "" {
		var err error
		if id, err = lookUpUser(cfg.User); err != nil {
			return startErrorf(StatusRuntimeError, "%v", err)
		}
		if cfg.HomeFromUser {
			cfg.Env = setEnv(cfg.Env, "HOME", id.home)
		}
	}
	if cfg.Workdir != "" {
		if err := os.Chdir(cfg.Workdir); err != nil {
			return startErrorf(StatusRuntimeError, "working directory %q: %v", cfg.Workdir, errors.Unwrap(err))
		}
	}
	path, se := lookCommand(cfg.Args[0], envValue(cfg.Env, "PATH"))
	if se != nil {
		return se
	}
	created := cfg.Bundle != nil && cfg.Bundle.StartFifo != 0
	if err := dieWithParent(configPipe, created || cfg.Bundle != nil && cfg.Bundle.Detach); err != nil {
		return startErrorf(StatusRuntimeError, "%v", err)
	}
	configPipe.Close()
	if err := closeInheritedFds(); err != nil {
		return startErrorf(StatusRuntimeError, "%v", err)
	}
	if err := confine(cfg, id); err != nil {
		return startErrorf(StatusRuntimeError, "%v", err)
	}
	if created {
		// Ready: create returns, and the command waits for start.
		writeStartReport(status, &StartError{Status: 0, Message: "ready"})
		status.Close()
		if err := waitForStart(cfg.Bundle.StartFifo); err != nil {
			return startErrorf(StatusRuntimeError, "%v", err)
		}
	}
	if b := cfg.Bundle; b != nil {
		if err := b.StartContainer.run("startContainer"); err != nil {
			if created {
				// start has returned, or is about to: nobody reads
				// the status pipe any more, and the reason goes to
				// the container's stderr (as runc's init's, whose
				// start does not wait for these hooks either).
				fmt.Fprintf(os.Stderr, "mydocker-runc: %v\n", err)
			}
			return startErrorf(StatusRuntimeError, "%v", err)
		}
	}

	if cfg.Init {
		// --init: stay PID 1 and run the command as a child.
		return runTinyInit(path, cfg, status)
	}
	// exec, not fork: the user's command replaces init and becomes PID 1,
	// as in the book's `ps -ef` transcript.
	trace.Result("3.1", "", "...", "execve(%q, %q)", path, cfg.Args)
	err := unix.Exec(path, cfg.Args, cfg.Env)
	trace.Step("3.1", "", err, "execve(%q)", path)
	return execError(cfg.Args[0], err)
}

// enterCgroup puts init into the container's cgroup on cgroup v1 (on v2
// it was born there), before anything of the container's can run. The
// book has the parent write init's PID into each tasks file; init writing
// "0" there moves itself, the thread that will exec, and the kernel then
// skips the RCU grace period a move of another process waits for (5-10 ms
// on every start here). Then, with an image, a cgroup namespace rooted
// there, so that /proc/self/cgroup reads "/" and /sys/fs/cgroup shows the
// container's own limits.
func enterCgroup(cfg *Config) error {
	for _, tasks := range cfg.CgroupTasks {
		err := os.WriteFile(tasks, []byte("0"), 0o644)
		trace.Step("3.2", "the book's parent writes init's PID; init writing 0 moves itself without an RCU wait", err, "write %s %q", tasks, "0")
		if err != nil {
			return fmt.Errorf("join the container's cgroup: %w", err)
		}
	}
	if !cfg.CgroupNS {
		return nil
	}
	err := unix.Unshare(unix.CLONE_NEWCGROUP)
	trace.Step(trace.Beyond, "a cgroup namespace: /proc/self/cgroup reads /", err, "unshare(CLONE_NEWCGROUP)")
	if err != nil {
		return fmt.Errorf("new cgroup namespace: %w", err)
	}
	if cfg.Bundle != nil {
		return nil // a bundle mounts its cgroup file systems where it lists them
	}
	return mountCgroupFS(cfg)
}

// dieWithParent makes sure the container never outlives `mydocker run`.
// The death signal run asked for at clone time can be lost twice over: it
// is set in the child a moment after clone (a parent killed in between
// sends nothing), and it belongs to one thread (main.go keeps init on that
// thread). So init sets it again here, on the thread that will exec, and
// then checks that run is still there: after this point run's death kills
// the command, before it the check sees it. getppid() cannot tell (in a new
// PID namespace the parent is always 0), but the config pipe can: run keeps
// its write end open until the command has started, and the kernel hangs up
// the read end when the last writer dies.
//
// An OCI container (created) outlives the create that made it: its death
// signal goes instead, and its caller (containerd's shim, conmon) becomes
// its parent. The check stays: a create killed before this point leaves
// a container that the next delete removes, not one that runs.
func dieWithParent(configPipe *os.File, created bool) error {
	var sig uintptr = uintptr(unix.SIGKILL)
	if created {
		sig = 0
	}
	err := unix.Prctl(unix.PR_SET_PDEATHSIG, sig, 0, 0, 0)
	trace.Step(trace.Beyond, "the container dies with mydocker, whatever kills it", err, "prctl(PR_SET_PDEATHSIG, %d)", sig)
	if err != nil {
		return fmt.Errorf("set parent-death signal: %w", err)
	}
	fds := []unix.PollFd{{Fd: int32(configPipe.Fd()), Events: unix.POLLIN}}
	// poll(2) is never restarted after a signal handler, and the Go
	// runtime signals its own threads (SIGURG, to preempt goroutines).
	_, err = unix.Poll(fds, 0)
	for err == unix.EINTR {
		_, err = unix.Poll(fds, 0)
	}
	if err != nil {
		return fmt.Errorf("check that mydocker run is alive: %w", err)
	}
	if fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
		// Nobody is left to read a start report.
		os.Exit(StatusRuntimeError)
	}
	return nil
}

// closeInheritedFds marks every descriptor above stderr close-on-exec, but
// those passed to the command on purpose (--preserve-fds). A
// descriptor the caller of mydocker left open (`exec 9</`) would otherwise
// reach the command, and a descriptor of the host's "/" leads out of any
// pivot_root (runc's CVE-2024-21626 was one such leak). Close-on-exec
// rather than close: the status pipe must stay open until the exec itself.
func closeInheritedFds() error {
	first := uint(3 + preserved)
	err := unix.CloseRange(first, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	trace.Step(trace.Beyond, "no descriptor of the host's reaches the command", err, "close_range(%d, ~0U, CLOSE_RANGE_CLOEXEC)", first)
	if err != nil {
		return fmt.Errorf("close inherited descriptors: %w", err)
	}
	return nil
}

// envValue is the value of key in env (KEY=VALUE strings); the last one
// wins, as in getenv.
func envValue(env []string, key string) string {
	value := ""
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			value = v
		}
	}
	return value
}

// setUpMounts gives the container its own /proc, and with an image or
// --rootfs its own root filesystem.
func setUpMounts(cfg *Config) error {
	// The new mount namespace starts as a copy of the host's, with the
	// same propagation. On systemd hosts "/" is a shared mount, so the
	// /proc mount below would propagate back to the host and leave the
	// host's /proc showing only the container's processes once it exits:
	// the book's classic bug. Making the whole tree private first (MS_REC)
	// cuts every propagation link before anything is mounted.
	err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
	trace.Step("3.1", "not in the book: / may be shared, and /proc mounted below would replace the host's", err,
		`mount("", "/", "", MS_REC|MS_PRIVATE, "")`)
	if err != nil {
		return fmt.Errorf("make mount tree private: %w", err)
	}
	if cfg.Bundle != nil && cfg.Rootfs == "" {
		return fmt.Errorf("an OCI container needs a root")
	}
	if cfg.Rootfs != "" {
		return setUpRootfs(cfg)
	}
	// A new proc instance shows this PID namespace, so `ps` sees only the
	// container's processes. Nothing on it needs to be executed, set-uid
	// or a device node.
	const procFlags = unix.MS_NOEXEC | unix.MS_NOSUID | unix.MS_NODEV
	return mount("3.1", "", "proc", "/proc", "proc", procFlags, "")
}

// lookCommand finds name as a shell would: as it is when it contains a
// slash, else in each PATH directory in turn. A name that exists but
// cannot be executed is 126, one that does not exist 127.
func lookCommand(name, pathEnv string) (string, *StartError) {
	if strings.Contains(name, "/") {
		if err := checkExecutable(name); err != nil {
			return "", err
		}
		return name, nil
	}
	if pathEnv == "" {
		pathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	var firstDenied *StartError
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		candidate := dir + "/" + name
		err := checkExecutable(candidate)
		if err == nil {
			return candidate, nil
		}
		if err.Status == StatusCannotExecute && firstDenied == nil {
			firstDenied = err
		}
	}
	if firstDenied != nil {
		return "", firstDenied
	}
	return "", startErrorf(StatusNotFound, "exec %q: executable file not found in $PATH", name)
}

func checkExecutable(path string) *StartError {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return startErrorf(StatusNotFound, "exec %q: no such file or directory", path)
	case fi.IsDir():
		return startErrorf(StatusCannotExecute, "exec %q: is a directory", path)
	case unix.Access(path, unix.X_OK) != nil:
		return startErrorf(StatusCannotExecute, "exec %q: permission denied", path)
	}
	return nil
}

// execError classifies a failed execve the way shells and docker do.
func execError(name string, err error) *StartError {
	if errors.Is(err, unix.ENOENT) {
		// The file was there a moment ago: its interpreter or loader is not.
		return startErrorf(StatusNotFound, "exec %q: %v (missing interpreter?)", name, err)
	}
	return startErrorf(StatusCannotExecute, "exec %q: %v", name, err)
}

// loopbackUp brings up lo, which a new network namespace has down, as
// docker does: 127.0.0.1 answers inside every container. (A bridge
// network's eth0 is run's work, from outside: network/.)
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	err = unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
	trace.Step(trace.Beyond, "docker brings lo up too", err, `ioctl(SIOCSIFFLAGS, "lo", IFF_UP)`)
	if err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}
