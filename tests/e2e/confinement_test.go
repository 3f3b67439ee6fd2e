package e2e

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// markEnv is a KEY=VALUE unique to this test, given to containers with -e
// so that their processes can be found on the host by their environment
// (never by name: other processes on the machine may share it).
func markEnv(t *testing.T) string {
	return fmt.Sprintf("MYDOCKER_TEST_MARK=%s-%d-%d", t.Name(), os.Getpid(), time.Now().UnixNano())
}

// processesWithEnv lists the host PIDs whose environment holds mark.
func processesWithEnv(mark string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		env, err := os.ReadFile(dir + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == mark {
				pid, _ := strconv.Atoi(filepath.Base(dir))
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// expectNoSurvivors fails when a process marked with mark is still alive
// 15 seconds after its mydocker died (the death signal is asynchronous),
// and kills the survivors by PID so that nothing is left on the host.
func expectNoSurvivors(t *testing.T, mark string) {
	t.Helper()
	var pids []int
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if pids = processesWithEnv(mark); len(pids) == 0 {
			return
		}
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	t.Errorf("container processes %v outlived their killed mydocker (killed now by the test)", pids)
}

func TestInheritedDescriptorsDoNotReachCommand(t *testing.T) {
	needImage(t)
	// A directory of the host, open in mydocker's caller at fd 3 and fd 9
	// (not close-on-exec), must not be reachable from inside: through it
	// the host's files would be (runc's CVE-2024-21626).
	marker := filepath.Join(t.TempDir(), "host-dir-marker")
	os.Mkdir(marker, 0o755)
	dir, err := os.Open(marker)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	list := "ls -l /proc/self/fd/ && readlink /proc/1/fd/* || true"
	cases := map[string][]string{
		"image":         {"--root", storeRoot, "run", "busybox", "sh", "-c", list},
		"image --init":  {"--root", storeRoot, "run", "--init", "busybox", "sh", "-c", list},
		"host":          {"run", "/bin/sh", "-c", list},
		"host --init":   {"run", "--init", "/bin/sh", "-c", list},
		"image -i":      {"--root", storeRoot, "run", "-i", "busybox", "sh", "-c", list},
		"host --memory": {"run", "-m", "64m", "/bin/sh", "-c", list},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(mydocker, args...)
			cmd.ExtraFiles = []*os.File{dir, nil, nil, nil, nil, nil, dir} // fds 3 and 9
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("mydocker %q: %v\n%s", args, err, out)
			}
			if strings.Contains(string(out), "host-dir-marker") {
				t.Errorf("a descriptor inherited from mydocker's caller reached the command:\n%s", out)
			}
		})
	}
}

func TestKilledMydockerNeverLeavesAContainer(t *testing.T) {
	needImage(t)
	// mydocker SIGKILLed at random moments of a container's start: before,
	// during and after init's set-up. Every time, the container must die
	// with it, and the next run must clean what was left.
	mark := markEnv(t)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	const runs = 120
	for i := 0; i < runs; i++ {
		args := []string{"--root", storeRoot, "run", "-e", mark, "-m", "32m", "busybox", "sleep", "30"}
		if i%4 == 1 {
			args = []string{"run", "-e", mark, "/bin/sleep", "30"}
		} else if i%4 == 2 {
			args = []string{"--root", storeRoot, "run", "--init", "-e", mark, "busybox", "sleep", "30"}
		}
		cmd := exec.Command(mydocker, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Intn(25000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	expectNoSurvivors(t, mark)
	mustRunInImage(t, "run", "-m", "32m", "busybox", "true")
	checkNoCgroupLeft(t)
}

// status reads fields of /proc/self/status as the container's command
// sees them.
func status(t *testing.T, args ...string) map[string]string {
	t.Helper()
	r := run(t, nil, append(args, "/bin/cat", "/proc/self/status")...)
	if r.status != 0 {
		t.Fatalf("mydocker %q: status %d: %s", args, r.status, r.stderr)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

func hostBoundingSet(t *testing.T) uint64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return 0
}

func TestCapabilitySets(t *testing.T) {
	needImage(t)
	rootfs := busyboxRootfs(t)
	const docker = 0xa80425fb // docker's 14 default capabilities
	host := hostBoundingSet(t)
	const sysAdmin, chown, netRaw = 1 << 21, 1 << 0, 1 << 13
	image := []string{"--root", storeRoot, "run"}
	cases := []struct {
		name string
		args []string
		want uint64
	}{
		{"image", append(image, "busybox"), docker},
		{"--rootfs", []string{"run", "--rootfs", rootfs}, docker},
		{"--privileged", append(image, "--privileged", "busybox"), host},
		{"--cap-add SYS_ADMIN", append(image, "--cap-add", "SYS_ADMIN", "busybox"), docker | sysAdmin},
		{"--cap-add ALL", append(image, "--cap-add", "ALL", "busybox"), host},
		{"--cap-drop ALL", append(image, "--cap-drop", "ALL", "busybox"), 0},
		{"--cap-drop ALL --cap-add net_raw", append(image, "--cap-drop", "ALL", "--cap-add", "net_raw", "busybox"), netRaw},
		{"--cap-drop CAP_CHOWN", append(image, "--cap-drop", "CAP_CHOWN", "busybox"), docker &^ chown},
		{"host files", []string{"run"}, host},
		{"host files --cap-drop ALL", []string{"run", "--cap-drop", "ALL"}, 0},
		{"host files --cap-drop chown", []string{"run", "--cap-drop", "chown"}, host &^ chown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := status(t, c.args...)
			for _, set := range []string{"CapBnd", "CapPrm", "CapEff", "CapInh"} {
				got, _ := strconv.ParseUint(st[set], 16, 64)
				want := c.want
				if set == "CapInh" {
					want = 0 // nothing inheritable, as docker since 20.10.14
				}
				if got != want {
					t.Errorf("%s = %x, want %x", set, got, want)
				}
			}
			if st["CapAmb"] != "0000000000000000" {
				t.Errorf("ambient capabilities %s, want none", st["CapAmb"])
			}
		})
	}
}

func TestSeccompFilter(t *testing.T) {
	needImage(t)
	profile := filepath.Join(t.TempDir(), "no-mkdir.json")
	os.WriteFile(profile, []byte(`{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644)
	image := []string{"--root", storeRoot, "run"}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"image: docker's profile", append(image, "busybox"), "2"},
		{"--rootfs", []string{"run", "--rootfs", busyboxRootfs(t)}, "2"},
		{"seccomp=unconfined", append(image, "--security-opt", "seccomp=unconfined", "busybox"), "0"},
		{"--privileged", append(image, "--privileged", "busybox"), "0"},
		{"host files", []string{"run"}, "0"},
		{"host files, seccomp=builtin", []string{"run", "--security-opt", "seccomp=builtin"}, "2"},
		{"profile file", append(image, "--security-opt", "seccomp="+profile, "busybox"), "2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := status(t, c.args...)["Seccomp"]; got != c.want {
				t.Errorf("Seccomp: %s, want %s (2: filtered, 0: not)", got, c.want)
			}
		})
	}
	// The filter blocks what capabilities alone would not: a new user
	// namespace needs no capability at all.
	r := inImage(t, "run", "busybox", "unshare", "-U", "true")
	if r.status == 0 {
		t.Error("a new user namespace was created inside the container (docker's profile refuses unshare(CLONE_NEWUSER))")
	}
	// A profile of the user's own, in docker's format, is what applies.
	r = inImage(t, "run", "--security-opt", "seccomp="+profile, "busybox", "mkdir", "/made")
	if r.status == 0 || !strings.Contains(r.stderr, "not permitted") {
		t.Errorf("mkdir under a profile that refuses it: status %d, %q", r.status, r.stderr)
	}
	mustRunInImage(t, "run", "busybox", "mkdir", "/made")
}

// TestSeccompAdmits32BitCalls runs a 32-bit program (testdata/compat32,
// built here for 386) under docker's profile: its calls come through
// int 0x80 with i386's numbers, and the profile applies to them as to the
// machine's own, as under docker. Without the filter its unshare fails
// otherwise (EINVAL: the program has threads), never with EPERM.
func TestSeccompAdmits32BitCalls(t *testing.T) {
	needImage(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("the 32-bit program is built for 386, run by an amd64 kernel")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "compat32"), "./testdata/compat32")
	build.Env = append(os.Environ(), "GOARCH=386", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the 32-bit program: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name    string
		opts    []string
		unshare string
	}{
		{"docker's profile", nil, "operation not permitted"},
		{"unconfined", []string{"--security-opt", "seccomp=unconfined"}, "invalid argument"},
	} {
		args := append(append([]string{"run"}, c.opts...), "-v", dir+":/c:ro", "busybox", "/c/compat32")
		r := inImage(t, args...)
		want := "getpid: true\nunshare(CLONE_NEWUSER): " + c.unshare + "\n"
		if r.status != 0 || r.stdout != want {
			t.Errorf("a 32-bit program, %s: status %d, stdout %q, want %q (stderr %.300q)", c.name, r.status, r.stdout, want, r.stderr)
		}
	}
}

func TestNoNewPrivileges(t *testing.T) {
	needImage(t)
	image := []string{"--root", storeRoot, "run"}
	for opt, want := range map[string]string{"": "0", "no-new-privileges": "1", "no-new-privileges=true": "1",
		"no-new-privileges:true": "1", "no-new-privileges=false": "0"} {
		args := append(image, "busybox")
		if opt != "" {
			args = append(image, "--security-opt", opt, "busybox")
		}
		if got := status(t, args...)["NoNewPrivs"]; got != want {
			t.Errorf("--security-opt %q: NoNewPrivs %s, want %s", opt, got, want)
		}
	}
}

func TestKernelFilesProtected(t *testing.T) {
	needImage(t)
	// Harmless whatever happens: the current value is written back.
	probe := `v=$(cat /proc/sys/kernel/core_pattern) && echo "$v" > /proc/sys/kernel/core_pattern && echo WROTE`
	r := inImage(t, "run", "busybox", "sh", "-c", probe)
	if strings.Contains(r.stdout, "WROTE") || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("/proc/sys is writable inside the container: %q %q", r.stdout, r.stderr)
	}
	if r := inImage(t, "run", "--privileged", "busybox", "sh", "-c", probe); !strings.Contains(r.stdout, "WROTE") {
		t.Errorf("--privileged: /proc/sys should be writable: %q %q", r.stdout, r.stderr)
	}
	// Masked files read as empty; the host has at least some of them.
	checked := 0
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats"} {
		if data, err := os.ReadFile(p); err != nil || len(data) == 0 {
			continue
		}
		checked++
		if out := mustRunInImage(t, "run", "busybox", "sh", "-c", "head -c 1 "+p+" | wc -c"); strings.TrimSpace(out) != "0" {
			t.Errorf("%s is not masked inside the container", p)
		}
	}
	for _, d := range []string{"/proc/acpi", "/sys/firmware", "/proc/scsi"} {
		if entries, err := os.ReadDir(d); err != nil || len(entries) == 0 {
			continue
		}
		checked++
		if out := mustRunInImage(t, "run", "busybox", "ls", "-A", d); out != "" {
			t.Errorf("%s is not masked inside the container: %q", d, out)
		}
	}
	if checked == 0 {
		t.Fatal("the host has none of the masked files: nothing was checked")
	}
}

func TestNoMountNoUserNamespaceNoBlockDevice(t *testing.T) {
	needImage(t)
	if r := inImage(t, "run", "busybox", "mount", "-t", "tmpfs", "t", "/mnt"); r.status == 0 {
		t.Error("mount worked inside the container")
	}
	if r := inImage(t, "run", "busybox", "unshare", "-U", "-r", "true"); r.status == 0 {
		t.Error("a user namespace was created inside the container")
	}
	// A block device of the host, by its numbers: the container may make
	// the node (CAP_MKNOD, as in docker) but never read it. Read, never
	// written, so the probe is harmless even if the rule is missing.
	devs, _ := filepath.Glob("/sys/dev/block/*")
	if len(devs) == 0 {
		t.Fatal("no block device on the host to probe with")
	}
	maj, min, _ := strings.Cut(filepath.Base(devs[0]), ":")
	r := inImage(t, "run", "busybox", "sh", "-c", fmt.Sprintf("mknod /blk b %s %s && head -c 1 /blk | wc -c", maj, min))
	if strings.TrimSpace(r.stdout) != "0" || !strings.Contains(r.stderr, "not permitted") {
		t.Errorf("block device %s:%s readable inside the container: %q %q", maj, min, r.stdout, r.stderr)
	}
	// The usual devices still work.
	if out := mustRunInImage(t, "run", "busybox", "sh", "-c", "echo x > /dev/null && head -c 4 /dev/urandom | wc -c"); strings.TrimSpace(out) != "4" {
		t.Errorf("/dev/null or /dev/urandom unusable: %q", out)
	}
	// --privileged: the host's devices, readable.
	r = inImage(t, "run", "--privileged", "busybox", "sh", "-c", "ls /dev/ | wc -l")
	if n, _ := strconv.Atoi(strings.TrimSpace(r.stdout)); n < 20 {
		t.Errorf("--privileged: the host's devices should be in /dev, found %d entries", n)
	}
}

func TestSecurityBadInput(t *testing.T) {
	needImage(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	unknown := filepath.Join(t.TempDir(), "unknown-op.json")
	os.WriteFile(unknown, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_BOGUS"}]}]}`), 0o644)
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"--cap-add", "bogus"}, "unknown capability"},
		{[]string{"--cap-drop", "CAP_NOPE"}, "unknown capability"},
		{[]string{"--security-opt", "apparmor=unconfined"}, "security-opt"},
		{[]string{"--security-opt", "no-new-privileges=maybe"}, "true or false"},
		{[]string{"--security-opt", "seccomp="}, "seccomp="},
		{[]string{"--security-opt", "seccomp=/no/such/profile.json"}, "no such file"},
		{[]string{"--security-opt", "seccomp=" + bad}, "not valid JSON"},
		{[]string{"--security-opt", "seccomp=" + unknown}, "not supported"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			args := append(append([]string{"run"}, c.args...), "busybox", "true")
			expectFailure(t, inImage(t, args...), 125, c.msg)
			checkNoCgroupLeft(t)
		})
	}
}

func TestSysFsCgroupShowsOwnLimitsReadOnly(t *testing.T) {
	needImage(t)
	// v1 keeps the limit in memory/memory.limit_in_bytes, v2 in memory.max.
	script := `cat /proc/self/cgroup
f=/sys/fs/cgroup/memory.max; [ -e $f ] || f=/sys/fs/cgroup/memory/memory.limit_in_bytes
echo "limit=$(cat $f)"
v=$(cat $f) && echo "$v" > $f && echo WROTE`
	r := inImage(t, "run", "-m", "64m", "busybox", "sh", "-c", script)
	if !strings.Contains(r.stdout, "limit=67108864\n") {
		t.Errorf("the container cannot read its own memory limit in /sys/fs/cgroup: %q %q", r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "WROTE") || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("/sys/fs/cgroup is writable inside the container: %q %q", r.stdout, r.stderr)
	}
	// Its own cgroup namespace: every path in /proc/self/cgroup is "/".
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if parts := strings.SplitN(line, ":", 3); len(parts) == 3 && parts[2] != "/" {
			t.Errorf("/proc/self/cgroup shows the host's tree: %q", line)
		}
	}
}

func TestInitThreadsAllConfined(t *testing.T) {
	needImage(t)
	// With --init, mydocker's init stays as PID 1, a Go process with
	// several threads: every one must be as confined as the command. Each
	// thread's status is one block: the runtime may start a thread while
	// the loop runs (it inherits its creator's confinement), or end one.
	out := mustRunInImage(t, "run", "--init", "--security-opt", "no-new-privileges", "busybox", "sh", "-c",
		`for task in /proc/1/task/*; do echo "thread $task"; grep -hE '^(CapEff|CapBnd|CapPrm|Seccomp|NoNewPrivs):' $task/status; done`)
	threads := 0
	for _, block := range strings.Split(out, "thread ")[1:] {
		name, status, _ := strings.Cut(block, "\n")
		if status == "" {
			continue // it ended before its status was read
		}
		threads++
		for _, want := range []string{"CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb", "CapPrm:\t00000000a80425fb", "Seccomp:\t2", "NoNewPrivs:\t1"} {
			if !strings.Contains(status, want+"\n") {
				t.Errorf("init's thread %s does not have %q:\n%s", name, want, status)
			}
		}
	}
	if threads < 2 {
		t.Fatalf("init has %d threads: nothing to check (%q)", threads, out)
	}
}
