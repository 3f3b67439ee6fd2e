package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/terminal"
	"github.com/mydocker/mydocker/trace"
	log "github.com/sirupsen/logrus"
)

// Who waits for a detached container? `run -d` starts a monitor, a second
// mydocker of its own (as containerd's shim or conmon are), and returns
// as soon as the monitor reports that the container's command runs. The
// monitor is the container's owner: it runs the very same `run` (its
// command line is run -d's, word for word), with the container's output
// in its log, reaps it, records how it ended in its state file, and
// releases its cgroup. The handshake:
//
//	run -d                                   monitor (same argv, MYDOCKER_MONITOR=ID NAME)
//	fork, setsid, fd 3 = report pipe ──────▶ Run: workspace, cgroup, init...
//	                                  ◀───── fd 3: a report, status 0 once the command runs,
//	                                           or the start error (125/126/127)
//	print the ID, exit 0                      wait for the container; record its end
//
// If the monitor is killed, the container dies with it (its death signal)
// and ps shows it Dead.
const monitorEnv = "MYDOCKER_MONITOR"

// runDetached is run -d's side. A signal (Ctrl-C) while it starts never
// leaves a container the user was not told of: before the monitor starts,
// it stops run -d with nothing made; after, the start is seen through, the
// ID printed, and run -d ends with the signal's status.
func runDetached(opts runOptions) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	select {
	case sig := <-sigs:
		return exitWith(128 + int(sig.(syscall.Signal)))
	default:
	}
	if err := startMonitor(os.Args[1:], opts.id, opts.name, false); err != nil {
		return err
	}
	fmt.Println(opts.id)
	select {
	case sig := <-sigs:
		return &statusError{status: 128 + int(sig.(syscall.Signal)),
			msg: fmt.Sprintf("interrupted, but the container had started: %s runs (mydocker rm -f %s removes it)", opts.id, opts.id)}
	default:
	}
	return nil
}

// startMonitor starts a monitor running `mydocker ARGV...` (a run -d
// command line) for the container id called name, again (start) or for
// the first time, and returns once the container's command runs, or
// with why it could not start.
func startMonitor(argv []string, id, name string, again bool) error {
	reportR, reportW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start a monitor: %w", err)
	}
	defer reportR.Close()
	monitor := exec.Command("/proc/self/exe", argv...)
	monitor.Args[0] = "mydocker"
	value := id + " " + name
	if again {
		value += " again"
	}
	monitor.Env = append(os.Environ(), monitorEnv+"="+value)
	monitor.ExtraFiles = []*os.File{reportW}
	// A session of its own: no terminal, and the caller's Ctrl-C or hang-up
	// never reach it. stdin, stdout and stderr are /dev/null.
	monitor.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = monitor.Start()
	if err == nil {
		trace.Result("5.1", "the book's detached parent exits and nobody waits for the container; a monitor does", fmt.Sprint(monitor.Process.Pid),
			"fork and exec a monitor (setsid): mydocker %s", strings.Join(argv, " "))
	}
	reportW.Close()
	if err != nil {
		return fmt.Errorf("start the monitor: %w", err)
	}
	report, err := io.ReadAll(reportR)
	if err != nil || len(report) == 0 {
		monitor.Wait()
		return fmt.Errorf("the monitor ended before the container started")
	}
	var se container.StartError
	if err := se.Decode(report); err != nil {
		return err
	}
	if se.Status != 0 {
		monitor.Wait() // it has cleaned up and is ending
		return &se
	}
	monitor.Process.Release()
	return nil
}

// monitorFromEnv is, in a monitor, the ID and name run -d chose, and the
// report pipe; it takes its variable out of the environment, so that a
// container on the host's files does not inherit it.
func monitorFromEnv(opts *runOptions) error {
	value, ok := os.LookupEnv(monitorEnv)
	if !ok {
		return nil
	}
	os.Unsetenv(monitorEnv)
	f := strings.Fields(value)
	if len(f) < 2 || !opts.detach {
		return errors.New(monitorEnv + " is internal to run -d")
	}
	opts.id, opts.name = f[0], f[1]
	opts.again = len(f) == 3 && f[2] == "again"
	opts.monitorReport = &startReport{f: os.NewFile(3, "monitor-report")}
	monitorReport = opts.monitorReport
	return nil
}

// monitorReport is this monitor's report (nil in any other mydocker), for
// an error found before Run has it: fail sends it.
var monitorReport *startReport

// startReport is the monitor's end of the report pipe to run -d.
type startReport struct {
	f    *os.File
	sent bool
}

// send tells run -d, once, that the container's command runs (err nil),
// or why it could not start.
func (r *startReport) send(err error) {
	if r.sent {
		return
	}
	r.sent = true
	se := &container.StartError{Status: 0}
	if err != nil && !errors.As(err, &se) {
		se = &container.StartError{Status: statusOf(err), Message: err.Error()}
	}
	r.f.Write(se.Encode())
	r.f.Close()
}

// openLog makes the detached container's log, where its stdout and its
// stderr go, and the monitor's own messages (the out-of-memory one, say).
func openLog(opts *runOptions, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("container log: %w", err)
	}
	opts.log = f
	os.Stderr = f
	log.SetOutput(f)
	return nil
}

// logTerminal is run -d -t's terminal: the container's own pseudo-terminal,
// as with run -t, whose output is copied to the log instead of a user's
// screen, as docker does.
type logTerminal struct {
	log   *os.File
	slave *os.File // on the host's files: ours, closed once the container has its own
	done  chan struct{}
}

// detachedTerminal sets run -d -t up: in an image or --rootfs, init makes
// the terminal in the container's devpts and sends the master back
// (attach); on the host's files it is a pty of the host's.
func detachedTerminal(opts *runOptions) (*terminal.Console, container.Stdio, error) {
	t := &logTerminal{log: opts.log, done: make(chan struct{})}
	opts.logTTY = t
	opts.config.TTY = true
	if opts.image != "" || opts.rootfs != "" {
		opts.config.ConsoleSocket = true
		return nil, container.Stdio{Out: opts.log, Err: opts.log}, nil
	}
	master, slave, err := pty.Open()
	if err != nil {
		return nil, container.Stdio{}, fmt.Errorf("run -d -t: %w", err)
	}
	t.attach(master)
	t.slave = slave // closed once the container has it (started)
	return nil, container.Stdio{In: slave, Out: slave, Err: slave}, nil
}

// attach copies what the container writes to its terminal into the log.
func (t *logTerminal) attach(master *os.File) error {
	go func() {
		io.Copy(t.log, master)
		master.Close()
		close(t.done)
	}()
	return nil
}

// started lets go of the host pty's slave side, once the container holds
// it: then the copy ends when the container's last process does.
func (t *logTerminal) started() {
	if t.slave != nil {
		t.slave.Close()
	}
}

// drain waits, boundedly, until the terminal's last output is in the log.
func (t *logTerminal) drain() {
	select {
	case <-t.done:
	case <-time.After(2 * time.Second):
	}
}
