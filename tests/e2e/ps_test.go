package e2e

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startInBackground starts mydocker with args in the background (its
// container runs until the test kills it) and returns it.
func startInBackground(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(mydocker, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, cmd)
	return cmd
}

// psLines waits (boundedly) until `ps` shows n containers, and returns its
// lines without the header.
func psLines(t *testing.T, n int, args ...string) []string {
	t.Helper()
	var lines []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out := mustRun(t, append([]string{"ps"}, args...)...)
		lines = strings.Split(strings.TrimSpace(out), "\n")
		if !strings.Contains(strings.Join(args, " "), "-q") {
			lines = lines[1:]
		}
		if len(lines) == 1 && lines[0] == "" {
			lines = nil
		}
		if len(lines) == n {
			return lines
		}
	}
	t.Fatalf("ps %v shows %d containers, want %d: %q", args, len(lines), n, lines)
	return nil
}

func TestPsShowsRunningContainersTruthfully(t *testing.T) {
	needImage(t)
	host := startInBackground(t, "run", "--name", "ps-host", "/bin/sh", "-c", "sleep 1000")
	img := startInBackground(t, "run", "busybox", "sleep", "1000")
	hostPid := waitForChild(t, host.Process.Pid, "sh")
	waitForChild(t, img.Process.Pid, "sleep")

	lines := psLines(t, 2)
	row := regexp.MustCompile(`^([0-9a-f]{12}) +(\S.*?) +"(.*?)" +(.*? ago) +(Up .*?) +(\d+) +(\S+)$`) // PORTS empty
	var fields [][]string
	for _, l := range lines {
		m := row.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("ps line not in docker's columns (ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, PID, NAMES): %q", l)
		}
		fields = append(fields, m)
	}
	// Oldest first; the two started at about the same time.
	if fields[0][7] != "ps-host" {
		fields[0], fields[1] = fields[1], fields[0]
	}
	if f := fields[0]; f[2] != "(host files)" || f[3] != "/bin/sh -c sleep 1000" || f[6] != strconv.Itoa(hostPid) || f[7] != "ps-host" {
		t.Errorf("host-files container: %q (want its command with spaces, PID %d, name ps-host)", f[0], hostPid)
	}
	if f := fields[1]; f[2] != "busybox" || f[3] != "sleep 1000" || !regexp.MustCompile(`^[a-z]+_[a-z]+_[0-9a-f]{4}$`).MatchString(f[7]) {
		t.Errorf("image container: %q (want a generated name)", f[0])
	}
	if ids := psLines(t, 2, "-q"); !(ids[0] == fields[0][1] && ids[1] == fields[1][1] || ids[0] == fields[1][1] && ids[1] == fields[0][1]) {
		t.Errorf("ps -q: %q", ids)
	}

	// Its mydocker killed, the container dies with it: ps must not say Up.
	host.Process.Signal(syscall.SIGKILL)
	host.Wait()
	psLines(t, 1)
	psLines(t, 1, "-a")
	img.Process.Signal(syscall.SIGKILL)
	img.Wait()
	psLines(t, 0, "-a")
	mustRunInImage(t, "run", "busybox", "true") // cleans what the killed ones left, cgroups too
	checkNoWorkspaceLeft(t)
}

func TestContainerNames(t *testing.T) {
	first := startInBackground(t, "run", "--name", "unique.name-1", "/bin/sleep", "1000")
	waitForChild(t, first.Process.Pid, "sleep")
	ids := psLines(t, 1, "-q")
	expectFailure(t, run(t, nil, "run", "--name", "unique.name-1", "/bin/true"), 125, `"unique.name-1" is in use by container `+ids[0])
	expectFailure(t, run(t, nil, "run", "-name", "unique.name-1", "/bin/true"), 125, "in use")
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	// The name is free again once its container is gone.
	mustRun(t, "run", "-name", "unique.name-1", "/bin/true")
	for _, bad := range []string{"a", "-dash", "has space", "slash/name", "ünï"} {
		expectFailure(t, run(t, nil, "run", "--name", bad, "/bin/true"), 125, "invalid container name")
	}
	checkNoWorkspaceLeft(t)
}
