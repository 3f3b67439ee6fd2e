package e2e

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
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
// a few seconds after its mydocker died (the death signal is asynchronous),
// and kills the survivors by PID so that nothing is left on the host.
func expectNoSurvivors(t *testing.T, mark string) {
	t.Helper()
	var pids []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
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
