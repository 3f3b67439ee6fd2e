package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestInitMakesCommandAChild(t *testing.T) {
	out := mustRun(t, "run", "--init", "/bin/sh", "-c", "echo pid=$$ ppid=$PPID")
	if strings.Contains(out, "pid=1 ") || !strings.Contains(out, "ppid=1") {
		t.Errorf("with --init the command should be a child of PID 1: %q", out)
	}
}

func TestInitReapsZombies(t *testing.T) {
	// An orphan re-parented to PID 1; the command never waits for it. The
	// loop waits (boundedly) for it to die and then to be reaped.
	script := `orphan=$(sh -c 'sleep 0.2 >/dev/null 2>&1 & echo $!')
i=0
while [ -e /proc/$orphan ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
if [ -e /proc/$orphan ]; then echo "left: $(cut -d' ' -f3 /proc/$orphan/stat)"; else echo reaped; fi`
	if out := mustRun(t, "run", "--init", "/bin/sh", "-c", script); out != "reaped\n" {
		t.Errorf("orphan under --init: %q, want reaped", out)
	}
}

func TestInitForwardsSIGTERMToSleep(t *testing.T) {
	// Without --init, sleep as PID 1 has no handler and ignores SIGTERM.
	cmd := exec.Command(mydocker, "run", "--init", "/bin/sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, cmd)
	waitForDescendant(t, cmd.Process.Pid, "sleep")
	cmd.Process.Signal(syscall.SIGTERM)
	if status := statusOf(t, cmd, cmd.Wait()); status != 143 {
		t.Errorf("status %d, want 143", status)
	}
}

func TestInitReturnsCommandStatus(t *testing.T) {
	for _, c := range []struct {
		script string
		want   int
	}{{"exit 0", 0}, {"exit 5", 5}, {"kill -KILL $$", 137}} {
		if r := run(t, nil, "run", "--init", "/bin/sh", "-c", c.script); r.status != c.want {
			t.Errorf("%q under --init: status %d, want %d (%s)", c.script, r.status, c.want, r.stderr)
		}
	}
	r := run(t, nil, "run", "--init", "/no/such/command")
	expectFailure(t, r, 127, "no such file")
}

func TestHostnameFlag(t *testing.T) {
	if out := mustRun(t, "run", "--hostname", "box-1.example", "/bin/hostname"); out != "box-1.example\n" {
		t.Errorf("hostname: %q", out)
	}
	host, _ := os.Hostname()
	if out := mustRun(t, "run", "/bin/hostname"); out != host+"\n" {
		t.Errorf("without --hostname the container keeps the caller's name %q, got %q", host, out)
	}
}

func TestEnvFlags(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	os.WriteFile(envFile, []byte("# a comment\n\nFROM_FILE=file value\nOVERRIDE=from-file\nPASSED\n"), 0o644)
	cmd := exec.Command(mydocker, "run",
		"-e", "PLAIN=a b  c", "-e", "EMPTY=", "-e", "EQUALS=x=y", "--env", "PASSED_E",
		"-e", "UNSET_IN_CALLER", "--env-file", envFile, "-e", "OVERRIDE=from-flag",
		"/usr/bin/env")
	cmd.Env = append(os.Environ(), "PASSED=from caller", "PASSED_E=caller e", "INHERITED=yes")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	want := map[string]string{
		"PLAIN": "a b  c", "EMPTY": "", "EQUALS": "x=y", "PASSED_E": "caller e",
		"FROM_FILE": "file value", "OVERRIDE": "from-flag", "PASSED": "from caller",
		"INHERITED": "yes",
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	if _, ok := env["UNSET_IN_CALLER"]; ok {
		t.Error("-e KEY for a variable the caller lacks should set nothing")
	}
}

func TestWorkdirFlag(t *testing.T) {
	dir := t.TempDir()
	for _, flag := range []string{"-w", "--workdir"} {
		if out := mustRun(t, "run", flag, dir, "/bin/pwd"); out != dir+"\n" {
			t.Errorf("%s %s: pwd %q", flag, dir, out)
		}
	}
}

func TestProcessFlagsBadInput(t *testing.T) {
	dir := t.TempDir()
	unreadable := filepath.Join(dir, "is-a-dir")
	os.Mkdir(unreadable, 0o755)
	badFile := filepath.Join(dir, "bad.env")
	os.WriteFile(badFile, []byte("GOOD=1\n=oops\n"), 0o644)
	aFile := filepath.Join(dir, "file")
	os.WriteFile(aFile, nil, 0o644)
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"empty -e key", []string{"-e", "=value"}, "invalid environment variable"},
		{"-e key with space", []string{"-e", "A B=1"}, "invalid environment variable"},
		{"missing env file", []string{"--env-file", filepath.Join(dir, "nope")}, "no such file"},
		{"env file is a directory", []string{"--env-file", unreadable}, "is a directory"},
		{"malformed env file", []string{"--env-file", badFile}, "line 2"},
		{"hostname too long", []string{"--hostname", strings.Repeat("a", 65)}, "invalid hostname"},
		{"hostname illegal characters", []string{"--hostname", "under_score"}, "invalid hostname"},
		{"hostname leading hyphen", []string{"--hostname", "-box"}, "invalid hostname"},
		{"empty hostname", []string{"--hostname", ""}, "invalid hostname"},
		{"missing workdir", []string{"-w", filepath.Join(dir, "nope")}, "no such file"},
		{"workdir is a file", []string{"-w", aFile}, "not a directory"},
		{"relative workdir", []string{"-w", "relative"}, "absolute"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"run"}, c.args...), "/bin/true")
			expectFailure(t, run(t, nil, args...), 125, c.msg)
		})
	}
}

func TestEnvFileMessages(t *testing.T) {
	// A binary file: one short line that names the file and the line.
	r := run(t, nil, "run", "--env-file", "/bin/true", "/bin/true")
	expectFailure(t, r, 125, "/bin/true line 1: not text")
	if len(r.stderr) > 200 {
		t.Errorf("message of %d bytes for a binary env file", len(r.stderr))
	}
	dir := t.TempDir()
	// A bad line deep in a file: its number, and a short excerpt.
	bad := filepath.Join(dir, "bad.env")
	os.WriteFile(bad, []byte("A=1\n# comment\n"+strings.Repeat("x y", 5000)+"=1\n"), 0o644)
	r = run(t, nil, "run", "--env-file", bad, "/bin/true")
	expectFailure(t, r, 125, "bad.env line 3")
	if len(r.stderr) > 200 {
		t.Errorf("message of %d bytes for one bad line", len(r.stderr))
	}
	// A long value is no error (bufio.Scanner stopped at 64 KiB).
	long := filepath.Join(dir, "long.env")
	os.WriteFile(long, []byte("LONG="+strings.Repeat("v", 100000)+"\n"), 0o644)
	if out := mustRun(t, "run", "--env-file", long, "/bin/sh", "-c", `echo ${#LONG}`); out != "100000\n" {
		t.Errorf("a 100000-byte value: %q", out)
	}
}

// TestInitStartsUnderASignalStorm sends SIGURG, which every process
// ignores unless it asks otherwise, to mydocker's child as fast as it can
// while the container starts. A Go program is signalled like this all the
// time (its runtime preempts goroutines with SIGURG), and a system call
// that the kernel does not restart after a handler (poll) then fails
// with EINTR: init must try again, not give up.
func TestInitStartsUnderASignalStorm(t *testing.T) {
	id := detached(t, "busybox", "sleep", "1000")
	waitStatus(t, id, `Up `)
	for round := 0; round < 30; round++ {
		args := [][]string{
			{"run", "/bin/true"},
			{"run", "--init", "-m", "64m", "busybox", "true"},
			{"exec", id, "true"},
		}[round%3]
		cmd := exec.Command(mydocker, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		// Once mydocker is gone, a process it left holding stderr must
		// not keep Wait (and the suite) waiting: the watchdog's verdict
		// comes instead.
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A watchdog of this round's own: killOnFailure's lasts the test.
		watchdog := time.AfterFunc(watchdogLimit, func() { cmd.Process.Kill() })
		done := make(chan struct{})
		go func() {
			pattern := fmt.Sprintf("/proc/%d/task/*/children", cmd.Process.Pid)
			for {
				select {
				case <-done:
					return
				default:
				}
				paths, _ := filepath.Glob(pattern)
				for _, path := range paths {
					data, _ := os.ReadFile(path)
					for _, f := range strings.Fields(string(data)) {
						pid, _ := strconv.Atoi(f)
						// As fast as the kernel takes them, until it is gone.
						for pid > 0 && syscall.Kill(pid, syscall.SIGURG) == nil {
							select {
							case <-done:
								return
							default:
							}
						}
					}
				}
			}
		}()
		err := cmd.Wait()
		close(done)
		if !watchdog.Stop() {
			t.Fatalf("round %d, %q: a container signalled while it starts still ran after %v; killed", round, args, watchdogLimit)
		}
		if status := statusOf(t, cmd, err); status != 0 {
			t.Fatalf("round %d, %q: a container signalled while it starts: status %d, stderr %q", round, args, status, stderr.String())
		}
	}
}
