package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupV2 tells the host's layout: a cgroup2 file at the top of
// /sys/fs/cgroup means a pure v2 host; otherwise v1 (or hybrid, whose
// controllers are in v1).
func cgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// cgroupDir is the directory of pid's cgroup for controller, found from
// the outside, independently of mydocker's own code.
func cgroupDir(t *testing.T, pid int, controller string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if cgroupV2() && parts[0] == "0" {
			return filepath.Join("/sys/fs/cgroup", parts[2])
		}
		for _, c := range strings.Split(parts[1], ",") {
			if !cgroupV2() && c == controller {
				return filepath.Join("/sys/fs/cgroup", controller, parts[2])
			}
		}
	}
	t.Fatalf("no %s cgroup for pid %d in:\n%s", controller, pid, data)
	return ""
}

// leftoverCgroups lists the mydocker cgroups under /sys/fs/cgroup that the
// tests may have left: those whose container's state is in the tests' own
// runtime directory, and those no live mydocker holds (see cgroups.Manager:
// each holds its cgroups with an flock) that were not already stale when
// the suite began. A held cgroup of another container is the host's: a
// container of the user's, running beside the suite, none of its business.
func leftoverCgroups() []string {
	var found []string
	for _, dir := range mydockerCgroups() {
		id := strings.TrimPrefix(filepath.Base(dir), "mydocker-")
		if _, err := os.Lstat(filepath.Join(runtimeDir, id)); err == nil {
			found = append(found, dir)
		} else if !cgroupHeld(dir) && !staleAtStart[dir] {
			found = append(found, dir)
		}
	}
	return found
}

// staleAtStart are the unheld mydocker cgroups the host had before the
// suite began (TestMain).
var staleAtStart = map[string]bool{}

func noteStaleCgroups() {
	for _, dir := range mydockerCgroups() {
		if !cgroupHeld(dir) {
			staleAtStart[dir] = true
		}
	}
}

// mydockerCgroups lists every mydocker cgroup on the host.
func mydockerCgroups() []string {
	var found []string
	filepath.WalkDir("/sys/fs/cgroup", func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && strings.HasPrefix(d.Name(), "mydocker-") {
			found = append(found, path)
			return filepath.SkipDir
		}
		return nil
	})
	return found
}

// cgroupHeld: a live mydocker holds the cgroup directory's flock.
func cgroupHeld(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false // gone
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil
}

func checkNoCgroupLeft(t *testing.T) {
	t.Helper()
	if left := leftoverCgroups(); len(left) > 0 {
		t.Errorf("cgroups left behind: %v", left)
	}
}

// readCgroupFile reads one file of a running container's cgroup.
func readCgroupFile(t *testing.T, pid int, controller, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cgroupDir(t, pid, controller), name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestCgroupLimitsLandInTheContainersCgroup(t *testing.T) {
	online := "0"
	for _, spelling := range [][]string{
		{"-m", "64m", "-cpushare", "512", "--cpus", "0.5", "-cpuset", online, "--pids-limit", "50"},
		{"--memory", "64MiB", "--cpu-shares", "512", "--cpus", "0.5", "--cpuset-cpus", online, "--pids-limit", "50"},
	} {
		args := append(append([]string{"run", "-i"}, spelling...), "/bin/sh", "-c", "echo ready; read line; true")
		cmd := exec.Command(mydocker, args...)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killOnFailure(t, cmd)
		if sc := bufio.NewScanner(stdout); !sc.Scan() || sc.Text() != "ready" {
			t.Fatalf("%v: container did not start", spelling)
		}
		pid := waitForChild(t, cmd.Process.Pid, "sh")
		want := map[[2]string]string{
			{"memory", "memory.limit_in_bytes"}: "67108864",
			{"cpu", "cpu.shares"}:               "512",
			{"cpu", "cpu.cfs_quota_us"}:         "50000",
			{"cpu", "cpu.cfs_period_us"}:        "100000",
			{"cpuset", "cpuset.cpus"}:           online,
			{"pids", "pids.max"}:                "50",
		}
		if cgroupV2() {
			want = map[[2]string]string{
				{"", "memory.max"}:  "67108864",
				{"", "cpu.weight"}:  "20",
				{"", "cpu.max"}:     "50000 100000",
				{"", "cpuset.cpus"}: online,
				{"", "pids.max"}:    "50",
			}
		}
		for file, value := range want {
			if got := readCgroupFile(t, pid, file[0], file[1]); got != value {
				t.Errorf("%v: %s = %q, want %q", spelling, file[1], got, value)
			}
		}
		if dir := cgroupDir(t, pid, "pids"); !strings.HasPrefix(filepath.Base(dir), "mydocker-") {
			t.Errorf("the container's cgroup %s is not named after it", dir)
		}
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("%v: %v", spelling, err)
		}
	}
	checkNoCgroupLeft(t)
}

func TestCgroupMemoryLimitOOMKills(t *testing.T) {
	// tail keeps the whole newline-free stream in memory.
	r := run(t, nil, "run", "-m", "32m", "/bin/sh", "-c", "head -c 400000000 /dev/zero | tail")
	if r.status != 137 {
		t.Errorf("status %d, want 137 (stderr %q)", r.status, r.stderr)
	}
	if !strings.Contains(r.stderr, "mydocker: killed: out of memory, limit 32MiB") {
		t.Errorf("no OOM message on stderr: %q", r.stderr)
	}
	// Below the limit, the same work succeeds.
	if r := run(t, nil, "run", "-m", "32m", "/bin/sh", "-c", "head -c 4000000 /dev/zero | tail | wc -c"); r.status != 0 || strings.TrimSpace(r.stdout) != "4000000" {
		t.Errorf("under the limit: status %d, %q", r.status, r.stdout)
	}
	checkNoCgroupLeft(t)
}

func TestCgroupCPUQuotaThrottles(t *testing.T) {
	// The container reads its own cpu.stat after a busy loop: with a quota
	// of a tenth of a CPU the kernel must have throttled it.
	cpuStat := `/sys/fs/cgroup/cpu$(grep -E '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' /proc/self/cgroup | cut -d: -f3)/cpu.stat`
	if cgroupV2() {
		cpuStat = `/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/cpu.stat`
	}
	script := `i=0; while [ $i -lt 50000 ]; do i=$((i+1)); done; cat ` + cpuStat
	out := mustRun(t, "run", "--cpus", "0.1", "/bin/sh", "-c", script)
	throttled := -1
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "nr_throttled" {
			throttled, _ = strconv.Atoi(f[1])
		}
	}
	if throttled <= 0 {
		t.Errorf("a busy loop under --cpus 0.1 was never throttled:\n%s", out)
	}
	checkNoCgroupLeft(t)
}

func TestCgroupPidsLimitStopsForks(t *testing.T) {
	script := `for i in $(seq 1 40); do sleep 1000 & done; echo all-started`
	r := run(t, nil, "run", "--pids-limit", "10", "/bin/sh", "-c", script)
	if strings.Contains(r.stdout, "all-started") || r.status == 0 {
		t.Errorf("40 processes started under --pids-limit 10: status %d, %q", r.status, r.stdout)
	}
	if !strings.Contains(strings.ToLower(r.stderr), "fork") {
		t.Errorf("no fork failure reported: %q", r.stderr)
	}
	// The same script without the limit, killed at once, starts them all.
	r = run(t, nil, "run", "--pids-limit", "100", "/bin/sh", "-c", script)
	if !strings.Contains(r.stdout, "all-started") {
		t.Errorf("--pids-limit 100 stopped 41 processes: %q %q", r.stdout, r.stderr)
	}
	checkNoCgroupLeft(t)
}

func TestCgroupCpusetPins(t *testing.T) {
	for _, flag := range []string{"-cpuset", "--cpuset-cpus"} {
		out := mustRun(t, "run", flag, "0", "/bin/grep", "Cpus_allowed_list", "/proc/self/status")
		if f := strings.Fields(out); len(f) != 2 || f[1] != "0" {
			t.Errorf("%s 0: %q", flag, out)
		}
	}
	checkNoCgroupLeft(t)
}

func TestCgroupFilesLoggedAtInfo(t *testing.T) {
	r := run(t, nil, "--log-level", "info", "--log-format", "text", "run", "--pids-limit", "20", "/bin/true")
	if r.status != 0 || !strings.Contains(r.stderr, `write \"20\" to `) || !strings.Contains(r.stderr, "pids.max") {
		t.Errorf("cgroup writes not logged: %q", r.stderr)
	}
}

func TestCgroupStaleRemovedByNextRun(t *testing.T) {
	// Only the cgroup this test's container leaves is its business: others
	// may belong to containers of the host's.
	others := map[string]bool{}
	for _, dir := range leftoverCgroups() {
		others[dir] = true
	}
	killMydockerWhileSleeping(t, "run", "--pids-limit", "20", "/bin/sleep", "1000")
	// The container dies with its mydocker (its death signal), but
	// asynchronously: wait, boundedly, until its cgroup is empty, which is
	// what makes it stale. A process still there is a container that
	// outlived its mydocker: a failure (killed by PID so nothing is left).
	var left []string
	for _, dir := range leftoverCgroups() {
		if !others[dir] {
			left = append(left, dir)
		}
	}
	if len(left) == 0 {
		t.Fatal("the killed mydocker left no cgroup: nothing to clean")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var procs []string
		for _, dir := range left {
			data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			procs = append(procs, strings.Fields(string(data))...)
		}
		if len(procs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, pid := range procs {
				if n, err := strconv.Atoi(pid); err == nil {
					syscall.Kill(n, syscall.SIGKILL)
				}
			}
			t.Fatalf("container outlived its killed mydocker: processes %v still in its cgroup after 10s", procs)
		}
	}
	mustRun(t, "run", "--pids-limit", "20", "/bin/true")
	checkNoCgroupLeft(t)
}

func TestCgroupBadInput(t *testing.T) {
	cases := []struct {
		flags []string
		msg   string
	}{
		{[]string{"-m", "lots"}, "invalid memory size"},
		{[]string{"-m", "-64m"}, "invalid memory size"},
		{[]string{"--memory", "1k"}, "minimum"},
		{[]string{"--cpus", "0"}, "above 0"},
		{[]string{"--cpus", "999"}, "at most"},
		{[]string{"--cpus", "half"}, "decimal"},
		{[]string{"--cpu-shares", "1"}, "CPU shares"},
		{[]string{"-cpushare", "x"}, "CPU shares"},
		{[]string{"--cpuset-cpus", "999"}, "does not exist"},
		{[]string{"-cpuset", "0-x"}, "invalid CPU list"},
		{[]string{"--pids-limit", "many"}, "pids-limit"},
		{[]string{"--pids-limit", "0"}, "pids-limit"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.flags, " "), func(t *testing.T) {
			expectFailure(t, run(t, nil, append(append([]string{"run"}, c.flags...), "/bin/true")...), 125, c.msg)
			checkNoCgroupLeft(t)
		})
	}
}

func TestCgroupOOMMessageUnderLoad(t *testing.T) {
	needImage(t)
	// Many at once: the kernel counts each kill a moment after delivering
	// it, and a busy machine reaps the container before the count lands.
	const n = 12
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		go func() {
			cmd := exec.Command(mydocker, "--root", storeRoot, "run", "-m", "16m", "busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
			var errOut strings.Builder
			cmd.Stderr = &errOut
			cmd.Run()
			results <- result{stderr: errOut.String(), status: cmd.ProcessState.ExitCode()}
		}()
	}
	for i := 0; i < n; i++ {
		r := <-results
		if r.status != 137 || !strings.Contains(r.stderr, "killed: out of memory, limit 16MiB") {
			t.Errorf("status %d, stderr %q: want 137 and the out-of-memory message", r.status, r.stderr)
		}
	}
	checkNoCgroupLeft(t)
}
