package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The OCI runtime side, mydocker-runc, driven as containerd's shim,
// conmon and the OCI's own validation suite drive it: runc's command
// line on a bundle.

// runcBinary is mydocker-runc beside the binary under test (the link
// make makes).
func runcBinary(t *testing.T) string {
	t.Helper()
	link := filepath.Join(testDir, "mydocker-runc")
	if _, err := os.Lstat(link); err != nil {
		if err := os.Symlink(mydocker, link); err != nil {
			t.Fatal(err)
		}
	}
	return link
}

// ociRoot is the tests' own --root for mydocker-runc: the host's
// /run/mydocker-runc is never looked at.
func ociRoot() string { return filepath.Join(testDir, "runc") }

// runc runs mydocker-runc with the tests' --root.
func runc(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(runcBinary(t), append([]string{"--root", ociRoot()}, args...)...)
	// Files, not pipes: a container (create, run -d, exec -d) keeps its
	// stdio, and a pipe would keep this waiting for it to end.
	dir := t.TempDir()
	stdout, _ := os.Create(filepath.Join(dir, "stdout"))
	stderr, _ := os.Create(filepath.Join(dir, "stderr"))
	defer stdout.Close()
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	out, _ := os.ReadFile(stdout.Name())
	errOut, _ := os.ReadFile(stderr.Name())
	return result{stdout: string(out), stderr: string(errOut), status: statusOf(t, cmd, err)}
}

// makeBundle writes a bundle: a copy of the busybox image's files and a
// config.json as `runc spec` writes it, with args and the changes edit
// makes.
func makeBundle(t *testing.T, args []string, edit func(*specs.Spec)) string {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if out, err := exec.Command("cp", "-a", busyboxRootfs(t), rootfs).CombinedOutput(); err != nil {
		t.Fatalf("copy rootfs: %v\n%s", err, out)
	}
	spec := defaultSpec(args)
	if edit != nil {
		edit(spec)
	}
	data, err := json.MarshalIndent(spec, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// defaultSpec is runc 1.1's `runc spec`, without a terminal.
func defaultSpec(args []string) *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Args: args, Cwd: "/",
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps, Ambient: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Hostname: "runc",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}},
			Namespaces: []specs.LinuxNamespace{
				{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"}, {Type: "cgroup"},
			},
			MaskedPaths: []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// ociState is `state ID`, decoded.
func ociState(t *testing.T, id string) (specs.State, result) {
	t.Helper()
	r := runc(t, "state", id)
	var st specs.State
	if r.status == 0 {
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("state %s: stdout is not the state's JSON alone: %v\n%s", id, err, r.stdout)
		}
	}
	return st, r
}

// noOCILeftovers fails t if id left anything: its state directory, its
// cgroup in any hierarchy, or a process.
func noOCILeftovers(t *testing.T, id string, pid int) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(ociRoot(), id)); err == nil {
		t.Errorf("container %s: its state directory is left in %s", id, ociRoot())
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/mydocker-runc-" + id)
	more, _ := filepath.Glob("/sys/fs/cgroup/mydocker-runc-" + id)
	if left := append(dirs, more...); len(left) > 0 {
		t.Errorf("container %s: its cgroup is left: %v", id, left)
	}
	if pid > 0 {
		if err := syscall.Kill(pid, 0); err == nil {
			if data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(data), ") Z ") {
				t.Errorf("container %s: its process %d is still alive", id, pid)
			}
		}
	}
}

func ociID(t *testing.T) string {
	return fmt.Sprintf("t%d-%s", os.Getpid(), strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name())))
}

// TestOCILifecycle: create leaves init waiting (created, its PID in the
// pid file, the command not run yet), start runs it (running), its end is
// stopped, delete removes everything.
func TestOCILifecycle(t *testing.T) {
	id := ociID(t)
	bundle := makeBundle(t, []string{"sh", "-c", "echo started > /dev/shm/x; echo out; echo err >&2; read line; echo \"got $line\"; exit 7"}, func(s *specs.Spec) {
		s.Root.Readonly = false
	})
	pidFile := filepath.Join(t.TempDir(), "pid")
	stdinR, stdinW, _ := os.Pipe()
	outFile, _ := os.Create(filepath.Join(t.TempDir(), "out"))
	errFile, _ := os.Create(filepath.Join(t.TempDir(), "err"))
	// The callers of create (containerd's shim, conmon) are subreapers:
	// init, whose parent create was, becomes theirs.
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	create := exec.Command(runcBinary(t), "--root", ociRoot(), "create", "--bundle", bundle, "--pid-file", pidFile, id)
	create.Stdin, create.Stdout, create.Stderr = stdinR, outFile, errFile
	if err := create.Run(); err != nil {
		data, _ := os.ReadFile(errFile.Name())
		t.Fatalf("create: %v: %s", err, data)
	}
	stdinR.Close()
	defer runc(t, "delete", "--force", id)

	pidText, err := os.ReadFile(pidFile)
	if err != nil || !regexp.MustCompile(`^[0-9]+$`).Match(pidText) {
		t.Fatalf("pid file: want digits only, got %q (%v)", pidText, err)
	}
	pid, _ := strconv.Atoi(string(pidText))
	st, r := ociState(t, id)
	if r.status != 0 || st.Status != "created" || st.Pid != pid || st.Bundle != bundle || st.ID != id {
		t.Fatalf("state after create: want created, pid %d, bundle %s; got %+v (%s)", pid, bundle, st, r.stderr)
	}
	// Not yet run: the command's first line has not happened.
	if out, _ := os.ReadFile(outFile.Name()); len(out) != 0 {
		t.Fatalf("the command ran before start: stdout %q", out)
	}
	// create's caller (here: this test) is init's parent: create is gone.
	if ppid := parentOf(t, pid); ppid != os.Getpid() {
		t.Errorf("init's parent is %d, want the caller of create (%d): a subreaper must become init's parent", ppid, os.Getpid())
	}
	if r := runc(t, "start", id); r.status != 0 {
		t.Fatalf("start: %d %s", r.status, r.stderr)
	}
	if st, _ := ociState(t, id); st.Status != "running" {
		t.Errorf("state after start: want running, got %s", st.Status)
	}
	if r := runc(t, "start", id); r.status == 0 || !strings.Contains(r.stderr, "already running") {
		t.Errorf("a second start: want an error, got %d %q", r.status, r.stderr)
	}
	// list and ps see it.
	if r := runc(t, "list", "--format", "json"); !strings.Contains(r.stdout, `"id":"`+id+`"`) {
		t.Errorf("list --format json: %s is missing: %s", id, r.stdout)
	}
	if r := runc(t, "ps", "--format", "json", id); strings.TrimSpace(r.stdout) != "["+strconv.Itoa(pid)+"]" {
		t.Errorf("ps --format json: want [%d], got %q %s", pid, r.stdout, r.stderr)
	}
	fmt.Fprintln(stdinW, "input")
	stdinW.Close()
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatalf("wait for init (this test is its parent): %v", err)
	}
	if ws.ExitStatus() != 7 {
		t.Errorf("exit status: want 7, got %d", ws.ExitStatus())
	}
	out, _ := os.ReadFile(outFile.Name())
	errOut, _ := os.ReadFile(errFile.Name())
	if string(out) != "out\ngot input\n" || string(errOut) != "err\n" {
		t.Errorf("stdio passed through: want stdout %q and stderr %q, got %q and %q", "out\ngot input\n", "err\n", out, errOut)
	}
	if st, _ := ociState(t, id); st.Status != "stopped" {
		t.Errorf("state after the end: want stopped, got %s", st.Status)
	}
	if r := runc(t, "start", id); !strings.Contains(r.stderr, "cannot start a container that has stopped") {
		t.Errorf("start of a stopped container: got %d %q", r.status, r.stderr)
	}
	if r := runc(t, "kill", id, "KILL"); r.status == 0 || !strings.Contains(r.stderr, "container not running") {
		t.Errorf("kill of a stopped container: got %d %q", r.status, r.stderr)
	}
	if r := runc(t, "delete", id); r.status != 0 {
		t.Fatalf("delete: %d %s", r.status, r.stderr)
	}
	noOCILeftovers(t, id, pid)
	if _, r := ociState(t, id); !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("state after delete: want 'does not exist', got %d %q", r.status, r.stderr)
	}
}

func parentOf(t *testing.T, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// TestOCIConfigApplied: what config.json asks is what the command gets:
// its user and groups, capabilities, rlimits, hostname, environment,
// working directory, masked and read-only paths, sysctls, a bind mount,
// a device and a memory limit.
func TestOCIConfigApplied(t *testing.T) {
	id := ociID(t)
	share := t.TempDir()
	os.WriteFile(filepath.Join(share, "f"), []byte("shared\n"), 0o644)
	umask := uint32(0o027)
	limit := int64(64 << 20)
	bundle := makeBundle(t, []string{"sh", "-c", strings.Join([]string{
		"id -u; id -g; id -G", "hostname", "echo $FOO", "pwd", "ulimit -n",
		"grep CapBnd /proc/self/status", "cat /proc/kcore | wc -c",
		"echo x > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo read-only",
		"cat /proc/sys/kernel/shmmni", "cat /data/f", "ls -l /dev/fuse | cut -c1", "umask",
		"cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
	}, "; ")}, func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}, Umask: &umask}
		s.Process.Env = append(s.Process.Env, "FOO=bar baz")
		s.Process.Cwd = "/tmp"
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 512, Soft: 256}}
		s.Hostname = "oci-host"
		s.Linux.Sysctl = map[string]string{"kernel.shmmni": "1234"}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: share, Options: []string{"rbind", "ro"}})
		mode := os.FileMode(0o666)
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode}}
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
	})
	r := runc(t, "run", "--bundle", bundle, id)
	defer noOCILeftovers(t, id, 0)
	if r.status != 0 {
		t.Fatalf("run: %d\n%s%s", r.status, r.stdout, r.stderr)
	}
	want := []string{"1000", "1000", "1000 10 20", "oci-host", "bar baz", "/tmp", "256",
		"CapBnd:\t0000000020000420", "0", "read-only", "1234", "shared", "c", "0027", strconv.FormatInt(limit, 10)}
	got := strings.Split(strings.TrimSpace(r.stdout), "\n")
	names := []string{"uid", "gid", "groups", "hostname", "env", "cwd", "rlimit NOFILE", "bounding set", "masked /proc/kcore",
		"read-only /proc/sys", "sysctl", "bind mount", "device", "umask", "memory limit"}
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			g := "(missing)"
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("%s: want %q, got %q", names[i], w, g)
		}
	}
}

// TestOCIBadInput: a bad bundle or command fails create with one line and
// exit status 1, leaving nothing; --log gets it as a JSON line.
func TestOCIBadInput(t *testing.T) {
	ok := makeBundle(t, []string{"true"}, nil)
	cases := []struct {
		name, want string
		bundle     func() string
	}{
		{"no config.json", "config.json does not exist", func() string { return t.TempDir() }},
		{"malformed config.json", "config.json", func() string {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "config.json"), []byte("{not json"), 0o644)
			return d
		}},
		{"ociVersion invalid", `ociVersion "invalid"`, func() string {
			return makeBundle(t, []string{"true"}, func(s *specs.Spec) { s.Version = "invalid" })
		}},
		{"no root", "does not exist", func() string {
			return makeBundle(t, []string{"true"}, func(s *specs.Spec) { s.Root.Path = "nowhere" })
		}},
		{"unknown namespace", "namespace type", func() string {
			return makeBundle(t, []string{"true"}, func(s *specs.Spec) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
			})
		}},
		{"unknown capability", `unknown capability "CAP_BOGUS"`, func() string {
			return makeBundle(t, []string{"true"}, func(s *specs.Spec) {
				s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_BOGUS")
			})
		}},
		{"AppArmor without AppArmor", "AppArmor", func() string {
			if _, err := os.Stat("/sys/module/apparmor/parameters/enabled"); err == nil {
				t.Log("this host has AppArmor: the profile case is not a refusal here")
				return ok
			}
			return makeBundle(t, []string{"true"}, func(s *specs.Spec) { s.Process.ApparmorProfile = "docker-default" })
		}},
		{"missing command", "executable file not found", func() string {
			return makeBundle(t, []string{"no-such-command"}, nil)
		}},
		{"terminal without console socket", "console-socket", func() string {
			return makeBundle(t, []string{"true"}, func(s *specs.Spec) { s.Process.Terminal = true })
		}},
	}
	for i, c := range cases {
		bundle := c.bundle()
		if bundle == ok {
			continue
		}
		id := fmt.Sprintf("%s-%d", ociID(t), i)
		logFile := filepath.Join(t.TempDir(), "log.json")
		before := mountTable(t)
		cmd := exec.Command(runcBinary(t), "--root", ociRoot(), "--log", logFile, "--log-format", "json", "create", "--bundle", bundle, id)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		status := statusOf(t, cmd, err)
		lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
		if status != 1 || len(lines) != 1 || !strings.Contains(stderr.String(), c.want) || stdout.Len() != 0 {
			t.Errorf("%s: want exit 1 and one line with %q on stderr, nothing on stdout; got %d, stdout %q, stderr %q", c.name, c.want, status, stdout.String(), stderr.String())
		}
		logged, _ := os.ReadFile(logFile)
		var entry map[string]string
		if json.Unmarshal(logged, &entry) != nil || entry["level"] != "error" || !strings.Contains(entry["msg"], c.want) {
			t.Errorf("%s: --log: want a JSON line with level error and the message, got %q", c.name, logged)
		}
		noOCILeftovers(t, id, 0)
		if after := mountTable(t); after != before {
			t.Errorf("%s: the host's mount table changed", c.name)
		}
	}
	// The wording clients match on.
	if r := runc(t, "start", "no-such-container"); r.status != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("start of an unknown ID: want 'does not exist', got %d %q", r.status, r.stderr)
	}
	if r := runc(t, "delete", "--force", "no-such-container"); r.status != 0 {
		t.Errorf("delete --force of an unknown ID: want success, got %d %q", r.status, r.stderr)
	}
	if r := runc(t, "--log", filepath.Join(t.TempDir(), "l"), "--log-format", "json", "bogus-command"); r.status != 1 {
		t.Errorf("an unknown command: want exit 1, got %d", r.status)
	}
	if r := runc(t, "--systemd-cgroup", "list"); r.status != 1 || !strings.Contains(r.stderr, "systemd-cgroup") {
		t.Errorf("--systemd-cgroup: want a clear refusal, got %d %q", r.status, r.stderr)
	}
	if r := runc(t, "--version"); !strings.HasPrefix(r.stdout, "runc version ") || !strings.Contains(r.stdout, "\nspec: 1.") {
		t.Errorf("--version: want go-runc's 'runc version' and 'spec:' lines, got %q", r.stdout)
	}
}

// TestOCIConsoleSocket: with process.terminal, init makes the pty in the
// container's own devpts and sends its master over --console-socket
// before create returns, as runc does.
// consoleSocket listens as a client's --console-socket does: the pty
// master that comes over it, or nil, arrives on masters.
func consoleSocket(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	masters := make(chan *os.File, 1)
	go func() {
		conn, err := l.AcceptUnix()
		if err != nil {
			masters <- nil
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			masters <- nil
			return
		}
		fds, _ := unix.ParseUnixRights(&msgs[0])
		masters <- os.NewFile(uintptr(fds[0]), "master")
	}()
	return sock, masters
}

func TestOCIConsoleSocket(t *testing.T) {
	id := ociID(t)
	bundle := makeBundle(t, []string{"sh", "-c", "tty; stty size; echo done"}, func(s *specs.Spec) { s.Process.Terminal = true })
	sock, masters := consoleSocket(t)
	r := runc(t, "create", "--bundle", bundle, "--console-socket", sock, id)
	defer runc(t, "delete", "--force", id)
	if r.status != 0 {
		t.Fatalf("create: %d %s", r.status, r.stderr)
	}
	var master *os.File
	select {
	case master = <-masters:
	default:
		t.Fatal("create returned before the pty's master was sent over the console socket")
	}
	if master == nil {
		t.Fatal("no pty master came over the console socket")
	}
	unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 77})
	if r := runc(t, "start", id); r.status != 0 {
		t.Fatalf("start: %s", r.stderr)
	}
	var out strings.Builder
	sc := bufio.NewScanner(master)
	for sc.Scan() {
		out.WriteString(strings.TrimRight(sc.Text(), "\r") + "\n")
		if strings.Contains(sc.Text(), "done") {
			break
		}
	}
	if out.String() != "/dev/pts/0\n33 77\ndone\n" {
		t.Errorf("the command's terminal: want /dev/pts/0 of its own devpts, 33x77; got %q", out.String())
	}
}

// TestOCIExec: exec runs a process in the container's namespaces with the
// process.json given, or the container's process with new args; its
// status is exec's.
func TestOCIExec(t *testing.T) {
	id := ociID(t)
	// A read throttle on the host's first disk (blockIO).
	disk := firstDisk(t)
	bundle := makeBundle(t, []string{"sleep", "100"}, func(s *specs.Spec) {
		if disk != nil {
			s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{*disk}}
		}
	})
	if r := runc(t, "run", "-d", "--bundle", bundle, id); r.status != 0 {
		t.Fatalf("run -d: %s", r.stderr)
	}
	defer func() {
		runc(t, "delete", "--force", id)
		noOCILeftovers(t, id, 0)
	}()
	// A session keyring of its own, as runc's container has.
	if keys, _ := os.ReadFile("/proc/keys"); !strings.Contains(string(keys), "_ses."+id+":") {
		t.Errorf("the container has no session keyring of its own (_ses.%s in /proc/keys)", id)
	}
	r := runc(t, "exec", id, "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; exit 4")
	if r.status != 4 || r.stdout != "runc\nsleep 100 " {
		t.Errorf("exec: want the container's hostname and PID 1, exit 4; got %d %q %s", r.status, r.stdout, r.stderr)
	}
	proc := filepath.Join(t.TempDir(), "process.json")
	data, _ := json.Marshal(specs.Process{Args: []string{"id", "-u"}, Cwd: "/", User: specs.User{UID: 42, GID: 42}, Env: []string{"PATH=/bin:/usr/bin"}})
	os.WriteFile(proc, data, 0o644)
	if r := runc(t, "exec", "--process", proc, id); r.status != 0 || r.stdout != "42\n" {
		t.Errorf("exec --process: want uid 42, got %d %q %s", r.status, r.stdout, r.stderr)
	}
	if r := runc(t, "exec", id, "no-such-command"); r.status == 0 || !strings.Contains(r.stderr, "executable file not found") {
		t.Errorf("exec of a missing command: want 'executable file not found', got %d %q", r.status, r.stderr)
	}
	// --detach --pid-file: it outlives exec, its parent is exec's caller.
	pidFile := filepath.Join(t.TempDir(), "pid")
	if r := runc(t, "exec", "--detach", "--pid-file", pidFile, id, "sleep", "50"); r.status != 0 {
		t.Fatalf("exec --detach: %s", r.stderr)
	}
	text, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(string(text))
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		t.Errorf("exec --detach: its process (pid file %q) is not running", text)
	}
	if r := runc(t, "ps", "--format", "json", id); !strings.Contains(r.stdout, strconv.Itoa(pid)) {
		t.Errorf("ps: the exec'd process %d is not among the container's: %s", pid, r.stdout)
	}
	// A detached process that ends at once: its exit is its inheritor's
	// (containerd's shim, conmon: a subreaper), never reaped by exec.
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	for i := 0; i < 5; i++ {
		quick := filepath.Join(t.TempDir(), "pid")
		if r := runc(t, "exec", "--detach", "--pid-file", quick, id, "sh", "-c", "exit 7"); r.status != 0 {
			t.Fatalf("exec --detach: %s", r.stderr)
		}
		text, _ := os.ReadFile(quick)
		qpid, _ := strconv.Atoi(string(text))
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(qpid, &ws, 0, nil); err != nil || ws.ExitStatus() != 7 {
			t.Errorf("exec --detach of a command that exits at once: its exit status 7 must reach the subreaper that inherits it, got %v (status %d)", err, ws.ExitStatus())
			break
		}
	}
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	if disk != nil {
		st, _ := ociState(t, id)
		got := cgroupFileOf(t, st.Pid, "blkio", "blkio.throttle.read_bps_device", "io.max")
		if want := fmt.Sprintf("%d:%d", disk.Major, disk.Minor); !strings.Contains(got, want+" 1048576") && !strings.Contains(got, want+" rbps=1048576") {
			t.Errorf("blockIO: want a read throttle of 1048576 on %s, got %q", want, got)
		}
	}
	// pause and resume: the freezer; update: new limits.
	if r := runc(t, "pause", id); r.status != 0 {
		t.Errorf("pause: %s", r.stderr)
	}
	if st, _ := ociState(t, id); st.Status != "paused" {
		t.Errorf("state after pause: want paused, got %s", st.Status)
	}
	if r := runc(t, "resume", id); r.status != 0 {
		t.Errorf("resume: %s", r.stderr)
	}
	if st, _ := ociState(t, id); st.Status != "running" {
		t.Errorf("state after resume: want running, got %s", st.Status)
	}
	update := exec.Command(runcBinary(t), "--root", ociRoot(), "update", "--resources", "-", id)
	update.Stdin = strings.NewReader(`{"memory": {"limit": 33554432}, "pids": {"limit": 50}}`)
	if out, err := update.CombinedOutput(); err != nil {
		t.Errorf("update --resources -: %v %s", err, out)
	}
	st, _ := ociState(t, id)
	if got := cgroupFileOf(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != "33554432" {
		t.Errorf("update: want the memory limit 33554432, got %q", got)
	}
	if got := cgroupFileOf(t, st.Pid, "pids", "pids.max", "pids.max"); got != "50" {
		t.Errorf("update: want pids.max 50, got %q", got)
	}
	if r := runc(t, "kill", "--all", id, "KILL"); r.status != 0 {
		t.Errorf("kill --all: %s", r.stderr)
	}
	syscall.Wait4(pid, nil, 0, nil)
}

// TestOCISigkill: SIGKILL of create, start, delete, exec and run -d at random
// moments leaves what the next state, list and delete --force tell the
// truth about and clean.
func TestOCISigkill(t *testing.T) {
	bundle := makeBundle(t, []string{"sleep", "100"}, nil)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for round := 0; round < 15; round++ {
		id := fmt.Sprintf("%s-%d", ociID(t), round)
		step := []string{"create", "start", "exec", "delete", "run"}[round%5]
		if step != "create" && step != "run" {
			if r := runc(t, "create", "--bundle", bundle, id); r.status != 0 {
				t.Fatalf("create: %s", r.stderr)
			}
			if step != "start" {
				runc(t, "start", id)
			}
		}
		args := map[string][]string{
			"create": {"create", "--bundle", bundle, id},
			"start":  {"start", id},
			"exec":   {"exec", id, "true"},
			"delete": {"delete", "--force", id},
			"run":    {"run", "--detach", "--bundle", bundle, id},
		}[step]
		cmd := exec.Command(runcBinary(t), append([]string{"--root", ociRoot()}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Intn(3000)) * time.Microsecond)
		cmd.Process.Kill()
		cmd.Wait()
		// The truth: state either fails with "does not exist" or gives a
		// status the process confirms.
		st, r := ociState(t, id)
		if r.status == 0 {
			switch st.Status {
			case "creating", "created", "running", "stopped":
			default:
				t.Errorf("round %d (%s): state says %q", round, step, st.Status)
			}
			if st.Status == "running" || st.Status == "created" {
				if syscall.Kill(st.Pid, 0) != nil {
					t.Errorf("round %d (%s): state says %s, but pid %d is gone", round, step, st.Status, st.Pid)
				}
			}
		} else if !strings.Contains(r.stderr, "does not exist") {
			t.Errorf("round %d (%s): state: %s", round, step, r.stderr)
		}
		if r := runc(t, "list", "--format", "json"); r.status != 0 {
			t.Errorf("round %d (%s): list fails: %s", round, step, r.stderr)
		}
		if r := runc(t, "delete", "--force", id); r.status != 0 {
			t.Errorf("round %d (%s): delete --force: %s", round, step, r.stderr)
		}
		noOCILeftovers(t, id, st.Pid)
		if st.Pid > 0 {
			syscall.Wait4(st.Pid, nil, syscall.WNOHANG, nil) // ours, once create is gone
		}
	}
}

// --- the OCI's validation suite ---

const runtimeToolsVersion = "v0.9.1-0.20251205004911-5e639034dcdc"

var (
	runtimeToolsOnce sync.Once
	runtimeToolsDir  string
	runtimeToolsErr  error
)

// runtimeTools builds opencontainers/runtime-tools' runtimetest and
// validation programs from its Go module, once, into .cache/.
func runtimeTools(t *testing.T) string {
	t.Helper()
	runtimeToolsOnce.Do(func() {
		cache, _ := filepath.Abs("../../.cache/runtime-tools-" + runtimeToolsVersion)
		if _, err := os.Stat(filepath.Join(cache, ".built")); err == nil {
			runtimeToolsDir = cache
			return
		}
		out, err := exec.Command("go", "mod", "download", "-json", "github.com/opencontainers/runtime-tools@"+runtimeToolsVersion).Output()
		if err != nil {
			runtimeToolsErr = fmt.Errorf("go mod download runtime-tools: %v", err)
			return
		}
		var mod struct{ Dir string }
		json.Unmarshal(out, &mod)
		os.RemoveAll(cache)
		if out, err := exec.Command("cp", "-r", mod.Dir, cache).CombinedOutput(); err != nil {
			runtimeToolsErr = fmt.Errorf("copy runtime-tools: %v %s", err, out)
			return
		}
		exec.Command("chmod", "-R", "u+w", cache).Run()
		build := func(out, pkg string, static bool) error {
			args := []string{"build", "-o", out}
			if static {
				args = append(args, "-tags", "netgo osusergo")
			}
			cmd := exec.Command("go", append(args, pkg)...)
			cmd.Dir = cache
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("build %s: %v\n%s", pkg, err, b)
			}
			return nil
		}
		if runtimeToolsErr = build("runtimetest", "./cmd/runtimetest", true); runtimeToolsErr != nil {
			return
		}
		dirs, _ := filepath.Glob(filepath.Join(cache, "validation", "*", "*.go"))
		for _, f := range dirs {
			name := filepath.Base(filepath.Dir(f))
			if name == "util" || !strings.HasSuffix(f, name+".go") {
				continue
			}
			if runtimeToolsErr = build(filepath.Join("validation", name+".t"), "./validation/"+name, false); runtimeToolsErr != nil {
				return
			}
		}
		os.WriteFile(filepath.Join(cache, ".built"), nil, 0o644)
		runtimeToolsDir = cache
	})
	if runtimeToolsErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("runtime-tools: %v", runtimeToolsErr)
		}
		t.Skipf("runtime-tools could not be built: %v", runtimeToolsErr)
	}
	return runtimeToolsDir
}

// validationPasses is every test of the suite that passes here, with
// every assertion green: README's table says why each other one fails.
// A test that passed before and fails now fails the suite.
func validationPasses(t *testing.T) []string {
	data, err := os.ReadFile("testdata/oci-validation-passes.txt")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			names = append(names, l)
		}
	}
	return names
}

// validationResult runs one test of the suite against mydocker-runc: a
// pass is exit 0, no "not ok", and for a test of no assertions, no error
// reported either.
func validationResult(t *testing.T, dir, runtime, name string) (bool, string) {
	cmd := exec.Command("timeout", "120", filepath.Join(dir, "validation", name+".t"))
	cmd.Dir = dir
	// Its bundles in a directory of the test's: some tests of the suite
	// leave theirs behind. Readable by all, as /tmp: a user namespace's
	// root is nobody on the host.
	tmp, err := os.MkdirTemp("", "ocivalidation-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	os.Chmod(tmp, 0o755)
	cmd.Env = append(os.Environ(), "RUNTIME="+runtime, "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	text := string(out)
	pass := err == nil && !regexp.MustCompile(`(?m)^not ok`).MatchString(text) &&
		!(regexp.MustCompile(`(?m)^1\.\.0$`).MatchString(text) && strings.Contains(text, `"error":`))
	return pass, text
}

// TestOCIValidationSuite runs the OCI's own conformance tests
// (runtime-tools' validation/*.t) against mydocker-runc.
func TestOCIValidationSuite(t *testing.T) {
	dir := runtimeTools(t)
	needImage(t)
	// The suite runs $RUNTIME without --root: a wrapper gives the tests'.
	wrapper := filepath.Join(t.TempDir(), "mydocker-runc")
	os.WriteFile(wrapper, []byte(fmt.Sprintf("#!/bin/sh\nexec %s --root %s \"$@\"\n", runcBinary(t), ociRoot())), 0o755)
	want := validationPasses(t)
	all, _ := filepath.Glob(filepath.Join(dir, "validation", "*.t"))
	passed := 0
	for _, path := range all {
		name := strings.TrimSuffix(filepath.Base(path), ".t")
		ok, out := validationResult(t, dir, wrapper, name)
		expected := false
		for _, w := range want {
			expected = expected || w == name
		}
		if ok {
			passed++
		}
		switch {
		case expected && !ok:
			t.Errorf("validation/%s.t passed before and fails now:\n%s", name, tail(out, 30))
		case !expected && ok:
			t.Logf("validation/%s.t passes now: add it to testdata/oci-validation-passes.txt and README's table", name)
		}
	}
	t.Logf("validation suite: %d of %d pass", passed, len(all))
	if left := ociContainersIn(ociRoot()); len(left) > 0 {
		t.Errorf("the suite's containers left state in %s: %v", ociRoot(), left)
	}
}

// ociContainersIn lists the container directories of a mydocker-runc root.
func ociContainersIn(root string) []string {
	entries, _ := os.ReadDir(root)
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// --- containerd, as dockerd and Kubernetes use it ---

// containerdLab is a containerd of the test's own: its root, state and
// socket in a temporary directory, in a mount namespace of its own (its
// snapshots' mounts never reach the host's table), with busybox
// imported.
type containerdLab struct {
	dir, sock, runcRoot string
	cmd                 *exec.Cmd
}

func startContainerd(t *testing.T) *containerdLab {
	t.Helper()
	return startContainerdWith(t, false)
}

// startContainerdWith starts the lab's containerd; with cri, its CRI
// plugin too, whose one runtime handler is mydocker-runc (BinaryName), as
// a Kubernetes node's containerd is configured.
func startContainerdWith(t *testing.T, cri bool) *containerdLab {
	t.Helper()
	needDebianPackage(t, "containerd", "containerd")
	ctrPath := needDebianPackage(t, "ctr", "containerd")
	needImage(t)
	// A lab killed before its end (a timed-out suite) leaves its
	// namespace's cgroup parent, empty: removed here, so that this lab's
	// own check after sees only what it left.
	if !cri {
		stale, _ := filepath.Glob("/sys/fs/cgroup/*/mydocker")
		for _, d := range stale {
			os.Remove(d) // fails, as it should, on one still in use
		}
	}
	dir, err := os.MkdirTemp("", "mdctrd-")
	if err != nil {
		t.Fatal(err)
	}
	lab := &containerdLab{dir: dir, sock: filepath.Join(dir, "c.sock"), runcRoot: filepath.Join(dir, "runc")}
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), lab.sock, lab.sock+".ttrpc")
	if !cri {
		config = "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n" + config
	} else {
		// restrict_oom_score_adj: the pod sandbox's -998 needs
		// CAP_SYS_RESOURCE, which root lacks on this kind of machine;
		// the CRI plugin then keeps containerd's own score.
		config += fmt.Sprintf(`[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/library/pause:mydocker"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "mydocker"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.mydocker]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.mydocker.options]
        BinaryName = %q
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
`, runcBinary(t), lab.runcRoot, filepath.Join(dir, "cni-bin"), filepath.Join(dir, "cni-conf"))
	}
	os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o644)
	logFile, _ := os.Create(filepath.Join(dir, "containerd.log"))
	lab.cmd = exec.Command("unshare", "-m", "--propagation", "private", "containerd", "--config", filepath.Join(dir, "config.toml"))
	lab.cmd.Stdout, lab.cmd.Stderr = logFile, logFile
	lab.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := lab.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.stop(t) })
	for i := 0; ; i++ {
		if exec.Command(ctrPath, "-a", lab.sock, "version").Run() == nil {
			break
		}
		if i == 100 {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("containerd did not come up:\n%s", tail(string(log), 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	archive := filepath.Join(dir, "busybox.tar")
	mustRun(t, "save", "-o", archive, "busybox")
	if out, err := lab.ctr("images", "import", archive); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	return lab
}

// ctrIn runs ctr in another containerd namespace (CRI's is k8s.io).
func (lab *containerdLab) ctrIn(namespace string, args ...string) (string, error) {
	// A client that hangs (an exit event lost) fails its test in a
	// minute, with its arguments, rather than the whole suite at its
	// time-out.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ctr", append([]string{"-a", lab.sock, "-n", namespace}, args...)...).CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("ctr %s: no answer in a minute", strings.Join(args, " "))
	}
	return string(out), err
}

// ctr runs ctr against the lab's containerd, in namespace "mydocker".
func (lab *containerdLab) ctr(args ...string) (string, error) {
	return lab.ctrIn("mydocker", args...)
}

// runFlags make ctr's shim drive mydocker-runc (its BinaryName option).
func (lab *containerdLab) runFlags(t *testing.T) []string {
	return []string{"--runc-binary", runcBinary(t), "--runc-root", lab.runcRoot}
}

// stop ends the lab's containerd (the process the test started, by its
// PID) and checks that its containers left nothing.
func (lab *containerdLab) stop(t *testing.T) {
	if out, _ := lab.ctr("task", "ls", "-q"); strings.TrimSpace(out) != "" {
		for _, id := range strings.Fields(out) {
			lab.ctr("task", "kill", "-s", "KILL", id)
			lab.ctr("task", "delete", "-f", id)
		}
	}
	if out, _ := lab.ctr("container", "ls", "-q"); strings.TrimSpace(out) != "" {
		for _, id := range strings.Fields(out) {
			lab.ctr("container", "delete", id)
		}
	}
	if left := ociContainersIn(filepath.Join(lab.runcRoot, "mydocker")); len(left) > 0 {
		t.Errorf("containerd's containers left state in mydocker-runc's root: %v", left)
	}
	// ctr's cgroups are /NAMESPACE/ID: all of them, and the namespace's.
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/mydocker"); len(left) > 0 {
		t.Errorf("containerd's containers left cgroups: %v", left)
	}
	lab.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { lab.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		lab.cmd.Process.Kill()
		<-done
	}
	// Its shims exit with their containers; the image snapshots are
	// files in its root.
	os.RemoveAll(lab.dir)
}

const busyboxRef = "docker.io/library/busybox:latest"

// TestContainerd: containerd's shim runs containers through
// mydocker-runc: output, exit status, exec, ps, kill, a terminal,
// deletion, and twenty at once.
func TestContainerd(t *testing.T) {
	lab := startContainerd(t)
	rf := lab.runFlags(t)
	out, err := lab.ctr(append(append([]string{"run", "--rm"}, rf...), busyboxRef, "c1", "sh", "-c", "echo hello from containerd; exit 3")...)
	if code := exitCode(err); code != 3 || out != "hello from containerd\n" {
		t.Errorf("ctr run: want the output and exit status 3, got %d %q", code, out)
	}
	// Detached: task ls, ps, exec, kill, delete.
	if out, err := lab.ctr(append(append([]string{"run", "-d"}, rf...), busyboxRef, "c2", "sleep", "100")...); err != nil {
		t.Fatalf("ctr run -d: %v %s", err, out)
	}
	if out, _ := lab.ctr("task", "ls"); !regexp.MustCompile(`c2\s+\d+\s+RUNNING`).MatchString(out) {
		t.Errorf("ctr task ls: want c2 RUNNING, got %q", out)
	}
	st, _ := ociStateIn(t, lab.runcRoot+"/mydocker", "c2")
	if out, _ := lab.ctr("task", "ps", "c2"); !strings.Contains(out, strconv.Itoa(st.Pid)) {
		t.Errorf("ctr task ps: want init's PID %d, got %q", st.Pid, out)
	}
	if out, err := lab.ctr("task", "exec", "--exec-id", "e1", "c2", "sh", "-c", "echo exec beside $(cat /proc/1/comm); exit 5"); exitCode(err) != 5 || out != "exec beside sleep\n" {
		t.Errorf("ctr task exec: want its output and exit 5, got %d %q", exitCode(err), out)
	}
	if out, err := lab.ctr("task", "kill", "-s", "KILL", "c2"); err != nil {
		t.Errorf("ctr task kill: %v %s", err, out)
	}
	for i := 0; i < 100; i++ {
		if out, _ := lab.ctr("task", "ls"); strings.Contains(out, "STOPPED") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := lab.ctr("task", "delete", "c2"); err != nil {
		t.Errorf("ctr task delete: %v %s", err, out)
	}
	if out, err := lab.ctr("container", "delete", "c2"); err != nil {
		t.Errorf("ctr container delete: %v %s", err, out)
	}
	// A terminal: ctr run -t, an interactive shell under a pty of the test's.
	sess := startSessionOf(t, 24, 80, append(append([]string{"ctr", "-a", lab.sock, "-n", "mydocker", "run", "--rm", "-t"}, rf...), busyboxRef, "c3", "sh"))
	sess.send("tty; echo tty-$((6*7))\r")
	sess.expect("tty-42")
	if !strings.Contains(sess.output(), "/dev/pts/0") {
		t.Errorf("ctr run -t: want /dev/pts/0 of the container's own devpts, got %q", sess.output())
	}
	sess.send("exit\r")
	sess.wait()
	// Twenty at once.
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("many%d", i)
			out, err := lab.ctr(append(append([]string{"run", "--rm"}, rf...), busyboxRef, id, "echo", id)...)
			if err != nil || out != id+"\n" {
				errs <- fmt.Sprintf("%s: %v %q", id, err, out)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("twenty at once: %s", e)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// ociStateIn is ociState for a --root of another's (containerd's).
func ociStateIn(t *testing.T, root, id string) (specs.State, error) {
	out, err := exec.Command(runcBinary(t), "--root", root, "state", id).Output()
	var st specs.State
	if err == nil {
		err = json.Unmarshal(out, &st)
	}
	return st, err
}

// --- podman, through conmon ---

// podmanLab is podman with storage, state and runtime of the test's own:
// mydocker-runc as its runtime, cgroupfs, no network (podman's would
// change the host's), and the rlimits this host lets root set.
type podmanLab struct {
	global, runFlags []string
}

func newPodman(t *testing.T) *podmanLab {
	t.Helper()
	needDebianPackage(t, "podman", "podman")
	needDebianPackage(t, "conmon", "conmon")
	needImage(t)
	dir := filepath.Join(testDir, "podman")
	os.MkdirAll(dir, 0o755)
	// podman gives its runtime no --root of its own (its --runtime-flag
	// does not reach the delete of its cleanup): a wrapper gives the
	// tests' one, so that /run/mydocker-runc is never touched.
	runtime := filepath.Join(dir, "mydocker-runc")
	os.WriteFile(runtime, []byte(fmt.Sprintf("#!/bin/sh\nexec %s --root %s \"$@\"\n", runcBinary(t), filepath.Join(dir, "oci"))), 0o755)
	lab := &podmanLab{
		global: []string{"--root", filepath.Join(dir, "storage"), "--runroot", filepath.Join(dir, "run"),
			"--tmpdir", filepath.Join(dir, "tmp"), "--runtime", runtime, "--cgroup-manager", "cgroupfs",
			"--events-backend", "file", "--storage-driver", "overlay"},
		runFlags: []string{"--network", "none", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"},
	}
	// podman makes libpod_parent (and its conmon) in every hierarchy;
	// when the host had none, the test takes them away again.
	parentsBefore, _ := filepath.Glob("/sys/fs/cgroup/*/libpod_parent")
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	mustRun(t, "save", "-o", archive, "busybox")
	if out, err := lab.podman("load", "-i", archive); err != nil {
		t.Fatalf("podman load: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		lab.podman("rm", "-af")
		lab.podman("rmi", "-af")
		if ids := ociContainersIn(filepath.Join(dir, "oci")); len(ids) > 0 {
			t.Errorf("podman's containers left state: %v", ids)
		}
		if left, _ := filepath.Glob("/sys/fs/cgroup/*/libpod_parent/libpod-*"); len(left) > 0 {
			t.Errorf("podman's containers left cgroups: %v", left)
		}
		exec.Command("umount", "-R", filepath.Join(dir, "storage", "overlay")).Run()
		os.RemoveAll(dir)
		if len(parentsBefore) == 0 {
			made, _ := filepath.Glob("/sys/fs/cgroup/*/libpod_parent")
			for _, d := range made {
				os.Remove(filepath.Join(d, "conmon"))
				os.Remove(d)
			}
		}
	})
	return lab
}

func (lab *podmanLab) podman(args ...string) (string, error) {
	out, err := exec.Command("podman", append(lab.global, args...)...).CombinedOutput()
	return string(out), err
}

func (lab *podmanLab) run(args ...string) (string, error) {
	return lab.podman(append(append([]string{"run"}, lab.runFlags...), args...)...)
}

// TestPodman: podman runs containers on mydocker-runc through conmon:
// output and exit status, run -d with exec, stop and rm, a terminal, a
// memory limit, and podman's default seccomp profile.
func TestPodman(t *testing.T) {
	before := mountTable(t)
	lab := newPodman(t)
	if out, err := lab.run("--rm", "busybox", "echo", "hi"); err != nil || out != "hi\n" {
		t.Errorf("podman run --rm busybox echo hi: got %v %q", err, out)
	}
	if out, err := lab.run("--rm", "busybox", "sh", "-c", "exit 9"); exitCode(err) != 9 {
		t.Errorf("podman run: want the command's exit status 9, got %d %q", exitCode(err), out)
	}
	out, err := lab.run("--rm", "--memory", "64m", "busybox", "sh", "-c",
		"grep Seccomp: /proc/self/status; cat /sys/fs/cgroup/memory$(grep :memory: /proc/self/cgroup | cut -d: -f3)/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
	if err != nil || out != "Seccomp:\t2\n67108864\n" {
		t.Errorf("podman run --memory 64m: want seccomp filter mode 2 (podman's profile) and the limit, got %v %q", err, out)
	}
	if out, err := lab.run("-d", "--name", "p1", "busybox", "sleep", "100"); err != nil {
		t.Fatalf("podman run -d: %v %s", err, out)
	}
	if out, err := lab.podman("exec", "p1", "sh", "-c", "cat /proc/1/comm; exit 4"); exitCode(err) != 4 || out != "sleep\n" {
		t.Errorf("podman exec: want PID 1's name and exit 4, got %d %q", exitCode(err), out)
	}
	if out, err := lab.podman("stop", "-t", "1", "p1"); err != nil {
		t.Errorf("podman stop: %v %s", err, out)
	}
	if out, err := lab.podman("rm", "p1"); err != nil {
		t.Errorf("podman rm: %v %s", err, out)
	}
	// An interactive shell under a pty of the test's, as a user's.
	argv := append(append(append([]string{"podman"}, lab.global...), "run", "--rm", "-it"), lab.runFlags...)
	sess := startSessionOf(t, 24, 80, append(argv, "busybox", "sh"))
	sess.send("tty; echo tty-$((6*7))\r")
	sess.expect("tty-42")
	if !strings.Contains(sess.output(), "/dev/pts/0") {
		t.Errorf("podman run -it: want the container's own /dev/pts/0, got %q", sess.output())
	}
	sess.send("exit 3\r")
	if status := sess.wait(); status != 3 {
		t.Errorf("podman run -it: want the shell's exit status 3, got %d", status)
	}
	if after := mountTable(t); after != before {
		t.Errorf("podman's containers changed the host's mount table")
	}
}

// cgroupFileOf reads a file of pid's cgroup: v1's in controller's
// hierarchy, else v2's.
func cgroupFileOf(t *testing.T, pid int, controller, v1, v2 string) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		path := ""
		if f[0] == "0" && f[1] == "" {
			path = filepath.Join("/sys/fs/cgroup", f[2], v2)
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == controller {
				path = filepath.Join("/sys/fs/cgroup", controller, f[2], v1)
			}
		}
		if out, err := os.ReadFile(path); err == nil && path != "" {
			return strings.TrimSpace(string(out))
		}
	}
	return ""
}

// --- a Kubernetes node's path: containerd's CRI, driven by crictl ---

const criToolsVersion = "v1.34.0"

var (
	crictlOnce sync.Once
	crictlPath string
	crictlErr  error
)

// crictl builds cri-tools' crictl from its Go module, once, into .cache/.
func crictl(t *testing.T) string {
	t.Helper()
	crictlOnce.Do(func() {
		dir, _ := filepath.Abs("../../.cache/cri-tools-" + criToolsVersion)
		bin := filepath.Join(dir, "crictl")
		if _, err := os.Stat(bin); err == nil {
			crictlPath = bin
			return
		}
		cmd := exec.Command("go", "install", "sigs.k8s.io/cri-tools/cmd/crictl@"+criToolsVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			crictlErr = fmt.Errorf("go install crictl: %v\n%s", err, tail(string(out), 10))
			return
		}
		crictlPath = bin
	})
	if crictlErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(crictlErr)
		}
		t.Skip(crictlErr)
	}
	return crictlPath
}

// TestCRI: a pod with host networking and a busybox container in it, as
// the kubelet asks for them, through containerd's CRI plugin configured
// with mydocker-runc as its runtime (BinaryName): runp, create, start,
// logs, exec, stop, rmp.
func TestCRI(t *testing.T) {
	bin := crictl(t)
	lab := startContainerdWith(t, true)
	// The pod's sandbox image: busybox that sleeps (no registry here to
	// pull the pause image from).
	pause := filepath.Join(lab.dir, "pause.tar")
	mustRun(t, "import", "--change", `CMD ["sleep", "1000000000"]`, imageTarball(), "pause:mydocker")
	defer mustRun(t, "rmi", "pause:mydocker")
	mustRun(t, "save", "-o", pause, "pause:mydocker")
	busybox := filepath.Join(lab.dir, "busybox.tar")
	for _, archive := range []string{pause, busybox} {
		if out, err := lab.ctrIn("k8s.io", "images", "import", archive); err != nil {
			t.Fatalf("ctr images import: %v %s", err, out)
		}
	}
	cri := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"--runtime-endpoint", "unix://" + lab.sock, "--image-endpoint", "unix://" + lab.sock, "--timeout", "30s"}, args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			return stdout.String(), fmt.Errorf("%v: %s", err, tail(stderr.String(), 3))
		}
		return stdout.String(), nil
	}
	podJSON := filepath.Join(lab.dir, "pod.json")
	os.WriteFile(podJSON, []byte(fmt.Sprintf(`{"metadata": {"name": "p1", "namespace": "default", "uid": "u1"},
 "log_directory": %q, "linux": {"security_context": {"namespace_options": {"network": 2}}}}`, filepath.Join(lab.dir, "logs"))), 0o644)
	ctrJSON := filepath.Join(lab.dir, "container.json")
	os.WriteFile(ctrJSON, []byte(`{"metadata": {"name": "c1"}, "image": {"image": "`+busyboxRef+`"},
 "command": ["sh", "-c", "echo hello from a pod; sleep 1000"], "log_path": "c1.log"}`), 0o644)
	pod, err := cri("runp", podJSON)
	pod = strings.TrimSpace(pod)
	if err != nil {
		t.Fatalf("crictl runp: %v", err)
	}
	defer cri("rmp", "-f", pod)
	id, err := cri("create", pod, ctrJSON, podJSON)
	id = strings.TrimSpace(id)
	if err != nil {
		t.Fatalf("crictl create: %v", err)
	}
	if _, err := cri("start", id); err != nil {
		t.Fatalf("crictl start: %v", err)
	}
	if out, _ := cri("ps"); !regexp.MustCompile(`c1\s+0\s`).MatchString(out) || !strings.Contains(out, "Running") {
		t.Errorf("crictl ps: want c1 Running, got %q", out)
	}
	var logs string
	for i := 0; i < 50 && !strings.Contains(logs, "hello"); i++ {
		logs, _ = cri("logs", id)
		time.Sleep(100 * time.Millisecond)
	}
	if logs != "hello from a pod\n" {
		t.Errorf("crictl logs: want the container's output, got %q", logs)
	}
	if out, err := cri("exec", id, "sh", "-c", "cat /proc/1/comm; echo exec in a pod"); err != nil || out != "sleep\nexec in a pod\n" {
		t.Errorf("crictl exec: want the pod's PID 1 (its sandbox) and the output, got %v %q", err, out)
	}
	for _, step := range [][]string{{"stop", id}, {"rm", id}, {"stopp", pod}, {"rmp", pod}} {
		if out, err := cri(step...); err != nil {
			t.Errorf("crictl %s: %v %s", step[0], err, out)
		}
	}
	if left := ociContainersIn(filepath.Join(lab.runcRoot, "k8s.io")); len(left) > 0 {
		t.Errorf("the pod left state in mydocker-runc's root: %v", left)
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/k8s.io"); len(left) > 0 {
		t.Errorf("the pod left cgroups: %v", left)
	}
}

// firstDisk is a read throttle of 1 MB/s on the host's first whole disk
// (nil when /sys/block lists none but loop devices).
func firstDisk(t *testing.T) *specs.LinuxThrottleDevice {
	entries, _ := os.ReadDir("/sys/block")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "loop") || strings.HasPrefix(e.Name(), "ram") {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/sys/block", e.Name(), "dev"))
		if err != nil {
			continue
		}
		var major, minor int64
		if _, err := fmt.Sscanf(strings.TrimSpace(string(data)), "%d:%d", &major, &minor); err == nil {
			d := specs.LinuxThrottleDevice{Rate: 1 << 20}
			d.Major, d.Minor = major, minor
			return &d
		}
	}
	t.Log("no disk in /sys/block: blockIO not checked")
	return nil
}

// TestOCICgroupTaken: a container whose config.json names no cgroup gets
// /mydocker-runc-ID; one that exists already (a container of another
// --root with this ID) is refused, and left as it was: delete would have
// killed what runs there.
func TestOCICgroupTaken(t *testing.T) {
	id := ociID(t)
	taken := "/sys/fs/cgroup/mydocker-runc-" + id
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		taken = "/sys/fs/cgroup/pids/mydocker-runc-" + id
	}
	if err := os.Mkdir(taken, 0o755); err != nil {
		t.Fatalf("make the cgroup another container holds: %v", err)
	}
	defer os.Remove(taken)
	r := runc(t, "run", "--bundle", makeBundle(t, []string{"true"}, nil), id)
	if r.status != 1 || !strings.Contains(r.stderr, taken+" exists already") {
		t.Errorf("a default cgroup that exists: want exit 1 and %q, got %d %q", taken+" exists already", r.status, r.stderr)
	}
	if _, err := os.Stat(taken); err != nil {
		t.Errorf("the cgroup that was there is gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ociRoot(), id)); err == nil {
		t.Errorf("a refused create left its state directory")
	}
	os.Remove(taken)
	r = runc(t, "run", "--bundle", makeBundle(t, []string{"sh", "-c", "cat /proc/self/cgroup"}, func(s *specs.Spec) {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == "cgroup" })
	}), id)
	if r.status != 0 || !strings.Contains(r.stdout, ":/mydocker-runc-"+id+"\n") {
		t.Errorf("the default cgroup: want /mydocker-runc-%s, got %d %q %s", id, r.status, r.stdout, r.stderr)
	}
	noOCILeftovers(t, id, 0)
}
