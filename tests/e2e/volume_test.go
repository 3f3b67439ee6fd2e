package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadOnlyTmpDoesNotHideVolume(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("volume\n"), 0o644)
	if out := mustRunInImage(t, "run", "--read-only", "-v", dir+":/tmp/x", "busybox", "cat", "/tmp/x/f"); out != "volume\n" {
		t.Errorf("--read-only's /tmp hides a volume under it: %q", out)
	}
}

func TestFileVolume(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "app.conf")
	os.WriteFile(conf, []byte("key=value\n"), 0o644)
	if out := mustRunInImage(t, "run", "-v", conf+":/etc/app.conf:ro", "busybox", "cat", "/etc/app.conf"); out != "key=value\n" {
		t.Errorf("a file as a volume: %q", out)
	}
	// A file onto a directory, a directory onto a file: said as such.
	expectFailure(t, inImage(t, "run", "-v", conf+":/tmp", "busybox", "true"), 125, "cannot mount a file onto /tmp: it is a directory in the container")
	expectFailure(t, inImage(t, "run", "-v", t.TempDir()+":/bin/busybox", "busybox", "true"), 125, "cannot mount a directory onto /bin/busybox: it is a file in the container")
}

func TestFailureAfterWorkspaceIsCleanNotAPanic(t *testing.T) {
	// The volume's host path cannot be made (its parent is a file): the
	// failure comes after the container's workspace exists.
	file := filepath.Join(t.TempDir(), "plain-file")
	os.WriteFile(file, nil, 0o644)
	r := inImage(t, "run", "-v", file+"/sub:/x", "busybox", "true")
	expectFailure(t, r, 125, "volume")
}

func TestVolumesByDepthKeepEtcFiles(t *testing.T) {
	etc := t.TempDir()
	os.WriteFile(filepath.Join(etc, "mine"), []byte("mine\n"), 0o644)
	out := mustRunInImage(t, "run", "--hostname", "deep", "-v", etc+":/etc", "busybox", "sh", "-c", "cat /etc/mine /etc/hostname")
	if out != "mine\ndeep\n" {
		t.Errorf("a volume on /etc hides the container's /etc/hostname (or the volume is hidden): %q", out)
	}
	expectFailure(t, inImage(t, "run", "-v", etc+":/x", "-v", t.TempDir()+":/x", "busybox", "true"), 125, "already the target")
}

func TestVolumeThroughImageSymlinks(t *testing.T) {
	needImage(t)
	// A root filesystem like Debian's, where /var/run is a link to /run,
	// and a hostile one whose /etc/hosts points far out of the root.
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if out, err := exec.Command("cp", "-a", busyboxRootfs(t), rootfs).CombinedOutput(); err != nil {
		t.Fatalf("copy rootfs: %v %s", err, out)
	}
	os.MkdirAll(filepath.Join(rootfs, "run"), 0o755)
	os.MkdirAll(filepath.Join(rootfs, "var"), 0o755)
	os.Symlink("/run", filepath.Join(rootfs, "var/run"))
	victim := filepath.Join(t.TempDir(), "host-victim")
	os.Remove(filepath.Join(rootfs, "etc/hosts"))
	os.Symlink("/../../../../../../.."+victim, filepath.Join(rootfs, "etc/hosts"))

	vol := t.TempDir()
	os.WriteFile(filepath.Join(vol, "f"), []byte("through the link\n"), 0o644)
	out := mustRun(t, "run", "--rootfs", rootfs, "-v", vol+":/var/run/foo", "/bin/cat", "/run/foo/f", "/etc/hosts")
	if !strings.HasPrefix(out, "through the link\n") || !strings.Contains(out, "localhost") {
		t.Errorf("volume through /var/run -> /run, or /etc/hosts through its link: %q", out)
	}
	if _, err := os.Lstat(victim); err == nil {
		t.Errorf("a link in the image sent a mount point to the host: %s exists", victim)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, victim)); err != nil {
		t.Errorf("the link's target should have been made inside the root: %v", err)
	}
}

func TestWorkdirMadeInContainerLayer(t *testing.T) {
	dir := "/srv/mydocker-workdir-test"
	if out := mustRunInImage(t, "run", "-w", dir, "busybox", "pwd"); out != dir+"\n" {
		t.Errorf("-w %s in an image: %q", dir, out)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("-w created %s on the host", dir)
	}
}

func TestRootWithOverlaySeparators(t *testing.T) {
	needImage(t)
	root := filepath.Join(t.TempDir(), "a,b")
	tarball := imageTarball()
	mustRun(t, "--root", root, "import", tarball, "busybox")
	r := run(t, nil, "--root", root, "run", "busybox", "true")
	expectFailure(t, r, 125, "--root")
}
