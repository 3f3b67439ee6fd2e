package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRunCommandIsPID1(t *testing.T) {
	if got := mustRun(t, "run", "/bin/sh", "-c", "echo $$"); got != "1\n" {
		t.Errorf("shell's PID inside: %q, want 1", got)
	}
}

func TestPsSeesOnlyContainerProcesses(t *testing.T) {
	out := mustRun(t, "run", "/bin/sh", "-c", "ps -e -o pid=,comm=; true")
	var pids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		pids = append(pids, strings.Fields(line)[0])
	}
	// Only the shell (PID 1) and ps itself, as in the book's transcript.
	if len(pids) != 2 || pids[0] != "1" || !strings.Contains(out, "sh") || !strings.Contains(out, "ps") {
		t.Errorf("ps inside the container sees:\n%s", out)
	}
}

func TestHostnameIsIsolated(t *testing.T) {
	host, _ := os.Hostname()
	out := mustRun(t, "run", "/bin/sh", "-c", "hostname mydocker-test-name && hostname")
	if out != "mydocker-test-name\n" {
		t.Errorf("hostname inside after setting it: %q", out)
	}
	if now, _ := os.Hostname(); now != host {
		t.Errorf("host's hostname changed from %q to %q", host, now)
	}
}

func TestOnlyLoopbackInNetworkNamespace(t *testing.T) {
	// /proc/net/dev lists the interfaces of the reader's network namespace.
	out := mustRun(t, "run", "/bin/cat", "/proc/net/dev")
	var links []string
	for _, line := range strings.Split(out, "\n")[2:] {
		if name, _, ok := strings.Cut(line, ":"); ok {
			links = append(links, strings.TrimSpace(name))
		}
	}
	if len(links) != 1 || links[0] != "lo" {
		t.Errorf("links inside the container: %q, want only lo", links)
	}
}

func TestEveryNamespaceIsNew(t *testing.T) {
	kinds := []string{"ipc", "mnt", "net", "pid", "uts"}
	script := ""
	for _, k := range kinds {
		script += "readlink /proc/self/ns/" + k + "; "
	}
	inside := strings.Fields(mustRun(t, "run", "/bin/sh", "-c", script))
	if len(inside) != len(kinds) {
		t.Fatalf("namespace links inside: %q", inside)
	}
	for i, k := range kinds {
		host, err := os.Readlink("/proc/self/ns/" + k)
		if err != nil {
			t.Fatal(err)
		}
		if inside[i] == host {
			t.Errorf("%s namespace is the host's (%s)", k, host)
		}
	}
}

func TestHostFilesVisibleWithoutChroot(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "marker-file"), nil, 0o644)
	cmd := exec.Command(mydocker, "run", "-ti", "/bin/ls")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil || string(out) != "marker-file\n" {
		t.Errorf("ls in the current directory: %q, %v", out, err)
	}
}

func TestHostProcIntactAfterExit(t *testing.T) {
	mustRun(t, "run", "/bin/true")
	self, err := os.Readlink("/proc/self")
	if err != nil || self != strconv.Itoa(os.Getpid()) {
		t.Errorf("host /proc/self is %q (%v), want %d", self, err, os.Getpid())
	}
	if _, err := os.Stat("/proc/1/cmdline"); err != nil {
		t.Errorf("host /proc broken: %v", err)
	}
}

// The book's classic bug: on systemd hosts "/" is a shared mount, so a
// container that mounts /proc without first making its tree private breaks
// the host's /proc. This host's "/" may be private, so the test makes a
// mount namespace of its own whose "/" is shared, and runs mydocker there.
func TestProcMountDoesNotPropagateFromSharedRoot(t *testing.T) {
	dir := t.TempDir()
	script := fmt.Sprintf(`set -e
grep -q ' / / .*shared:' /proc/self/mountinfo || { echo "/ is not shared"; exit 1; }
cat /proc/self/mountinfo > %[1]s/before
%[2]s run /bin/true
cat /proc/self/mountinfo > %[1]s/after
test "$(readlink /proc/self)" != 1
`, dir, mydocker)
	out, err := exec.Command("unshare", "--mount", "--propagation", "shared", "/bin/sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("in a namespace with a shared /: %v\n%s", err, out)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "before"))
	after, _ := os.ReadFile(filepath.Join(dir, "after"))
	if len(before) == 0 || string(before) != string(after) {
		t.Errorf("the container's mounts propagated out:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestExitStatuses(t *testing.T) {
	needImage(t)
	notExec := filepath.Join(t.TempDir(), "script")
	os.WriteFile(notExec, []byte("#!/bin/sh\necho hi\n"), 0o644)
	hint := "(import one)" // no ls on this PATH: nothing to suggest
	if lsPath, err := exec.LookPath("ls"); err == nil {
		hint = "or give a path to run the host's program: " + lsPath + ")"
	}
	cases := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"success", []string{"run", "/bin/true"}, 0, ""},
		{"command's own status", []string{"run", "/bin/sh", "-c", "exit 3"}, 3, ""},
		{"no command", []string{"run"}, 125, "needs a command"},
		{"only flags", []string{"run", "-ti"}, 125, "needs a command"},
		{"empty command", []string{"run", ""}, 125, "empty"},
		{"unknown run flag", []string{"run", "--bogus", "/bin/true"}, 125, "bogus"},
		{"unknown global flag", []string{"--bogus", "run", "/bin/true"}, 125, "bogus"},
		{"unknown command", []string{"runn", "/bin/true"}, 125, "unknown command"},
		{"bad log level", []string{"--log-level", "loud", "run", "/bin/true"}, 125, "log-level"},
		{"undocumented log level", []string{"--log-level", "trace", "run", "/bin/true"}, 125, "log-level"},
		{"init by hand", []string{"init"}, 125, "internal"},
		{"init by hand with args", []string{"init", "/bin/sh"}, 125, "internal"},
		{"directory", []string{"run", "/etc"}, 126, "is a directory"},
		{"not executable", []string{"run", notExec}, 126, "permission denied"},
		{"missing path", []string{"run", "/no/such/command"}, 127, "no such file"},
		{"missing in the image's PATH", []string{"--root", storeRoot, "run", "busybox", "no-such-command-xyz"}, 127, "not found"},
		// A bare word is an image, never the host's program of that name.
		{"bare word, no such image", []string{"--root", storeRoot, "run", "--pull", "never", "no-such-command-xyz"}, 125, `no image "no-such-command-xyz" in ` + storeRoot + ` (import one)`},
		// The host's program is suggested only when there is one.
		{"bare word, a host program", []string{"--root", storeRoot, "run", "--pull", "never", "ls"}, 125, hint},
		{"host's program by bare name", []string{"--root", storeRoot, "run", "--pull", "never", "true"}, 125, "/bin/true"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, nil, c.args...)
			if c.want == 0 || c.msg == "" {
				if r.status != c.want {
					t.Errorf("status %d, want %d (stderr %q)", r.status, c.want, r.stderr)
				}
				return
			}
			expectFailure(t, r, c.want, c.msg)
		})
	}
}

func TestNotRootIsRefused(t *testing.T) {
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is needed to drop root")
	}
	// Every command that needs root says so first, with one status: not
	// "no such image" for an image it could not look at, nor the raw
	// error of the runtime directory it may not read.
	needImage(t)
	for _, args := range [][]string{
		{"run", "/bin/true"}, {"run", "-ti", "busybox", "sh"}, {"--root", storeRoot, "run", "busybox", "true"},
		{"ps"}, {"ps", "-a"}, {"images"}, {"network", "ls"}, {"stop", "x"}, {"logs", "x"}, {"rmi", "busybox"},
		{"import", imageTarball(), "x"}, {"exec", "x", "true"}, {"rm", "-f", "x"}, {"inspect", "x"}, {"start", "x"},
	} {
		cmd := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", mydocker}, args...)...)
		cmd.Env = withoutEnv("MYDOCKER_ROOT") // the host's store, as a user's would be
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		name := args[0]
		if name == "--root" {
			name = args[2]
		}
		expectFailure(t, result{stdout.String(), stderr.String(), statusOf(t, cmd, err)}, 125, name+" ")
		if !strings.Contains(stderr.String(), "needs root privileges") {
			t.Errorf("%q as nobody: %q, want it to say it needs root", args, stderr.String())
		}
	}
	// Help is for anyone.
	help := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", mydocker, "run", "--help")
	if out, err := help.CombinedOutput(); err != nil || !strings.Contains(string(out), "mydocker run") {
		t.Errorf("run --help as nobody: %v, %q", err, out)
	}
}

func TestSignalledCommandGives128PlusN(t *testing.T) {
	cmd := exec.Command(mydocker, "run", "/bin/sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, cmd)
	// The container's PID 1 ignores SIGKILL sent from inside its own PID
	// namespace; from the host it dies like any process.
	child := waitForChild(t, cmd.Process.Pid, "sleep")
	syscall.Kill(child, syscall.SIGKILL)
	err := cmd.Wait()
	if got := statusOf(t, cmd, err); got != 137 {
		t.Errorf("status %d, want 137", got)
	}
}

// killOnFailure makes sure a mydocker the test started is gone when the
// test ends, whatever happened (SIGKILL takes its container with it). It
// is also the test's watchdog: a mydocker still running after
// watchdogLimit means the behaviour under test did not happen (a signal
// not forwarded, say); it is killed, which ends every read of its output
// and every wait for it, and the test fails saying so instead of hanging.
// watchdogLimit bounds a test's wait for a mydocker it started: far more
// than any behaviour here needs (even in the cgroup v2 VM, which emulates
// its CPU), far less than go test's own timeout.
const watchdogLimit = 30 * time.Second

func killOnFailure(t *testing.T, cmd *exec.Cmd) {
	watchdog := time.AfterFunc(watchdogLimit, func() {
		t.Errorf("mydocker %q still running after %v: what the test waits for did not happen; killed", cmd.Args[1:], watchdogLimit)
		cmd.Process.Kill()
	})
	t.Cleanup(func() {
		watchdog.Stop()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
}

// waitForChild returns the PID (on the host) of mydocker's container once
// its PID 1 runs comm. The name matters: Go's os/exec briefly forks a
// throw-away child of its own (a pidfd probe), and killing that one instead
// of the container would leave the test waiting forever.
func waitForChild(t *testing.T, pid int, comm string) int {
	t.Helper()
	// Go forks from whichever thread it is on: look at every thread's children.
	pattern := fmt.Sprintf("/proc/%d/task/*/children", pid)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		paths, _ := filepath.Glob(pattern)
		for _, path := range paths {
			data, _ := os.ReadFile(path)
			for _, f := range strings.Fields(string(data)) {
				name, _ := os.ReadFile("/proc/" + f + "/comm")
				if strings.TrimSpace(string(name)) == comm {
					child, _ := strconv.Atoi(f)
					return child
				}
			}
		}
	}
	t.Fatalf("mydocker (pid %d) started no container running %s", pid, comm)
	return 0
}

func TestArgvSurvivesExactly(t *testing.T) {
	args := []string{"two  spaces", "", `"double"`, "'single'", "line\nbreak", "\\back", " ", "\xe9t\xe9", "-l", "--help"}
	out := mustRun(t, append([]string{"run", "/usr/bin/printf", `%s\0`}, args...)...)
	got := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
	if len(got) != len(args) {
		t.Fatalf("got %d arguments %q, want %q", len(got), got, args)
	}
	for i := range args {
		if got[i] != args[i] {
			t.Errorf("argument %d: got %q, want %q", i, got[i], args[i])
		}
	}
}

func TestFlagsAfterCommandBelongToCommand(t *testing.T) {
	out := mustRun(t, "run", "-ti", "/bin/ls", "-d", "-1", "/")
	if out != "/\n" {
		t.Errorf("ls -d -1 / gave %q", out)
	}
}

func TestStdinAttachedOnlyWithInteractive(t *testing.T) {
	for _, flags := range [][]string{{"-i"}, {"-ti"}, {"-it"}, {"-i", "-t"}, {"--interactive"}} {
		r := run(t, strings.NewReader("hello\n"), append(append([]string{"run"}, flags...), "/bin/cat")...)
		if r.status != 0 || r.stdout != "hello\n" {
			t.Errorf("%v: cat got %q (status %d, stderr %q)", flags, r.stdout, r.status, r.stderr)
		}
	}
	for _, flags := range [][]string{{}, {"-t"}} {
		r := run(t, strings.NewReader("hello\n"), append(append([]string{"run"}, flags...), "/bin/cat")...)
		if r.status != 0 || r.stdout != "" {
			t.Errorf("%v: stdin should be /dev/null, cat got %q (status %d)", flags, r.stdout, r.status)
		}
	}
}

func TestStdoutFreeOfLogs(t *testing.T) {
	r := run(t, nil, "--log-level", "debug", "run", "/bin/echo", "hi")
	if r.status != 0 || r.stdout != "hi\n" {
		t.Errorf("stdout %q (status %d), want only the command's output", r.stdout, r.status)
	}
	// The book's trace is on stderr, as JSON by default.
	if !strings.Contains(r.stderr, `"msg":"init come on"`) || !strings.Contains(r.stderr, "/bin/echo") {
		t.Errorf("stderr lacks the book's trace: %q", r.stderr)
	}
}

func TestLogFormatAndLevelFromEnvironment(t *testing.T) {
	cmd := exec.Command(mydocker, "--log-format", "text", "run", "/bin/true")
	cmd.Env = append(os.Environ(), "MYDOCKER_LOG_LEVEL=info")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `level=info msg="init come on"`) {
		t.Errorf("text logs at info level: %v\n%s", err, out)
	}
	r := run(t, nil, "run", "/bin/true")
	if r.stderr != "" {
		t.Errorf("default level warn should log nothing here, got %q", r.stderr)
	}
}

func TestSignalReachesContainer(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1} {
		t.Run(sig.String(), func(t *testing.T) {
			name := strings.ToUpper(strings.TrimPrefix(sigName(sig), "SIG"))
			cmd := exec.Command(mydocker, "run", "/bin/sh", "-c",
				`trap "echo got `+name+`; exit 7" `+name+`; echo ready; while :; do sleep 0.05; done`)
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killOnFailure(t, cmd)
			lines := bufio.NewScanner(stdout)
			if !lines.Scan() || lines.Text() != "ready" {
				t.Fatalf("container did not start: %q", lines.Text())
			}
			cmd.Process.Signal(sig)
			lines.Scan()
			got := lines.Text()
			err := cmd.Wait()
			if status := statusOf(t, cmd, err); status != 7 || got != "got "+name {
				t.Errorf("after %v: output %q, status %d; want %q, 7", sig, got, status, "got "+name)
			}
		})
	}
}

func sigName(sig syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGTERM: "TERM", syscall.SIGINT: "INT", syscall.SIGHUP: "HUP", syscall.SIGUSR1: "USR1"}[sig]
}

func TestTwentyContainersAtOnce(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := exec.Command(mydocker, "run", "/bin/sh", "-c", fmt.Sprintf("echo $$ %d; exit %d", i, i)).Output()
			status := 0
			if ee, ok := err.(*exec.ExitError); ok {
				status = ee.ExitCode()
			}
			if string(out) != fmt.Sprintf("1 %d\n", i) || status != i {
				errs <- fmt.Sprintf("container %d: output %q, status %d (%v)", i, out, status, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestHiddenInitAndVersion(t *testing.T) {
	help := mustRun(t, "--help")
	if !strings.Contains(help, "run") || strings.Contains(help, "init") {
		t.Errorf("--help should list run and not init:\n%s", help)
	}
	if v := mustRun(t, "--version"); !strings.HasPrefix(v, "mydocker version ") {
		t.Errorf("--version: %q", v)
	}
}

// TestDefaultRuntimeDirLeftAsFound: the suite keeps its containers in a
// runtime directory of its own; a run with the defaults uses the host's
// /run/mydocker, and leaves it as it found it (compared, not required
// empty: the user's own containers may be there).
func TestDefaultRuntimeDirLeftAsFound(t *testing.T) {
	const hostDir = "/run/mydocker"
	list := func() string {
		entries, _ := os.ReadDir(hostDir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		work, _ := os.ReadDir(filepath.Join(hostDir, ".work"))
		for _, e := range work {
			names = append(names, ".work/"+e.Name())
		}
		return strings.Join(names, " ")
	}
	_, err := os.Stat(hostDir)
	wasThere := err == nil
	before := list()
	cmd := exec.Command(mydocker, "--root", t.TempDir(), "run", "/bin/sh", "-c", "echo ran")
	cmd.Env = withoutEnv("MYDOCKER_RUNTIME_DIR")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "ran\n" {
		t.Fatalf("run with the default runtime directory: %v, %q", err, out)
	}
	if !wasThere {
		// Made by this run: its lock and directories go, as they came.
		for _, f := range []string{".lock", ".names", ".work", ""} {
			os.Remove(filepath.Join(hostDir, f)) // only if empty
		}
		if _, err := os.Stat(hostDir); err == nil {
			t.Errorf("%s left behind by a run on a host that had none: %s", hostDir, list())
		}
		return
	}
	if after := list(); after != before {
		t.Errorf("%s changed by one run: before %q, after %q", hostDir, before, after)
	}
}

// withoutEnv is this process's environment without the variable name.
func withoutEnv(name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, name+"=") {
			env = append(env, kv)
		}
	}
	return env
}
