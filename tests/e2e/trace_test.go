package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// traceSteps returns the trace lines of stderr, "[section] call = result".
func traceSteps(stderr string) []string {
	var steps []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "[") {
			steps = append(steps, line)
		}
	}
	return steps
}

// expectInOrder checks that each pattern matches a step, after the step
// the previous one matched.
func expectInOrder(t *testing.T, steps []string, patterns ...string) {
	t.Helper()
	i := 0
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for i < len(steps) && !re.MatchString(steps[i]) {
			i++
		}
		if i == len(steps) {
			t.Errorf("no step %q in order in the trace:\n%s", p, strings.Join(steps, "\n"))
			return
		}
		i++
	}
}

func TestTraceHostFilesRun(t *testing.T) {
	r := run(t, nil, "--trace", "run", "/bin/echo", "hi")
	if r.status != 0 || r.stdout != "hi\n" {
		t.Fatalf("status %d, stdout %q (the trace goes to stderr only)", r.status, r.stdout)
	}
	expectInOrder(t, traceSteps(r.stderr),
		`^\[3\.1\] clone\(CLONE_NEWUTS\|CLONE_NEWPID\|CLONE_NEWNS\|CLONE_NEWNET\|CLONE_NEWIPC\).* = \d+$`,
		`^\[3\.3\] read\(fd 3, the pipe from run: 2 arguments and the config\) = 0   # argv as NUL-ended records`,
		`^\[3\.1\] mount\("", "/", "", MS_REC\|MS_PRIVATE, ""\) = 0   # not in the book`,
		`^\[3\.1\] mount\("proc", "/proc", "proc", MS_NOSUID\|MS_NODEV\|MS_NOEXEC, ""\) = 0$`,
		`^\[beyond the book\] close_range`,
		`^\[3\.1\] execve\("/bin/echo", \["/bin/echo" "hi"\]\) = \.\.\.$`)
	// MYDOCKER_TRACE=1 is the same switch; without either, no step.
	cmd := run(t, nil, "run", "/bin/true")
	if steps := traceSteps(cmd.stderr); len(steps) != 0 {
		t.Errorf("steps printed without --trace: %q", steps)
	}
	os.Setenv("MYDOCKER_TRACE", "1")
	r = run(t, nil, "run", "/bin/true")
	os.Unsetenv("MYDOCKER_TRACE")
	if len(traceSteps(r.stderr)) == 0 {
		t.Errorf("MYDOCKER_TRACE=1 printed no step: %q", r.stderr)
	}
}

func TestTraceImageRunWithLimitsAndVolume(t *testing.T) {
	needImage(t)
	dir := t.TempDir()
	r := run(t, nil, "--trace", "run", "-m", "64m", "-v", dir+":/data", "busybox", "touch", "/data/x")
	if r.status != 0 {
		t.Fatalf("status %d: %s", r.status, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err != nil {
		t.Errorf("the traced container did not run: %v", err)
	}
	expectInOrder(t, traceSteps(r.stderr),
		`^\[5\.2\] write .*/[0-9a-f]{12} = 0`,
		`^\[3\.2\] mkdir .*mydocker-[0-9a-f]{12} = 0$`,
		`^\[3\.2\] write .*/memory\.(limit_in_bytes|max) "67108864" = 0$`,
		`^\[3\.1\] clone`,
		`^\[4\.2\] mount\("overlay", .*lowerdir=.*# the book mounts AUFS`,
		`^\[3\.1\] mount\("proc"`,
		`^\[4\.3\] mount\("`+regexp.QuoteMeta(dir)+`", "/proc/self/fd/\d+", "", MS_BIND\|MS_REC, ""\) = 0   # /data, opened inside the root`,
		`^\[4\.1\] pivot_root\("\.", "\."\) = 0`,
		`^\[4\.1\] umount2`,
		`^\[beyond the book\] seccomp\(`,
		`^\[beyond the book\] capset\(`,
		`^\[3\.1\] execve\("/bin/touch", \["touch" "/data/x"\]\) = \.\.\.$`)
}

// TestTraceFailingStep: a step the kernel refuses shows with its error,
// then the usual message, and the run ends with 125. In a network lab:
// the network's bridge replaced by a veth pair of the same name, which
// no veth can be enslaved to.
func TestTraceFailingStep(t *testing.T) {
	lab := newNetLab(t)
	lab.mustMd("network", "create", "--subnet", "192.168.30.0/24", "broken")
	var bridge string
	for _, l := range lab.links() {
		if strings.HasPrefix(l, "mdbr") {
			bridge = l
		}
	}
	lab.inHost("sh", "-c", "ip link del "+bridge+" && ip link add "+bridge+" type veth peer name mdcheckpeer")
	r := lab.md("--trace", "run", "--net", "broken", "busybox", "true")
	steps := traceSteps(r.stderr)
	expectInOrder(t, steps, `^\[6\.3\] allocate 192\.168\.30\.2`, `^\[3\.1\] clone`,
		`^\[6\.5\] ip link add mdv[0-9a-f]{12} master `+bridge+` type veth peer name eth0 address 02:42(:[0-9a-f]{2}){4} netns \d+ = -1 E[A-Z]+ \(`)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.status != 125 || !strings.HasPrefix(lines[len(lines)-1], "mydocker: ") {
		t.Errorf("status %d, last line %q: want 125 and the usual message after the failed step", r.status, lines[len(lines)-1])
	}
	for _, s := range steps {
		if strings.HasPrefix(s, "[3.1] execve(") {
			t.Errorf("a step after the failure: %s", s)
		}
	}
	lab.inHost("ip", "link", "del", bridge)
	lab.mustMd("network", "rm", "broken")
}

// TestTraceDetached: run -d says it starts a monitor; the monitor's and
// the container's steps are in the container's log.
func TestTraceDetached(t *testing.T) {
	needImage(t)
	r := run(t, nil, "--trace", "run", "-d", "busybox", "true")
	id := strings.TrimSpace(r.stdout)
	t.Cleanup(func() { run(t, nil, "rm", "-f", id) })
	if r.status != 0 {
		t.Fatalf("status %d: %s", r.status, r.stderr)
	}
	expectInOrder(t, traceSteps(r.stderr), `^\[5\.1\] fork and exec a monitor \(setsid\): mydocker --trace run -d busybox true = \d+`)
	waitStatus(t, id, "Exited")
	expectInOrder(t, traceSteps(mustRun(t, "logs", id)),
		`^\[5\.2\] write `, `^\[3\.1\] clone`, `^\[4\.2\] mount\("overlay"`, `^\[4\.1\] pivot_root`, `^\[3\.1\] execve\("/bin/true"`)
}

// TestTraceExecAndStop: exec enters through setns (5.4), stop signals
// (5.5), each step from its call site.
func TestTraceExecAndStop(t *testing.T) {
	id := detached(t, "busybox", "sleep", "1000")
	waitStatus(t, id, "Up ")
	r := run(t, nil, "--trace", "exec", id, "true")
	if r.status != 0 {
		t.Fatalf("exec: %d %s", r.status, r.stderr)
	}
	expectInOrder(t, traceSteps(r.stderr),
		`^\[5\.4\] unshare\(CLONE_FS\) = 0`,
		`^\[5\.4\] setns\(pidfd \d+ of PID \d+, CLONE_NEWUTS\|CLONE_NEWPID\|CLONE_NEWNS\|CLONE_NEWNET\|CLONE_NEWIPC\|CLONE_NEWCGROUP\) = 0`,
		`^\[5\.4\] fork and execve`,
		`^\[3\.1\] execve\("/bin/true"`)
	r = run(t, nil, "--trace", "stop", "-t", "1", id)
	expectInOrder(t, traceSteps(r.stderr), `^\[5\.5\] kill\(\d+, SIGTERM\) = 0`, `^\[5\.5\] kill\(\d+, SIGKILL\) = 0`)
}
