package e2e

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inImage runs mydocker with the tests' store.
func inImage(t *testing.T, args ...string) result {
	t.Helper()
	needImage(t)
	r := run(t, nil, append([]string{"--root", storeRoot}, args...)...)
	checkNoWorkspaceLeft(t)
	return r
}

func mustRunInImage(t *testing.T, args ...string) string {
	t.Helper()
	r := inImage(t, args...)
	if r.status != 0 {
		t.Fatalf("mydocker %q: status %d, stderr:\n%s", args, r.status, r.stderr)
	}
	return r.stdout
}

// checkNoWorkspaceLeft: a container's directories (its layer under the
// root, its runtime state under /run) are removed when it exits.
func checkNoWorkspaceLeft(t *testing.T) {
	t.Helper()
	checkNoContainerDirs(t, storeRoot)
}

func checkNoContainerDirs(t *testing.T, root string) {
	t.Helper()
	for _, dir := range []string{filepath.Join(root, "containers"), runtimeDir, filepath.Join(runtimeDir, ".names"), filepath.Join(runtimeDir, ".work")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() != ".lock" && e.Name() != ".names" && e.Name() != ".work" {
				t.Errorf("container directory left behind: %s", filepath.Join(dir, e.Name()))
			}
		}
	}
}

func TestImageRootIsTheImage(t *testing.T) {
	out := mustRunInImage(t, "run", "busybox", "ls", "/")
	for _, want := range []string{"bin", "etc", "linuxrc", "proc", "dev"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("ls / in the image lacks %s:\n%s", want, out)
		}
	}
	// The host's files are unreachable: the repository checkout, and the
	// host's root by any path.
	cwd, _ := os.Getwd()
	r := inImage(t, "run", "busybox", "sh", "-c", "test -e "+cwd+" && echo reachable; ls /proc/1/root/ | grep -c work; true")
	if strings.Contains(r.stdout, "reachable") || strings.TrimSpace(r.stdout) != "0" {
		t.Errorf("host files reachable from the container: %q", r.stdout)
	}
}

func TestImageProcMountsListNoHostMountPoints(t *testing.T) {
	out := mustRunInImage(t, "run", "-v", t.TempDir()+":/data", "busybox", "cat", "/proc/mounts")
	allowed := map[string]bool{"/": true, "/proc": true, "/sys": true, "/dev": true, "/dev/pts": true,
		"/dev/shm": true, "/etc/hostname": true, "/etc/hosts": true, "/etc/resolv.conf": true, "/data": true}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		// Masked and read-only kernel files are mounts of their own.
		if f := strings.Fields(line); len(f) < 2 || !allowed[f[1]] && !strings.HasPrefix(f[1], "/proc/") && !strings.HasPrefix(f[1], "/sys/") {
			t.Errorf("unexpected mount inside the container: %q", line)
		}
	}
}

func TestImageWritesNeverReachTheImage(t *testing.T) {
	mustRunInImage(t, "run", "busybox", "sh", "-c", "echo x > /new-file && rm /etc/motd && echo changed > /etc/passwd")
	rootfs := busyboxRootfs(t)
	if _, err := os.Stat(filepath.Join(rootfs, "new-file")); err == nil {
		t.Error("a container's new file reached the image")
	}
	if _, err := os.Stat(filepath.Join(rootfs, "etc/motd")); err != nil {
		t.Error("a container's delete reached the image")
	}
	if out := mustRunInImage(t, "run", "busybox", "sh", "-c", "cat /etc/motd >/dev/null && test ! -e /new-file && head -1 /etc/passwd"); !strings.HasPrefix(out, "root:") {
		t.Errorf("the next container sees the previous one's changes: %q", out)
	}
}

func TestImageTwoContainersAreIsolated(t *testing.T) {
	// A writes a file and stays up until its stdin closes; B, running at
	// the same time, must not see it.
	needImage(t)
	a := exec.Command(mydocker, "--root", storeRoot, "run", "-i", "busybox", "sh", "-c", "echo a > /only-in-a; echo written; read line; true")
	stdin, _ := a.StdinPipe()
	stdout, _ := a.StdoutPipe()
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, a)
	if sc := bufio.NewScanner(stdout); !sc.Scan() || sc.Text() != "written" {
		t.Fatal("container A did not start")
	}
	r := run(t, nil, "--root", storeRoot, "run", "busybox", "sh", "-c", "test -e /only-in-a && echo seen || echo unseen")
	stdin.Close()
	if err := a.Wait(); err != nil {
		t.Errorf("container A: %v", err)
	}
	if r.stdout != "unseen\n" {
		t.Errorf("container B sees A's file: %q (%s)", r.stdout, r.stderr)
	}
	checkNoWorkspaceLeft(t)
}

func TestImageVolumes(t *testing.T) {
	dir := t.TempDir()
	rw := filepath.Join(dir, "rw")
	os.Mkdir(rw, 0o755)
	os.WriteFile(filepath.Join(rw, "from-host"), []byte("host data\n"), 0o644)
	missing := filepath.Join(dir, "created", "by", "run")
	out := mustRunInImage(t, "run", "-v", rw+":/data", "-v", rw+":/readonly:ro", "-v", missing+":/new/place",
		"busybox", "sh", "-c", `cat /data/from-host; echo from-container > /data/written;
echo x > /readonly/nope 2>/dev/null && echo ro-writable || echo ro-refused;
echo y > /new/place/file && echo new-ok`)
	if out != "host data\nro-refused\nnew-ok\n" {
		t.Errorf("volumes inside: %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(rw, "written")); string(b) != "from-container\n" {
		t.Errorf("data written to a volume is not on the host: %q", b)
	}
	if _, err := os.Stat(filepath.Join(rw, "nope")); err == nil {
		t.Error("a :ro volume was written")
	}
	if b, _ := os.ReadFile(filepath.Join(missing, "file")); string(b) != "y\n" {
		t.Errorf("missing host directory was not created and used: %q", b)
	}
}

func TestImageReadOnlyRoot(t *testing.T) {
	vol := t.TempDir()
	out := mustRunInImage(t, "run", "--read-only", "-v", vol+":/vol", "busybox", "sh", "-c", `
for p in /file /tmp/file /vol/file /dev/shm/file; do echo x > $p 2>/dev/null && echo "$p writable" || echo "$p refused"; done`)
	want := "/file refused\n/tmp/file writable\n/vol/file writable\n/dev/shm/file writable\n"
	if out != want {
		t.Errorf("--read-only:\n%s\nwant:\n%s", out, want)
	}
}

func TestImageDevWorks(t *testing.T) {
	out := mustRunInImage(t, "run", "busybox", "sh", "-c", `echo hi > /dev/null && echo null-ok
head -c1 /dev/urandom | wc -c; head -c3 /dev/zero | wc -c
test -c /dev/full -a -c /dev/random -a -c /dev/tty && echo nodes-ok
test -c /dev/pts/ptmx -a -L /dev/ptmx -a -d /dev/shm && echo pts-ok
ls /dev/pts`)
	if out != "null-ok\n1\n3\nnodes-ok\npts-ok\nptmx\n" {
		t.Errorf("/dev inside: %q", out)
	}
	if out := mustRunInImage(t, "run", "busybox", "sh", "-c", "ls /dev/sda* /dev/vda* /dev/mem 2>/dev/null | wc -l"); strings.TrimSpace(out) != "0" {
		t.Errorf("host devices visible in the container: %q", out)
	}
}

func TestImageEnvironmentAndEtcFiles(t *testing.T) {
	needImage(t)
	cmd := exec.Command(mydocker, "--root", storeRoot, "run", "-e", "EXTRA=1", "busybox", "sh", "-c",
		`echo "$PATH|$HOME|$EXTRA|${HOST_ONLY:-unset}"; test "$HOSTNAME" = "$(hostname)" && echo hostname-ok
test "$(cat /etc/hostname)" = "$(hostname)" && grep -q "$(hostname)" /etc/hosts && echo etc-ok; test -f /etc/resolv.conf && echo resolv-ok; pwd`)
	cmd.Env = append(os.Environ(), "HOST_ONLY=leaked")
	out, err := cmd.Output()
	want := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root|1|unset\nhostname-ok\netc-ok\nresolv-ok\n/\n"
	if err != nil || string(out) != want {
		t.Errorf("image environment: %q (%v), want %q", out, err, want)
	}
	if out := mustRunInImage(t, "run", "--hostname", "web", "-w", "/etc", "busybox", "sh", "-c", "cat /etc/hostname; pwd"); out != "web\n/etc\n" {
		t.Errorf("--hostname/-w in an image: %q", out)
	}
}

func TestImageRunFromSharedRoot(t *testing.T) {
	// pivot_root fails with EINVAL when the mount tree is shared (issue
	// #62 of the book's project): run inside a namespace whose "/" is.
	needImage(t)
	out, err := exec.Command("unshare", "--mount", "--propagation", "shared",
		mydocker, "--root", storeRoot, "run", "busybox", "echo", "pivoted").CombinedOutput()
	if err != nil || string(out) != "pivoted\n" {
		t.Errorf("image run under a shared /: %v\n%s", err, out)
	}
	checkNoWorkspaceLeft(t)
}

func TestRootfsDirectoryUsedAsIs(t *testing.T) {
	needImage(t)
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	os.Mkdir(rootfs, 0o755)
	if out, err := exec.Command("tar", "-C", rootfs, "-xf", filepath.Join(testDir, "busybox.tar")).CombinedOutput(); err != nil {
		t.Fatalf("unpack: %v %s", err, out)
	}
	out := mustRunInImage(t, "run", "--rootfs", rootfs, "/bin/sh", "-c", "echo kept > /written; cat /etc/motd")
	if !strings.Contains(out, "busybox") {
		t.Errorf("--rootfs: %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(rootfs, "written")); string(b) != "kept\n" {
		t.Errorf("--rootfs writes land in the directory: %q", b)
	}
}

func TestImageBadInput(t *testing.T) {
	dir := t.TempDir()
	needImage(t)
	mustRunInImage(t, "import", imageTarball(), "no-cmd") // without --change: no CMD
	defer inImage(t, "rmi", "no-cmd")
	// What docker save writes: a manifest and the layer as a tarball.
	saved := filepath.Join(dir, "saved.tar")
	{
		f, _ := os.Create(saved)
		tw := tar.NewWriter(f)
		layer, _ := os.ReadFile(imageTarball())
		for name, body := range map[string][]byte{"manifest.json": []byte(`[{"Layers":["` + strings.Repeat("0", 64) + `/layer.tar"]}]`), strings.Repeat("0", 64) + "/layer.tar": layer} {
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
			tw.Write(body)
		}
		tw.Close()
		f.Close()
	}
	cases := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"image without command", []string{"run", "no-cmd"}, 125, "give one"},
		{"missing image", []string{"run", "--pull", "never", "no-such-image", "sh"}, 125, "no image"},
		{"missing rootfs", []string{"run", "--rootfs", filepath.Join(dir, "nope"), "/bin/sh"}, 125, "not a directory"},
		{"empty rootfs", []string{"run", "--rootfs", "", "/bin/true"}, 125, "empty string"},
		{"relative volume", []string{"run", "-v", "data:/data", "busybox", "true"}, 125, "absolute"},
		{"relative target", []string{"run", "-v", dir + ":data", "busybox", "true"}, 125, "absolute"},
		{"volume over /proc", []string{"run", "-v", dir + ":/proc", "busybox", "true"}, 125, "/proc"},
		{"volume under /dev", []string{"run", "-v", dir + ":/dev/x", "busybox", "true"}, 125, "/dev"},
		{"volume over /", []string{"run", "-v", dir + ":/", "busybox", "true"}, 125, "/"},
		{"missing :ro target", []string{"run", "-v", dir + "::ro", "busybox", "true"}, 125, "absolute"},
		{"bad mode", []string{"run", "-v", dir + ":/x:rx", "busybox", "true"}, 125, "mode"},
		{"volume in host mode", []string{"run", "-v", dir + ":/x", "/bin/true"}, 125, "need an image"},
		{"read-only in host mode", []string{"run", "--read-only", "/bin/true"}, 125, "need an image"},
		{"missing command in image", []string{"run", "busybox", "nosuch"}, 127, "not found"},
		{"rmi missing", []string{"rmi", "no-such-image"}, 125, "no such image"},
		{"import missing file", []string{"import", filepath.Join(dir, "none.tar"), "x"}, 125, "no such file"},
		{"import bad name", []string{"import", "/dev/null", "Bad/Name"}, 125, "invalid image name"},
		{"import of docker save", []string{"import", saved, "saved"}, 125, "this is an image archive (docker save), not a root filesystem"},
		{"import existing", []string{"import", "/dev/null", "busybox"}, 125, "already exists"},
		{"import corrupt", []string{"import", "/etc/hostname", "corrupt"}, 125, "corrupt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectFailure(t, inImage(t, c.args...), c.want, c.msg)
		})
	}
	// A failed run takes back the volume directory it created.
	missing := filepath.Join(dir, "made-then-removed")
	inImage(t, "run", "-v", missing+":/x", "busybox", "nosuch")
	if _, err := os.Stat(missing); err == nil {
		t.Error("a failed run left the volume directory it created")
	}
}

func TestImagesAndRmi(t *testing.T) {
	needImage(t)
	tarball := filepath.Join(testDir, "busybox.tar")
	imported := mustRunInImage(t, "import", tarball, "second")
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`).MatchString(imported) {
		t.Errorf("import prints %q, want the image's ID as docker does", imported)
	}
	// docker's columns, newest first.
	out := mustRunInImage(t, "images")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	row := regexp.MustCompile(`^second +latest +` + imported[7:19] + ` +(Less than a second|[0-9]+ seconds?) ago +[0-9.]+MB$`)
	if len(lines) < 3 || !regexp.MustCompile(`^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$`).MatchString(lines[0]) || !row.MatchString(lines[1]) || !strings.Contains(out, "\nbusybox ") {
		t.Errorf("images:\n%s", out)
	}
	if q := mustRunInImage(t, "images", "-q", "second"); q != imported[7:19]+"\n" {
		t.Errorf("images -q second: %q", q)
	}

	// In use: refused while a container runs on it.
	c := exec.Command(mydocker, "--root", storeRoot, "run", "-i", "second", "sh", "-c", "echo up; read line; true")
	stdin, _ := c.StdinPipe()
	stdout, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, c)
	bufio.NewScanner(stdout).Scan()
	r := run(t, nil, "--root", storeRoot, "rmi", "second")
	stdin.Close()
	c.Wait()
	expectFailure(t, r, 125, "in use")

	// And while a detached container that used it is kept, exited, until
	// rm: its layer's lower layer is the image (start, commit).
	id := detached(t, "--name", "rmi-user", "second", "true")
	waitStatus(t, id, `Exited \(0\)`)
	r = run(t, nil, "--root", storeRoot, "rmi", "second")
	expectFailure(t, r, 125, `image "second" is in use by container rmi-user`)
	mustRun(t, "rm", id)

	if out := mustRunInImage(t, "rmi", "second"); out != "Untagged: second:latest\nDeleted: "+imported {
		t.Errorf("rmi prints %q", out)
	}
	if out := mustRunInImage(t, "images"); strings.Contains(out, "\nsecond ") {
		t.Errorf("rmi'd image still listed:\n%s", out)
	}
}

func TestKilledMydockerLeavesNothingAfterNextCommand(t *testing.T) {
	needImage(t)
	mark := markEnv(t)
	killMydockerWhileSleeping(t, "--root", storeRoot, "run", "-e", mark, "busybox", "sleep", "1000")
	// The overlay lived in the container's mount namespace: the host's
	// table never had it (run's helper compares it). The directory stays
	// until the next command cleans it.
	mustRunInImage(t, "run", "busybox", "true")
	expectNoSurvivors(t, mark)
}

func TestImageWithTerminal(t *testing.T) {
	// In an image the terminal is the container's own: /dev/pts/0 of its
	// own devpts instance, sized like the user's, with job control.
	needImage(t)
	s := startSession(t, 33, 99, "--root", storeRoot, "run", "-ti", "busybox", "sh")
	s.send("echo pid=$$ term=$TERM tty=$(tty) pts=$(ls /dev/pts | tr '\\n' ,) size=$(stty size | tr ' ' x)-$((1+1))\r")
	s.expect("pid=1 term=xterm tty=/dev/pts/0 pts=0,ptmx, size=33x99-2")
	s.send("sleep 100\r")
	waitForDescendant(t, s.cmd.Process.Pid, "sleep")
	s.send("\x03") // Ctrl-C
	s.send("echo alive-$((40+2))\r")
	s.expect("alive-42")
	s.send("exit 4\r")
	if status := s.wait(); status != 4 {
		t.Errorf("status %d", status)
	}
	checkNoWorkspaceLeft(t)
}

// TestDebianImage runs a real distribution: Debian's minbase, made with
// debootstrap by the project's script (cached in .cache/ between runs) and
// imported from a gzip tarball.
func TestDebianImage(t *testing.T) {
	tarball, err := filepath.Abs("../../.cache/debian.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tarball); err != nil {
		if out, err := exec.Command("../../scripts/make-debian-image.sh", tarball).CombinedOutput(); err != nil {
			t.Fatalf("make-debian-image: %v\n%s", err, out)
		}
	}
	root := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command(mydocker, "--root", root, "import", tarball, "debian").CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	r := run(t, nil, "--root", root, "run", "debian", "/bin/bash", "-c",
		`. /etc/os-release; echo "$ID $VERSION_CODENAME"; id -un; apt-get --version | head -1 | cut -d' ' -f1; echo x > /dev/null && echo dev-ok; echo $$`)
	if r.status != 0 || !strings.HasPrefix(r.stdout, "debian ") || !strings.Contains(r.stdout, "\nroot\napt\ndev-ok\n1\n") {
		t.Errorf("Debian container: status %d\n%s\n%s", r.status, r.stdout, r.stderr)
	}
	checkNoContainerDirs(t, root)
}

func TestRmiGoesOnThroughEveryName(t *testing.T) {
	needImage(t)
	tarball := imageTarball()
	mustRunInImage(t, "import", tarball, "rmi-one")
	mustRunInImage(t, "import", tarball, "rmi-two")
	r := inImage(t, "rmi", "rmi-one", "no-such-image", "rmi-two")
	if r.status != 125 || !strings.Contains(r.stdout, "Untagged: rmi-one:latest\n") || !strings.Contains(r.stdout, "Untagged: rmi-two:latest\n") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "no-such-image") {
		t.Errorf("rmi a b c with b missing: status %d, stdout %q, stderr %q", r.status, r.stdout, r.stderr)
	}
}

func TestImportChangeRecordsDefaults(t *testing.T) {
	needImage(t)
	tarball, err := os.Open(imageTarball())
	if err != nil {
		t.Fatal(err)
	}
	defer tarball.Close()
	// From standard input, as `docker import -`.
	r := run(t, tarball, "--root", storeRoot, "import",
		"--change", `CMD ["sh", "-c", "echo $GREETING from $PWD"]`, "--change", "ENV GREETING=hello",
		"--change", "WORKDIR /srv/app", "-", "with-defaults")
	if r.status != 0 || !strings.HasPrefix(r.stdout, "sha256:") {
		t.Fatalf("import - with --change: status %d, %q %q", r.status, r.stdout, r.stderr)
	}
	defer inImage(t, "rmi", "with-defaults")
	if out := mustRunInImage(t, "run", "with-defaults"); out != "hello from /srv/app\n" {
		t.Errorf("run without a command should run the image's CMD in its WORKDIR with its ENV: %q", out)
	}
	if out := mustRunInImage(t, "run", "-e", "GREETING=bye", "-w", "/tmp", "with-defaults"); out != "bye from /tmp\n" {
		t.Errorf("-e and -w should win over the image's ENV and WORKDIR: %q", out)
	}
	if out := mustRunInImage(t, "inspect", "with-defaults"); !strings.Contains(out, `"Cmd": [
                "sh",
                "-c",
                "echo $GREETING from $PWD"
            ]`) {
		t.Errorf("inspect does not show the CMD:\n%s", out)
	}
	// busybox was imported with CMD ["sh"], as the README says.
	if out := mustRunInImage(t, "run", "busybox"); out != "" {
		t.Errorf("run busybox (sh with no input): %q", out)
	}
	for _, bad := range []string{"ONBUILD RUN x", "EXPOSE http", "CMD", `CMD ["sh"`, "WORKDIR relative"} {
		r := inImage(t, "import", "--change", bad, imageTarball(), "never")
		expectFailure(t, r, 125, "--change")
	}
	if out := mustRunInImage(t, "images"); strings.Contains(out, "never") {
		t.Errorf("a refused import left an image:\n%s", out)
	}
}

// TestImageConfigRules: ENTRYPOINT, CMD, USER and STOPSIGNAL as docker
// runs them: argv is the entrypoint and the command; arguments after the
// image replace the command; --entrypoint replaces the entrypoint and
// drops the command, ” resets it; the image's user unless -u; stop sends
// the image's stop signal.
func TestImageConfigRules(t *testing.T) {
	needImage(t)
	mustRunInImage(t, "import", "--change", `ENTRYPOINT ["echo", "ep"]`, "--change", `CMD ["default"]`,
		"--change", "USER nobody", "--change", "STOPSIGNAL USR1", imageTarball(), "configured")
	defer inImage(t, "rmi", "configured")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"configured"}, "ep default"},
		{[]string{"configured", "given", "args"}, "ep given args"},
		{[]string{"--entrypoint", "id", "configured", "-u"}, "65534"},        // the image's USER
		{[]string{"-u", "0", "--entrypoint", "id", "configured", "-u"}, "0"}, // -u wins
		{[]string{"--entrypoint", "", "configured", "echo", "reset"}, "reset"},
	} {
		if out := mustRunInImage(t, append([]string{"run"}, c.args...)...); strings.TrimSpace(out) != c.want {
			t.Errorf("run %q: %q, want %q", c.args, out, c.want)
		}
	}
	expectFailure(t, inImage(t, "run", "--entrypoint", "", "configured"), 125, "no command specified")
	expectFailure(t, inImage(t, "run", "--entrypoint", "x", "/bin/true"), 125, "--entrypoint needs an image")
	if out := mustRunInImage(t, "inspect", "configured"); !strings.Contains(out, `"Entrypoint": [
                "echo",
                "ep"
            ]`) {
		t.Errorf("inspect does not show the entrypoint:\n%s", out)
	}
	// STOPSIGNAL: stop sends USR1, which the command traps (once it has
	// set the trap, /tmp/trapped: PID 1 never gets a signal it has no
	// handler for).
	id := detached(t, "--entrypoint", "sh", "configured", "-c", "trap 'exit 9' USR1; touch /tmp/trapped; while :; do sleep 0.05; done")
	waitStatus(t, id, `Up `)
	for deadline := time.Now().Add(15 * time.Second); run(t, nil, "exec", id, "test", "-e", "/tmp/trapped").status != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the container's shell never set its trap")
		}
	}
	if out := mustRun(t, "inspect", id); !strings.Contains(out, `"StopSignal": "USR1"`) || !strings.Contains(out, `"User": "nobody"`) {
		t.Errorf("inspect shows no StopSignal USR1 and User nobody:\n%s", out)
	}
	mustRun(t, "stop", "-t", "10", id)
	waitStatus(t, id, `Exited \(9\)`)
	mustRun(t, "rm", id)
	for _, bad := range []string{"STOPSIGNAL BOGUS", "USER a:", "ENTRYPOINT [", "LABEL novalue"} {
		expectFailure(t, inImage(t, "import", "--change", bad, imageTarball(), "never"), 125, "--change")
	}
}

func TestConcurrentImportsOfOneName(t *testing.T) {
	needImage(t)
	defer inImage(t, "rmi", "raced")
	results := make(chan result, 4)
	for i := 0; i < 4; i++ {
		go func() {
			cmd := exec.Command(mydocker, "--root", storeRoot, "import", imageTarball(), "raced")
			var out, errOut strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			status := 0
			if cmd.ProcessState != nil {
				status = cmd.ProcessState.ExitCode()
			} else if err != nil {
				status = -1
			}
			results <- result{stdout: out.String(), stderr: errOut.String(), status: status}
		}()
	}
	won := 0
	for i := 0; i < 4; i++ {
		r := <-results
		if r.status == 0 {
			won++
			continue
		}
		if r.status != 125 || !regexp.MustCompile(`image "raced(:latest)?" already exists`).MatchString(r.stderr) || strings.Contains(r.stderr, "tmp/") {
			t.Errorf("a losing import: status %d, stderr %q (want: the image already exists)", r.status, r.stderr)
		}
	}
	if won != 1 {
		t.Errorf("%d imports of one name succeeded, want 1", won)
	}
	entries, _ := os.ReadDir(filepath.Join(storeRoot, "image", "tmp"))
	for _, e := range entries {
		t.Errorf("staging directory left behind: %s", e.Name())
	}
}

// TestLayerVolatileOnlyWhenThrownAway: a foreground container's layer
// goes with it, and is mounted volatile (no sync of the disk at its end); a
// detached container's is kept for commit and start, and is durable.
func TestLayerVolatileOnlyWhenThrownAway(t *testing.T) {
	needImage(t)
	rootMount := func(out string) string {
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 4 && f[4] == "/" {
				return line
			}
		}
		t.Fatalf("no / in the container's mountinfo:\n%s", out)
		return ""
	}
	fg := rootMount(mustRun(t, "run", "busybox", "cat", "/proc/self/mountinfo"))
	if !strings.Contains(fg, "volatile") {
		t.Errorf("a foreground container's layer is not mounted volatile: %s", fg)
	}
	id := strings.TrimSpace(mustRun(t, "run", "-d", "busybox", "sleep", "1000"))
	t.Cleanup(func() { run(t, nil, "rm", "-f", id) })
	waitStatus(t, id, "Up ")
	bg := rootMount(mustRun(t, "exec", id, "cat", "/proc/self/mountinfo"))
	if strings.Contains(bg, "volatile") {
		t.Errorf("a detached container's layer, kept for commit and start, is mounted volatile: %s", bg)
	}
}

// TestImportProgressOnlyOnATerminal: import and commit say how far they
// are on stderr when it is a terminal, and nothing in a pipe.
func TestImportProgressOnlyOnATerminal(t *testing.T) {
	needImage(t)
	s := startSession(t, 24, 80, "import", imageTarball(), "progress-tty")
	// What the terminal shows is read by a goroutine of the session's:
	// wait for the last line, then for mydocker.
	s.expect("sha256:")
	if status := s.wait(); status != 0 {
		t.Fatalf("import under a terminal: status %d: %q", status, s.output())
	}
	if !regexp.MustCompile(`import progress-tty:latest: [0-9.]+[kM]B of [0-9.]+[kM]B \(100%\)`).MatchString(s.output()) {
		t.Errorf("no progress on a terminal: %q", s.output())
	}
	r := run(t, nil, "import", imageTarball(), "progress-pipe")
	if r.status != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "sha256:") {
		t.Errorf("import in a pipe: status %d, stderr %q, stdout %q (want no progress)", r.status, r.stderr, r.stdout)
	}
	id := strings.TrimSpace(mustRun(t, "run", "-d", "busybox", "true"))
	t.Cleanup(func() { run(t, nil, "rm", "-f", id) })
	waitStatus(t, id, "Exited")
	c := startSession(t, 24, 80, "commit", id, "progress-commit")
	c.expect("sha256:")
	if status := c.wait(); status != 0 || !regexp.MustCompile(`commit progress-commit:latest: [0-9.]+[kM]?B`).MatchString(c.output()) {
		t.Errorf("commit under a terminal: status %d, %q", status, c.output())
	}
	mustRun(t, "rmi", "progress-tty", "progress-pipe", "progress-commit")
}

// TestRmiWhileContainersStart: rmi and runs of the same image at the same
// moment. Each run either runs on the whole image or says the image is not
// there (gone before it looked, or taken while it was being made); rmi
// either removes the image or refuses it as in use. Never a container on
// an image rmi has taken away.
func TestRmiWhileContainersStart(t *testing.T) {
	needImage(t)
	tarball := filepath.Join(testDir, "busybox.tar")
	outcomes := map[string]int{}
	for round := 0; round < 30; round++ {
		mustRunInImage(t, "import", tarball, "racing")
		var wg sync.WaitGroup
		results := make(chan result, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				time.Sleep(time.Duration(2+i) * time.Millisecond)
				// The image's files are read all the way through the run.
				results <- run(t, nil, "--root", storeRoot, "run", "--pull", "never", "racing", "sh", "-c", "ls /bin >/dev/null && cat /bin/busybox >/dev/null && echo ran")
			}(i)
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		rmi := run(t, nil, "--root", storeRoot, "rmi", "racing")
		wg.Wait()
		close(results)
		switch {
		case rmi.status == 0:
			outcomes["rmi removed"]++
		case strings.Contains(rmi.stderr, "in use by container"):
			outcomes["rmi refused"]++
			mustRunInImage(t, "rmi", "racing")
		default:
			t.Fatalf("rmi: status %d, %q", rmi.status, rmi.stderr)
		}
		for r := range results {
			switch {
			case r.status == 0 && r.stdout == "ran\n":
				outcomes["ran"]++
			case r.status == 125 && strings.Contains(r.stderr, `no image "racing"`):
				outcomes["no image"]++
			case r.status == 125 && strings.Contains(r.stderr, `image "racing": removed`):
				outcomes["removed while made"]++
			default:
				t.Errorf("run during rmi: status %d, stdout %q, stderr %q; want a whole run or the image not there", r.status, r.stdout, r.stderr)
			}
		}
	}
	checkNoWorkspaceLeft(t)
	t.Logf("outcomes: %v", outcomes)
}

// TestRunStopsOnAnImageRmiTookAway: a run that found its image, then waits
// for the containers lock while rmi (played here by the test, holding the
// lock as rmi does) takes the image away, stops with 125 before making a
// container of it, and leaves nothing behind.
func TestRunStopsOnAnImageRmiTookAway(t *testing.T) {
	needImage(t)
	mustRunInImage(t, "import", filepath.Join(testDir, "busybox.tar"), "taken")
	lock, err := os.OpenFile(filepath.Join(runtimeDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(mydocker, "--root", storeRoot, "run", "taken", "true")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, cmd)
	waitForWchan(t, cmd.Process.Pid, "locks_lock_inode_wait")
	// What rmi does under the lock: the image's config goes.
	config := imageConfigPath(t, storeRoot, "taken")
	saved, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(config); err != nil {
		t.Fatal(err)
	}
	defer func() { os.WriteFile(config, saved, 0o644); inImage(t, "rmi", "taken") }()
	lock.Close()
	err = cmd.Wait()
	if status := statusOf(t, cmd, err); status != 125 || !strings.Contains(stderr.String(), `image "taken": removed`) {
		t.Errorf("run on an image taken away while it waited: status %d, stderr %q; want 125, the image removed", status, stderr.String())
	}
	checkNoWorkspaceLeft(t)
}

// waitForWchan waits (boundedly) until process pid sleeps in the kernel
// function fn.
func waitForWchan(t *testing.T, pid int, fn string) {
	t.Helper()
	var got []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got, _ = os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid)); string(got) == fn {
			return
		}
	}
	t.Fatalf("process %d never slept in %s (last: %q)", pid, fn, got)
}

// TestRmiWithoutRootWhereNoContainerEverRan: rmi needs the containers lock
// only where containers were made; as a user who may not make the runtime
// directory, on a host where none ever ran, it still says what it says of
// the image.
func TestRmiWithoutRootWhereNoContainerEverRan(t *testing.T) {
	dir, err := os.MkdirTemp("", "mydocker-rmi-") // t.TempDir's parent is root's only
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // nobody looks in, cannot write
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		mydocker, "--root", filepath.Join(dir, "root"), "rmi", "nosuch")
	cmd.Env = append(os.Environ(), "MYDOCKER_RUNTIME_DIR="+filepath.Join(dir, "run"))
	out, err := cmd.CombinedOutput()
	if status := statusOf(t, cmd, err); status != 125 || string(out) != "mydocker: image \"nosuch\": no such image\n" {
		t.Errorf("rmi as nobody: status %d, %q; want 125 and no such image", status, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "run")); err == nil {
		t.Errorf("rmi made the runtime directory")
	}
}

// TestInterruptedImportLeavesNothing: an import stopped half-way leaves
// no image and no staging directory: Ctrl-C (SIGINT) and SIGTERM remove
// it at once, with the shell's status for the signal; after SIGKILL, the
// next import removes it. The tarball comes on a pipe that goes quiet
// half-way, so the signal lands while the import waits for more.
func TestInterruptedImportLeavesNothing(t *testing.T) {
	needImage(t)
	data, err := os.ReadFile(imageTarball())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	images := filepath.Join(root, "image", "tmp")
	staging := func() []string {
		found, _ := filepath.Glob(filepath.Join(images, "*"))
		return found
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		cmd := exec.Command(mydocker, "--root", root, "import", "-", "half")
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killOnFailure(t, cmd)
		in.Write(data[:len(data)/2])
		for deadline := time.Now().Add(10 * time.Second); len(staging()) == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no staging directory appeared in %s", images)
			}
		}
		cmd.Process.Signal(sig)
		err = cmd.Wait()
		in.Close()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if sig == syscall.SIGKILL {
			if left := staging(); len(left) != 1 {
				t.Fatalf("after SIGKILL: %q, want its staging directory (for the next import to remove)", left)
			}
			mustRun(t, "--root", root, "import", imageTarball(), "next")
		} else if !ws.Exited() || ws.ExitStatus() != 128+int(sig) || !strings.Contains(stderr.String(), "interrupted") || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("import stopped by %v: %v, stderr %q; want status %d and one line saying it was interrupted", sig, err, stderr.String(), 128+int(sig))
		}
		if left := staging(); len(left) != 0 {
			t.Errorf("after %v (and the next import): staging left: %q", sig, left)
		}
		if r := run(t, nil, "--root", root, "images"); strings.Contains(r.stdout, "half") {
			t.Errorf("after %v: the half import is listed:\n%s", sig, r.stdout)
		}
	}
}

// TestInterruptedCommitLeavesNothing: Ctrl-C during a commit removes the
// half-made image, as for import.
func TestInterruptedCommitLeavesNothing(t *testing.T) {
	needImage(t)
	root := t.TempDir()
	mustRun(t, "--root", root, "import", imageTarball(), "busybox")
	// A layer big enough for the commit to take a while.
	id := strings.TrimSpace(mustRun(t, "--root", root, "run", "-d", "busybox", "dd", "if=/dev/zero", "of=/big", "bs=1M", "count=300"))
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(mustRun(t, "--root", root, "ps", "-a"), "Exited (0)"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the container writing its layer never ended")
		}
	}
	images := filepath.Join(root, "image", "tmp")
	cmd := exec.Command(mydocker, "--root", root, "commit", id, "half")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, cmd)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if found, _ := filepath.Glob(filepath.Join(images, "*", "diff", "big")); len(found) > 0 {
			break
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("the commit never staged its image")
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if status := statusOf(t, cmd, err); status != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("commit stopped by SIGINT: status %d, stderr %q; want 130 and that it was interrupted", status, stderr.String())
	}
	if left, _ := filepath.Glob(filepath.Join(images, "*")); len(left) != 0 {
		t.Errorf("the interrupted commit left %q", left)
	}
	mustRun(t, "--root", root, "rm", id)
}

// TestImageFileCapabilitiesAndDevices: an image whose busybox carries
// cap_net_raw+ep as a file capability, as Debian's ping does: run as a
// user who is not root, it may open a raw socket (ping), which the plain
// busybox may not; and a device node of the archive is there, as docker
// unpacks it.
func TestImageFileCapabilitiesAndDevices(t *testing.T) {
	needImage(t)
	in, err := os.Open(imageTarball())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	derived := filepath.Join(t.TempDir(), "caps.tar")
	out, err := os.Create(derived)
	if err != nil {
		t.Fatal(err)
	}
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	var busybox []byte
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		body, _ := io.ReadAll(tr)
		if hdr.Name == "./bin/busybox" {
			busybox = body
		}
		tw.WriteHeader(hdr)
		tw.Write(body)
	}
	netRaw := string([]byte{0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	for _, hdr := range []*tar.Header{
		{Name: "./cap/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "./cap/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(busybox)),
			PAXRecords: map[string]string{"SCHILY.xattr.security.capability": netRaw}},
		{Name: "./imgdev/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "./imgdev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
	} {
		tw.WriteHeader(hdr)
		if hdr.Size > 0 {
			tw.Write(busybox)
		}
	}
	if err := tw.Close(); err != nil || out.Close() != nil || len(busybox) == 0 {
		t.Fatalf("derived image: %v (busybox %d bytes)", err, len(busybox))
	}
	mustRunInImage(t, "import", derived, "capimg")
	defer inImage(t, "rmi", "capimg")
	ping := func(bin string) result {
		return inImage(t, "run", "-u", "nobody", "capimg", bin, "ping", "-c1", "-W2", "127.0.0.1")
	}
	if r := ping("/cap/busybox"); r.status != 0 {
		t.Errorf("ping by a busybox with cap_net_raw+ep, as nobody: status %d, %s%s; want the file capability to work", r.status, r.stdout, r.stderr)
	}
	if r := ping("/bin/busybox"); r.status == 0 {
		t.Errorf("ping by the plain busybox, as nobody, worked: the file capability proves nothing")
	}
	if out := mustRunInImage(t, "run", "capimg", "stat", "-c", "%F %t:%T", "/imgdev/null"); out != "character special file 1:3\n" {
		t.Errorf("the image's device node: %q", out)
	}
}

// TestImageReferencesAsDockerWritesThem: an image is named as docker
// names it (busybox, busybox:latest, library/busybox,
// docker.io/library/busybox:latest are one); a host command is a path
// (/bin/ls, ./prog); anything else that names no image is 125.
func TestImageReferencesAsDockerWritesThem(t *testing.T) {
	needImage(t)
	for _, ref := range []string{"busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:latest"} {
		if out := mustRunInImage(t, "run", ref, "echo", "in", ref); out != "in "+ref+"\n" {
			t.Errorf("run %s: %q", ref, out)
		}
	}
	// --pull never: the store alone (the tests reach no registry here).
	expectFailure(t, inImage(t, "run", "--pull", "never", "busybox:1.36", "true"), 125, `no image "busybox:1.36"`)
	expectFailure(t, inImage(t, "run", "--pull", "never", "bin/ls"), 125, "a command on the host's files is a path")
	// ./prog and ../prog are the host's, from the working directory.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "prog"), []byte("#!/bin/sh\necho relative $1\n"), 0o755)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for where, arg := range map[string]string{dir: "./prog", filepath.Join(dir, "sub"): "../prog"} {
		cmd := exec.Command(mydocker, "run", arg, "ok")
		cmd.Dir = where
		if out, err := cmd.CombinedOutput(); err != nil || string(out) != "relative ok\n" {
			t.Errorf("run %s in %s: %v, %q", arg, where, err, out)
		}
	}
	expectFailure(t, inImage(t, "run", "--pull", "never", "busybox@sha256:"+strings.Repeat("0", 64), "true"), 125, "no image")
	expectFailure(t, inImage(t, "run", "Busybox", "true"), 125, "no image") // not a reference: never pulled
	// import, tag, run and rmi take the same names; one image, several.
	mustRunInImage(t, "import", imageTarball(), "tagged:latest")
	if out := mustRunInImage(t, "images"); !regexp.MustCompile(`\ntagged +latest `).MatchString(out) {
		t.Errorf("import of tagged:latest is not listed as tagged latest:\n%s", out)
	}
	expectFailure(t, inImage(t, "import", imageTarball(), "tagged"), 125, "already exists")
	expectFailure(t, inImage(t, "import", imageTarball(), "Tagged"), 125, "invalid image name")
	mustRunInImage(t, "tag", "tagged", "localhost:5000/team/app:v2")
	if out := mustRunInImage(t, "run", "localhost:5000/team/app:v2", "echo", "by", "another", "name"); out != "by another name\n" {
		t.Errorf("run by the tag's name: %q", out)
	}
	if out := mustRunInImage(t, "images", "localhost:5000/team/app"); !regexp.MustCompile(`\nlocalhost:5000/team/app +v2 +[0-9a-f]{12} `).MatchString(out) {
		t.Errorf("images REPOSITORY of the tag:\n%s", out)
	}
	expectFailure(t, inImage(t, "tag", "nosuch", "x"), 125, "no such image")
	expectFailure(t, inImage(t, "tag", "tagged", "x@sha256:"+strings.Repeat("0", 64)), 125, "digest")
	user := detached(t, "tagged:latest", "sleep", "1000")
	// One name of several goes alone, in use or not; the last one stays
	// while a container uses the image.
	if out := mustRun(t, "rmi", "localhost:5000/team/app:v2"); out != "Untagged: localhost:5000/team/app:v2\n" {
		t.Errorf("rmi of one name of two: %q", out)
	}
	expectFailure(t, run(t, nil, "rmi", "docker.io/library/tagged"), 125, "in use by container")
	mustRun(t, "rm", "-f", user)
	mustRunInImage(t, "rmi", "library/tagged:latest")
	if out := mustRunInImage(t, "images"); strings.Contains(out, "tagged") {
		t.Errorf("rmi library/tagged:latest left it:\n%s", out)
	}
}

// TestForegroundLayerInMemory: a foreground container's layer, thrown
// away at its end, is a tmpfs of the container's own mount namespace:
// nothing of it is on the host's disk while it runs, and nothing is left
// after. commit still reads it while it runs, whiteouts included. With a
// memory limit, the layer is on disk.
func TestForegroundLayerInMemory(t *testing.T) {
	needImage(t)
	cmd := exec.Command(mydocker, "run", "--name", "in-memory", "busybox", "sh", "-c", "echo live > /live; rm /bin/ls; touch /ready; sleep 100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, cmd)
	for deadline := time.Now().Add(15 * time.Second); run(t, nil, "exec", "in-memory", "test", "-e", "/ready").status != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the foreground container never wrote /ready")
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(storeRoot, "containers")); len(entries) != 0 {
		t.Errorf("a foreground container's layer is on the host's disk: %s holds %d entries", filepath.Join(storeRoot, "containers"), len(entries))
	}
	mounts := mustRun(t, "exec", "in-memory", "cat", "/proc/1/mountinfo")
	if !regexp.MustCompile(`(?m) / / .* - overlay overlay .*upperdir=/[^,]*/upper,`).MatchString(mounts) || strings.Contains(mounts, "upperdir="+storeRoot) {
		t.Errorf("the container's root: want an overlay whose upper directory is not under %s:\n%s", storeRoot, mounts)
	}
	mustRun(t, "commit", "in-memory", "from-memory")
	t.Cleanup(func() { run(t, nil, "rmi", "from-memory") })
	if out := mustRun(t, "run", "from-memory", "sh", "-c", "cat /live; ls /bin/ls 2>&1 || true"); !strings.HasPrefix(out, "live\n") || !strings.Contains(out, "No such file") {
		t.Errorf("commit of a running foreground container: want /live and no /bin/ls, got %q", out)
	}
	mustRun(t, "kill", "in-memory")
	cmd.Wait()
	checkNoWorkspaceLeft(t)
	// Given a memory limit, its layer is on disk: in memory, its files
	// would count against the limit.
	if out := mustRun(t, "run", "-m", "64m", "busybox", "cat", "/proc/self/mountinfo"); !strings.Contains(out, "upperdir="+filepath.Join(storeRoot, "containers")) {
		t.Errorf("a container with -m: want its layer under %s, got:\n%s", filepath.Join(storeRoot, "containers"), out)
	}
	checkNoWorkspaceLeft(t)
}

// TestRuntimeDirWithSeparatorRefused: a foreground container's layer is in
// a tmpfs mounted in the runtime directory; a ',' or ':' in its path would
// be read as a separator of overlayfs's options. One line, 125, and
// nothing made there.
func TestRuntimeDirWithSeparatorRefused(t *testing.T) {
	needImage(t)
	dir := filepath.Join(t.TempDir(), "a,b")
	cmd := exec.Command(mydocker, "run", "busybox", "true")
	cmd.Env = append(os.Environ(), "MYDOCKER_RUNTIME_DIR="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if exitCode(err) != 125 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "MYDOCKER_RUNTIME_DIR") {
		t.Errorf("a runtime directory with ',': want one line naming MYDOCKER_RUNTIME_DIR and 125, got %d %q", exitCode(err), stderr.String())
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("the refused run made %s", dir)
	}
}
