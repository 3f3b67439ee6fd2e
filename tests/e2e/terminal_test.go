package e2e

import (
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// session is mydocker running on a pseudo-terminal the test owns, as if a
// user had typed the command in a terminal emulator.
type session struct {
	t      *testing.T
	cmd    *exec.Cmd
	master *os.File
	slave  *os.File // the "user's terminal"
	before *unix.Termios

	mu   sync.Mutex
	out  strings.Builder
	read chan struct{} // closed when the master side is read to its end
}

func startSession(t *testing.T, rows, cols uint16, args ...string) *session {
	t.Helper()
	return startSessionOf(t, rows, cols, append([]string{mydocker}, args...))
}

// startSessionOf is startSession of any command line.
func startSessionOf(t *testing.T, rows, cols uint16, argv []string) *session {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, master: master, slave: slave, before: termios(t, slave), read: make(chan struct{})}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = slave, slave, slave
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, s.cmd)
	go func() {
		defer close(s.read)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
		master.Close()
		slave.Close()
	})
	return s
}

func termios(t *testing.T, f *os.File) *unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio
}

func (s *session) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func (s *session) send(keys string) {
	s.t.Helper()
	if _, err := s.master.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
}

// expect waits until the terminal has shown want. The deadline only keeps
// a broken build from hanging the suite; nothing is timed.
func (s *session) expect(want string) {
	s.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(s.output(), want) {
			return
		}
	}
	s.t.Fatalf("terminal never showed %q; it shows:\n%s", want, s.output())
}

// wait reaps mydocker and checks the user's terminal is as it was.
func (s *session) wait() int {
	s.t.Helper()
	err := s.cmd.Wait()
	status := statusOf(s.t, s.cmd, err)
	if after := termios(s.t, s.slave); !reflect.DeepEqual(after, s.before) {
		s.t.Errorf("terminal modes not restored:\nbefore %+v\nafter  %+v", s.before, after)
	}
	// Everything the command wrote is read before its output is looked
	// at: with the slave side closed, the master reads to its end.
	s.slave.Close()
	select {
	case <-s.read:
	case <-time.After(10 * time.Second):
	}
	return status
}

func TestTTYShellIsPID1WithJobControl(t *testing.T) {
	s := startSession(t, 24, 80, "run", "-ti", "/bin/sh")
	// Expected strings are computed by the shell, so that the terminal's
	// echo of the typed line can never match them.
	s.send("echo pid=$$; case $- in *m*) echo job-control-$((2+3));; esac; test -t 0 && echo stdin-tty-$((1+1))\r")
	s.expect("pid=1")
	s.expect("job-control-5")
	s.expect("stdin-tty-2")
	s.send("exit 3\r")
	if status := s.wait(); status != 3 {
		t.Errorf("status %d, want 3", status)
	}
	if strings.Contains(s.output(), "job control turned off") {
		t.Errorf("the shell has no job control:\n%s", s.output())
	}
}

func TestTTYIsTheContainersOwn(t *testing.T) {
	s := startSession(t, 24, 80, "run", "-ti", "/bin/sh", "-c", "echo tty=$(readlink /proc/self/fd/0)")
	if status := s.wait(); status != 0 {
		t.Fatalf("status %d", status)
	}
	s.expect("tty=/dev/pts/")
	// A container holding the user's own terminal could push keystrokes
	// into it (TIOCSTI); one with a terminal of its own can only reach that.
	if strings.Contains(s.output(), "tty="+s.slave.Name()+"\r") {
		t.Errorf("the container holds the user's terminal %s", s.slave.Name())
	}
}

func TestTTYWindowSizeFollowsResize(t *testing.T) {
	s := startSession(t, 30, 100, "run", "-ti", "/bin/sh")
	s.send("stty size\r")
	s.expect("30 100")
	if err := pty.Setsize(s.master, &pty.Winsize{Rows: 42, Cols: 132}); err != nil {
		t.Fatal(err)
	}
	// The resize reaches the container asynchronously (SIGWINCH to
	// mydocker, then an ioctl): ask until it shows.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(s.output(), "42 132"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("window size never followed the resize:\n%s", s.output())
		}
		s.send("stty size\r")
	}
	s.send("exit\r")
	s.wait()
}

func TestTTYCtrlCInterruptsForegroundOnly(t *testing.T) {
	s := startSession(t, 24, 80, "run", "-ti", "/bin/sh")
	s.send("echo ready-$((6*7))\r")
	s.expect("ready-42")
	s.send("sleep 100\r")
	waitForDescendant(t, s.cmd.Process.Pid, "sleep")
	s.send("\x03") // Ctrl-C
	s.send("echo alive-$((40+2))\r")
	s.expect("alive-42")
	if s.cmd.ProcessState != nil {
		t.Fatal("mydocker exited on Ctrl-C")
	}
	s.send("exit\r")
	if status := s.wait(); status != 0 {
		t.Errorf("status %d after exit, want 0", status)
	}
}

func TestTTYRestoredWhenMydockerGetsSIGTERM(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startSession(t, 24, 80, "run", "-ti", "/bin/sh")
			s.send("echo ready-$((6*7))\r")
			s.expect("ready-42")
			s.cmd.Process.Signal(sig)
			if status := s.wait(); status != 128+int(sig) {
				t.Errorf("status %d, want %d", status, 128+int(sig))
			}
		})
	}
}

func TestTTYRestoredWhenCommandIsKilled(t *testing.T) {
	s := startSession(t, 24, 80, "run", "-ti", "/bin/sleep", "1000")
	syscall.Kill(waitForChild(t, s.cmd.Process.Pid, "sleep"), syscall.SIGKILL)
	if status := s.wait(); status != 137 {
		t.Errorf("status %d, want 137", status)
	}
}

func TestTTYRestoredWhenStartFails(t *testing.T) {
	s := startSession(t, 24, 80, "run", "-ti", "/no/such/command")
	if status := s.wait(); status != 127 {
		t.Errorf("status %d, want 127", status)
	}
}

func TestTTYOutputIsNotLostAtExit(t *testing.T) {
	s := startSession(t, 24, 80, "run", "-t", "/bin/sh", "-c", "seq 1 30000; echo END-OF-OUTPUT")
	if status := s.wait(); status != 0 {
		t.Fatalf("status %d", status)
	}
	s.expect("END-OF-OUTPUT")
	// Line endings pass through two terminals (CR added twice): compare lines.
	lines := strings.Fields(strings.ReplaceAll(s.output(), "\r", ""))
	if len(lines) != 30001 || lines[0] != "1" || lines[29999] != "30000" {
		t.Errorf("got %d lines, want 30000 numbers and the end marker", len(lines))
	}
}

func TestTTYWithoutTerminalRunsPlain(t *testing.T) {
	for _, flags := range [][]string{{"-t"}, {"-ti"}} {
		r := run(t, strings.NewReader("in\n"), append(append([]string{"--log-level", "info", "run"}, flags...), "/bin/sh", "-c", "cat; echo out")...)
		want := "out\n"
		if flags[0] == "-ti" {
			want = "in\nout\n"
		}
		if r.status != 0 || r.stdout != want {
			t.Errorf("%v without a terminal: %q (status %d, stderr %q)", flags, r.stdout, r.status, r.stderr)
		}
		if !strings.Contains(r.stderr, "not a terminal") {
			t.Errorf("%v: no info line about the missing terminal: %q", flags, r.stderr)
		}
	}
}

// waitForDescendant waits until a process named comm runs below pid.
func waitForDescendant(t *testing.T, pid int, comm string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if hasDescendant(pid, comm) {
			return
		}
	}
	t.Fatalf("no %s process started below %d", comm, pid)
}

func hasDescendant(pid int, comm string) bool {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	name := map[int]string{}
	for _, e := range entries {
		var p, pp int
		var c string
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(data)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < 0 {
			continue
		}
		c = s[open+1 : close]
		fields := strings.Fields(s[close+1:])
		if len(fields) < 2 {
			continue
		}
		p = atoi(e.Name())
		pp = atoi(fields[1])
		parent[p], name[p] = pp, c
	}
	for p, c := range name {
		if c != comm {
			continue
		}
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				return true
			}
		}
	}
	return false
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return -1
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func TestTTYRestoredBeforeTheLastLogLine(t *testing.T) {
	// In raw mode the user's terminal shows "\n" as a bare line feed (the
	// next line starts mid-screen); restored, as "\r\n".
	s := startSession(t, 24, 80, "--log-level", "info", "--log-format", "text", "run", "-ti", "/bin/true")
	if status := s.wait(); status != 0 {
		t.Fatalf("status %d", status)
	}
	s.expect("container exited with status 0")
	out := s.output()
	i := strings.Index(out, "container exited with status 0")
	if end := strings.Index(out[i:], "\n"); end < 1 || out[i+end-1] != '\r' {
		t.Errorf("the closing log line was written while the terminal was raw (stair-stepped): %q", out[i:])
	}
}

// TestCtrlCWithoutTTYReachesTheContainerOnce: without -t the container is
// in a session of its own, as docker's is: Ctrl-C typed at the user's
// terminal reaches mydocker, which forwards it, and not the container
// straight from the terminal as well.
func TestCtrlCWithoutTTYReachesTheContainerOnce(t *testing.T) {
	s := startSession(t, 24, 80, "run", "/bin/sh", "-c",
		`trap "echo got-INT" INT; trap "echo got-TERM; exit 7" TERM; echo ready; while :; do sleep 0.05; done`)
	s.expect("ready")
	s.send("\x03") // Ctrl-C
	s.expect("got-INT")
	// Forwarded after any SIGINT still on its way (SIGINT's number is the
	// lower: the runtime hands pending signals on in that order).
	s.cmd.Process.Signal(syscall.SIGTERM)
	if status := s.wait(); status != 7 {
		t.Errorf("status %d after SIGTERM, want the trap's 7", status)
	}
	if n := strings.Count(s.output(), "got-INT"); n != 1 {
		t.Errorf("one Ctrl-C reached the container %d times, want once (mydocker's forward):\n%s", n, s.output())
	}
}
