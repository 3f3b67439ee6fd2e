package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestOCIContainerHooks: config.json's createContainer hooks run in the
// container's mount namespace once its mounts are made, before
// pivot_root (their path is the host's), after createRuntime and
// prestart; its startContainer hooks run at start, before the command,
// with the container's own root. Each reads the state on stdin.
func TestOCIContainerHooks(t *testing.T) {
	id := ociID(t)
	out := t.TempDir()
	log := filepath.Join(out, "order")
	host := func(name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", fmt.Sprintf(
			"cat > %s/%s.json; readlink /proc/self/ns/mnt > %s/%s.mnt; echo %s >> %s", out, name, out, name, name, log)}}
	}
	bundle := makeBundle(t, []string{"sh", "-c", "cat /start.json; echo; cat /start.fs"}, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Hooks = &specs.Hooks{
			CreateRuntime: []specs.Hook{host("createRuntime")},
			Prestart:      []specs.Hook{host("prestart")}, //nolint:staticcheck // deprecated, not gone
			CreateContainer: []specs.Hook{host("createContainer"),
				{Path: "/bin/sh", Args: []string{"sh", "-c", "echo createContainer2 >> " + log}}},
			// busybox's sh, found in the container's root: /start.fs
			// is written there.
			StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > /start.json; ls /bin/busybox > /start.fs"}}},
			Poststart:      []specs.Hook{host("poststart")},
		}
	})
	if r := runc(t, "create", "--bundle", bundle, id); r.status != 0 {
		t.Fatalf("create: %d %s", r.status, r.stderr)
	}
	defer func() {
		runc(t, "delete", "--force", id)
		noOCILeftovers(t, id, 0)
	}()
	st, _ := ociState(t, id)
	if _, err := os.Stat(filepath.Join(bundle, "rootfs", "start.json")); err == nil {
		t.Errorf("startContainer: the hook ran at create, before start")
	}
	var cc specs.State
	data, err := os.ReadFile(filepath.Join(out, "createContainer.json"))
	if err != nil {
		t.Fatalf("createContainer: the hook did not run: %v", err)
	}
	if err := json.Unmarshal(data, &cc); err != nil || cc.ID != id || cc.Status != "creating" || cc.Pid != st.Pid || cc.Bundle != bundle {
		t.Errorf("createContainer: want the state on stdin (id %s, creating, pid %d, bundle %s), got %q", id, st.Pid, bundle, data)
	}
	hostMnt, _ := os.Readlink("/proc/self/ns/mnt")
	initMnt, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", st.Pid))
	if m, _ := os.ReadFile(filepath.Join(out, "createContainer.mnt")); strings.TrimSpace(string(m)) != initMnt || initMnt == hostMnt {
		t.Errorf("createContainer: want the container's mount namespace %s (the host's is %s), got %q", initMnt, hostMnt, m)
	}
	if m, _ := os.ReadFile(filepath.Join(out, "createRuntime.mnt")); strings.TrimSpace(string(m)) != hostMnt {
		t.Errorf("createRuntime: want the runtime's mount namespace %s, got %q", hostMnt, m)
	}

	if r := runc(t, "start", id); r.status != 0 {
		t.Fatalf("start: %d %s", r.status, r.stderr)
	}
	for i := 0; i < 500; i++ {
		if st, _ := ociState(t, id); st.Status == "stopped" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	order, _ := os.ReadFile(log)
	if want := "createRuntime\nprestart\ncreateContainer\ncreateContainer2\npoststart\n"; string(order) != want {
		t.Errorf("hooks' order: want %q, got %q", want, order)
	}
	if fs, err := os.ReadFile(filepath.Join(bundle, "rootfs", "start.fs")); err != nil || strings.TrimSpace(string(fs)) != "/bin/busybox" {
		t.Errorf("startContainer: want its path and files resolved in the container's root, got %q %v", fs, err)
	}
	var sc specs.State
	data, _ = os.ReadFile(filepath.Join(bundle, "rootfs", "start.json"))
	if err := json.Unmarshal(data, &sc); err != nil || sc.ID != id || sc.Status != "created" || sc.Pid != st.Pid {
		t.Errorf("startContainer: want the state on stdin (id %s, created, pid %d), got %q", id, st.Pid, data)
	}
}

// TestOCIContainerHooksFail: a createContainer hook that fails fails
// create with one line naming it, and leaves nothing; a startContainer
// hook that fails stops the container before its command runs, and says
// why on the container's stderr.
func TestOCIContainerHooksFail(t *testing.T) {
	id := ociID(t)
	bundle := makeBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo no way >&2; exit 3"}}}}
	})
	before := mountTable(t)
	r := runc(t, "create", "--bundle", bundle, id)
	if r.status == 0 {
		runc(t, "delete", "--force", id)
	}
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); r.status != 1 || len(lines) != 1 || !strings.Contains(r.stderr, "createContainer hook") || !strings.Contains(r.stderr, "no way") {
		t.Errorf("a failing createContainer hook: want exit 1 and one line naming it with its stderr, got %d %q", r.status, r.stderr)
	}
	noOCILeftovers(t, id, 0)
	if mountTable(t) != before {
		t.Errorf("a failing createContainer hook: the host's mount table changed")
	}

	id2 := id + "-start"
	bundle = makeBundle(t, []string{"sh", "-c", "echo the command ran"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/false"}}}
	})
	r = runc(t, "run", "--bundle", bundle, id2)
	defer noOCILeftovers(t, id2, 0)
	if r.status == 0 || strings.Contains(r.stdout, "the command ran") || !strings.Contains(r.stderr, "startContainer hook /bin/false") {
		t.Errorf("run, a failing startContainer hook: want the container stopped before its command, the hook named on stderr; got %d %q %q", r.status, r.stdout, r.stderr)
	}

	// create, then start: start has returned when the hook runs (as
	// runc's), and the reason goes to the container's own stderr.
	id3 := id + "-created"
	out, err := os.Create(filepath.Join(t.TempDir(), "stdio"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(runcBinary(t), "--root", ociRoot(), "create", "--bundle", bundle, id3)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		t.Fatalf("create: %v", err)
	}
	defer func() {
		runc(t, "delete", "--force", id3)
		noOCILeftovers(t, id3, 0)
	}()
	runc(t, "start", id3)
	for i := 0; i < 500; i++ {
		if st, _ := ociState(t, id3); st.Status == "stopped" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st, _ := ociState(t, id3); st.Status != "stopped" {
		t.Errorf("start, a failing startContainer hook: want the container stopped, got %s", st.Status)
	}
	text, _ := os.ReadFile(out.Name())
	if strings.Contains(string(text), "the command ran") || !strings.Contains(string(text), "startContainer hook /bin/false") {
		t.Errorf("start, a failing startContainer hook: want the command not run and the hook named on the container's stderr, got %q", text)
	}
}

// TestOCIPreserveFds: create --preserve-fds N passes the caller's
// descriptors 3 to 3+N-1 to the command as they are, and no other;
// exec --preserve-fds too; a descriptor that is not open is refused.
func TestOCIPreserveFds(t *testing.T) {
	id := ociID(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.WriteFile(in, []byte("from fd 3\n"), 0o644)
	bundle := makeBundle(t, []string{"sh", "-c", "cat <&3; echo to fd 4 >&4; ls /proc/self/fd | tr '\\n' ' '"}, nil)
	run := func(n int, args ...string) (result, string) {
		t.Helper()
		f3, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		defer f3.Close()
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		cmd := exec.Command(runcBinary(t), append([]string{"--root", ociRoot()}, args...)...)
		cmd.ExtraFiles = []*os.File{f3, pw}[:n]
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err = cmd.Run()
		pw.Close()
		var piped strings.Builder
		if n > 1 {
			buf := make([]byte, 100)
			k, _ := pr.Read(buf)
			piped.Write(buf[:k])
		}
		return result{stdout: stdout.String(), stderr: stderr.String(), status: statusOf(t, cmd, err)}, piped.String()
	}
	r, piped := run(2, "run", "--preserve-fds", "2", "--bundle", bundle, id)
	noOCILeftovers(t, id, 0)
	if r.status != 0 || !strings.HasPrefix(r.stdout, "from fd 3\n") || piped != "to fd 4\n" {
		t.Errorf("--preserve-fds 2: want fd 3 read and fd 4 written by the command, got %d %q %q (piped %q)", r.status, r.stdout, r.stderr, piped)
	}
	// ls's own listing adds one descriptor: 0 to 4, and one more.
	if fds := strings.Fields(r.stdout[strings.LastIndexByte(strings.TrimSpace(r.stdout), '\n')+1:]); len(fds) != 6 || fds[3] != "3" || fds[4] != "4" {
		t.Errorf("--preserve-fds 2: want the command to have 0 to 4 (and ls's own), got %q", fds)
	}

	r, _ = run(1, "run", "--preserve-fds", "2", "--bundle", bundle, id+"-closed")
	if r.status != 1 || !strings.Contains(r.stderr, "descriptor 4 is not open") {
		t.Errorf("--preserve-fds past the open descriptors: want 'descriptor 4 is not open', got %d %q", r.status, r.stderr)
	}
	noOCILeftovers(t, id+"-closed", 0)

	// With a terminal too: the pty master still comes over the console
	// socket (init's socket follows the passed descriptor).
	tty := makeBundle(t, []string{"sh", "-c", "cat <&3; echo done"}, func(s *specs.Spec) { s.Process.Terminal = true })
	sock, masters := consoleSocket(t)
	if r, _ := run(1, "create", "--preserve-fds", "1", "--console-socket", sock, "--bundle", tty, id+"-tty"); r.status != 0 {
		t.Fatalf("create --preserve-fds 1 --console-socket: %d %s", r.status, r.stderr)
	}
	defer func() {
		runc(t, "delete", "--force", id+"-tty")
		noOCILeftovers(t, id+"-tty", 0)
	}()
	master := <-masters
	if master == nil {
		t.Fatal("--preserve-fds with --console-socket: no pty master came over the socket")
	}
	defer master.Close()
	runc(t, "start", id+"-tty")
	var got strings.Builder
	sc := bufio.NewScanner(master)
	for sc.Scan() && !strings.Contains(sc.Text(), "done") {
		got.WriteString(strings.TrimRight(sc.Text(), "\r") + "\n")
	}
	if got.String() != "from fd 3\n" {
		t.Errorf("--preserve-fds with a terminal: want fd 3 read through the pty, got %q", got.String())
	}

	idle := makeBundle(t, []string{"sleep", "100"}, nil)
	if r := runc(t, "run", "-d", "--bundle", idle, id+"-exec"); r.status != 0 {
		t.Fatalf("run -d: %s", r.stderr)
	}
	defer func() {
		runc(t, "delete", "--force", id+"-exec")
		noOCILeftovers(t, id+"-exec", 0)
	}()
	r, piped = run(2, "exec", "--preserve-fds", "2", id+"-exec", "sh", "-c", "cat <&3; echo to fd 4 >&4")
	if r.status != 0 || r.stdout != "from fd 3\n" || piped != "to fd 4\n" {
		t.Errorf("exec --preserve-fds 2: want fd 3 read and fd 4 written, got %d %q %q (piped %q)", r.status, r.stdout, r.stderr, piped)
	}
}
