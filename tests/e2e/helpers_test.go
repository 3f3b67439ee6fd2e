// Package e2e proves mydocker's behaviour from the outside: it builds the
// binary, runs real containers as root and checks what a user would see.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// mydocker is the binary under test, built once by TestMain.
var mydocker string

// storeRoot is a --root of the tests' own; needImage imports the busybox
// image built by the project's script into it. /var/lib is never touched.
var storeRoot string

// testDir holds the binary, the image tarball, storeRoot and runtimeDir.
var testDir string

// runtimeDir is the tests' own MYDOCKER_RUNTIME_DIR: the state files of
// their running containers, and nobody else's.
var runtimeDir string

var (
	imageOnce sync.Once
	imageErr  error
)

// needImage builds busybox.tar with scripts/make-busybox-image.sh and
// imports it as "busybox", once for the whole run.
func needImage(t *testing.T) {
	t.Helper()
	imageOnce.Do(func() {
		tarball := filepath.Join(testDir, "busybox.tar")
		steps := [][]string{
			{"../../scripts/make-busybox-image.sh", tarball},
			{mydocker, "--root", storeRoot, "import", "--change", `CMD ["sh"]`, tarball, "busybox"},
		}
		if prebuilt := os.Getenv("MYDOCKER_IMAGE_TAR"); prebuilt != "" {
			// The cgroup v2 VM has neither apt-get nor the script.
			steps = [][]string{{mydocker, "--root", storeRoot, "import", "--change", `CMD ["sh"]`, prebuilt, "busybox"}}
		}
		for _, step := range steps {
			out, err := exec.Command(step[0], step[1:]...).CombinedOutput()
			if err != nil {
				imageErr = fmt.Errorf("%v: %v\n%s", step, err, out)
				return
			}
		}
	})
	if imageErr != nil {
		t.Fatalf("busybox image: %v", imageErr)
	}
}

// imageTarball is the busybox tarball needImage imported.
func imageTarball() string {
	if prebuilt := os.Getenv("MYDOCKER_IMAGE_TAR"); prebuilt != "" {
		return prebuilt
	}
	return filepath.Join(testDir, "busybox.tar")
}

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "e2e: CI=true but not root: the end-to-end tests must run in CI")
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "e2e: skipped: containers need root (run as root, e.g. sudo make test)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "mydocker-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Readable by everyone: one test runs the binary as nobody.
	os.Chmod(dir, 0o755)
	testDir = dir
	mydocker = filepath.Join(dir, "mydocker")
	if prebuilt := os.Getenv("MYDOCKER_BIN"); prebuilt != "" {
		// The cgroup v2 VM has no Go toolchain: the binary comes in built.
		mydocker = prebuilt
	} else {
		// Built as the Makefile builds it: static, without cli's docs.
		// Built as the Makefile builds them: static, without cli's docs;
		// the registry client beside mydocker.
		for _, b := range [][]string{{mydocker, "../.."}, {filepath.Join(dir, "mydocker-registry"), "../../cmd/mydocker-registry"}} {
			build := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", b[0], b[1])
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			build.Stdout, build.Stderr = os.Stderr, os.Stderr
			if err := build.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "e2e: build", b[1], err)
				os.Exit(1)
			}
		}
	}
	storeRoot = filepath.Join(dir, "root")
	// Every mydocker a test starts keeps its state there, never in the
	// host's /var/lib/mydocker ("--root" on a command line still wins),
	// and its runtime state in a directory of the tests' own, never in the
	// host's /run/mydocker: the user's own containers neither fail the
	// suite nor are touched by it.
	os.Setenv("MYDOCKER_ROOT", storeRoot)
	runtimeDir = filepath.Join(dir, "run")
	os.Setenv("MYDOCKER_RUNTIME_DIR", runtimeDir)
	noteStaleCgroups()
	code := m.Run()
	if left := removeTestContainers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: removed containers the tests left running: %v\n", left)
	}
	if left := removeTestOCIContainers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: removed OCI containers the tests left: %v\n", left)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// removeTestContainers kills and removes, by ID, every container the
// tests left in runtimeDir (a test that failed half-way), so that the next
// run starts clean. It returns their IDs.
func removeTestContainers() []string {
	entries, _ := os.ReadDir(runtimeDir)
	var ids []string
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		ids = append(ids, e.Name())
		// The state file names its root: rm -f looks there.
		data, _ := os.ReadFile(filepath.Join(runtimeDir, e.Name()))
		root := storeRoot
		for _, record := range strings.Split(string(data), "\x00") {
			if r, ok := strings.CutPrefix(record, "root="); ok {
				root = r
			}
		}
		exec.Command(mydocker, "--root", root, "rm", "-f", e.Name()).Run()
	}
	return ids
}

// removeTestOCIContainers deletes (--force) what a failed test left in
// mydocker-runc's root of the tests: a created container would wait for
// its start for ever.
func removeTestOCIContainers() []string {
	ids := ociContainersIn(ociRoot())
	for _, id := range ids {
		exec.Command(filepath.Join(testDir, "mydocker-runc"), "--root", ociRoot(), "delete", "--force", id).Run()
	}
	return ids
}

// result is what a user sees of one mydocker invocation.
type result struct {
	stdout, stderr string
	status         int
}

// run starts mydocker with args and optional stdin, waits for it, and
// checks that the host's mount table is the same afterwards.
func run(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	before := mountTable(t)
	cmd := exec.Command(mydocker, args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String(), status: statusOf(t, cmd, err)}
	if after := mountTable(t); after != before {
		t.Errorf("mydocker %q changed the host's mount table:\nbefore:\n%s\nafter:\n%s", args, before, after)
	}
	return r
}

func statusOf(t *testing.T, cmd *exec.Cmd, err error) int {
	t.Helper()
	if cmd.ProcessState == nil {
		t.Fatalf("mydocker did not start: %v", err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		t.Fatalf("mydocker itself was killed by %v", ws.Signal())
	}
	return ws.ExitStatus()
}

// mustRun is run for a container expected to succeed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, nil, args...)
	if r.status != 0 {
		t.Fatalf("mydocker %q: status %d, stderr:\n%s", args, r.status, r.stderr)
	}
	return r.stdout
}

// expectFailure checks the documented status and one line on stderr.
func expectFailure(t *testing.T, r result, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d (stderr %q)", r.status, status, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("stderr should be one line containing %q, got %q", want, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout should be empty, got %q", r.stdout)
	}
}

func mountTable(t *testing.T) string {
	t.Helper()
	// /proc/1/mountinfo is the host's own table, whatever mount namespace
	// a test helper might be in.
	data, err := os.ReadFile("/proc/1/mountinfo")
	if err != nil {
		t.Fatalf("read host mount table: %v", err)
	}
	// Strict about anything mydocker could mount, blind to the file
	// systems the kernel or a service mounts on demand meanwhile (tracefs
	// on first use, binfmt_misc, autofs...).
	var kept []string
	for _, line := range strings.Split(string(data), "\n") {
		_, post, _ := strings.Cut(line, " - ")
		switch strings.SplitN(post, " ", 2)[0] {
		case "tracefs", "debugfs", "binfmt_misc", "autofs", "configfs", "fusectl", "securityfs", "pstore", "bpf", "mqueue", "hugetlbfs":
			continue
		}
		kept = append(kept, line)
	}
	return strings.Join(kept, "\n")
}

// killMydockerWhileSleeping starts mydocker with args (whose container
// runs sleep), waits until sleep runs, then SIGKILLs mydocker itself, which
// so has no chance to clean up, and reaps it.
func killMydockerWhileSleeping(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(mydocker, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, cmd)
	waitForDescendant(t, cmd.Process.Pid, "sleep")
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

// imageConfigPath is the config file of the image name in the store
// under root, found as the store finds it: by its name in
// repositories.json.
func imageConfigPath(t *testing.T, root, name string) string {
	t.Helper()
	var repos map[string]string
	data, err := os.ReadFile(filepath.Join(root, "image", "repositories.json"))
	if err == nil {
		err = json.Unmarshal(data, &repos)
	}
	if err != nil {
		t.Fatalf("image names: %v", err)
	}
	full := name
	if !strings.Contains(full, "/") {
		full = "docker.io/library/" + full
	}
	if !strings.Contains(full[strings.LastIndex(full, "/"):], ":") {
		full += ":latest"
	}
	id, ok := repos[full]
	if !ok {
		t.Fatalf("no image %s in %s", full, root)
	}
	return filepath.Join(root, "image", "configs", strings.TrimPrefix(id, "sha256:"))
}

// imageLayerDir is the directory of the files of the bottom layer of the
// image name in the store under root (all of busybox's files: it is one
// layer): its config's first DiffID is its ChainID.
func imageLayerDir(t *testing.T, root, name string) string {
	t.Helper()
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	data, err := os.ReadFile(imageConfigPath(t, root, name))
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	if err != nil || len(cfg.RootFS.DiffIDs) == 0 {
		t.Fatalf("image %s's config: %v", name, err)
	}
	return filepath.Join(root, "image", "layers", strings.TrimPrefix(cfg.RootFS.DiffIDs[0], "sha256:"), "diff")
}

// busyboxRootfs is the busybox image's files in the tests' store.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	needImage(t)
	return imageLayerDir(t, storeRoot, "busybox")
}
