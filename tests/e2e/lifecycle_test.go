package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand"
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
)

// detached starts a detached container and returns its ID.
func detached(t *testing.T, args ...string) string {
	t.Helper()
	needImage(t)
	out := mustRun(t, append([]string{"run", "-d"}, args...)...)
	id := strings.TrimSpace(out)
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("run -d printed %q, want the container's ID", out)
	}
	t.Cleanup(func() { run(t, nil, "rm", "-f", id) })
	return id
}

// psRow is ps -a's line for the container id ("" when not listed).
func psRow(t *testing.T, id string) string {
	t.Helper()
	for _, l := range strings.Split(mustRun(t, "ps", "-a"), "\n") {
		if strings.HasPrefix(l, id) {
			return l
		}
	}
	return ""
}

// waitStatus waits (boundedly) until ps -a shows the container with a
// STATUS matching re.
func waitStatus(t *testing.T, id, re string) string {
	t.Helper()
	var row string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if row = psRow(t, id); regexp.MustCompile(re).MatchString(row) {
			return row
		}
	}
	t.Fatalf("container %s never showed %q in ps -a; last: %q", id, re, row)
	return ""
}

func TestRunDetachedLogsAndExit(t *testing.T) {
	id := detached(t, "--name", "bird", "busybox", "sh", "-c", "echo out; echo err >&2; echo 'two  spaces'; exit 3")
	row := waitStatus(t, id, `Exited \(3\) .* ago`)
	if !strings.Contains(row, " bird") || !strings.Contains(row, `"sh -c echo out; echo err >&2; echo 'two  spaces'; exit 3"`) {
		t.Errorf("ps -a row: %q", row)
	}
	if out := mustRun(t, "logs", "bird"); out != "out\nerr\ntwo  spaces\n" {
		t.Errorf("logs: both streams, in order: %q", out)
	}
	if out := mustRun(t, "logs", "--tail", "1", id[:5]); out != "two  spaces\n" {
		t.Errorf("logs --tail 1 by ID prefix: %q", out)
	}
	// An exited container keeps its name until rm.
	expectFailure(t, run(t, nil, "run", "-d", "--name", "bird", "busybox", "true"), 125, "in use")
	if out := mustRun(t, "rm", "bird"); out != "bird\n" {
		t.Errorf("rm prints %q", out)
	}
	if psRow(t, id) != "" {
		t.Error("rm'd container still listed")
	}
	checkNoWorkspaceLeft(t)
}

func TestRunDetachedStartErrorsLeaveNothing(t *testing.T) {
	needImage(t)
	expectFailure(t, run(t, nil, "run", "-d", "busybox", "no-such-command"), 127, "not found")
	expectFailure(t, run(t, nil, "run", "-d", "busybox", "/etc"), 126, "is a directory")
	expectFailure(t, run(t, nil, "run", "-d", "-m", "1k", "busybox", "sh"), 125, "minimum")
	if out := mustRun(t, "ps", "-a", "-q"); out != "" {
		t.Errorf("a failed run -d left a container: %q", out)
	}
	checkNoWorkspaceLeft(t)
	checkNoCgroupLeft(t)
}

// TestCombinedShortFlags: docker's -dit and its kin, as docker users type
// them; the shell they start waits on its stdin (a terminal, or with -di
// an open pipe nobody writes to), so the container stays up, as docker's
// does. The book's single-dash long flags still work, and a command's own
// flags are its own.
func TestCombinedShortFlags(t *testing.T) {
	needImage(t)
	for _, flag := range []string{"-dit", "-itd", "-tid", "-dt", "-td", "-di", "-id"} {
		r := run(t, nil, "run", flag, "-name", "combined"+flag, "busybox", "sh")
		id := strings.TrimSpace(r.stdout)
		if r.status != 0 || !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(id) {
			t.Errorf("run %s busybox sh: status %d, stdout %q, stderr %q; want the ID", flag, r.status, r.stdout, r.stderr)
			continue
		}
		// Up, and still Up once ps has seen it twice: the shell waits.
		waitStatus(t, id, `Up .* combined`+flag+`$`)
		waitStatus(t, id, `Up `)
		mustRun(t, "rm", "-f", id)
	}
	if out := mustRun(t, "run", "busybox", "echo", "-dit"); out != "-dit\n" {
		t.Errorf("run busybox echo -dit printed %q: the command's own flag was taken", out)
	}
	expectFailure(t, run(t, nil, "run", "-dix", "busybox", "sh"), 125, "flag provided but not defined: -dix")
	checkNoWorkspaceLeft(t)
}

func TestStopKillRm(t *testing.T) {
	// sleep as PID 1 ignores SIGTERM: stop must end with SIGKILL.
	id := detached(t, "--name", "sleeper", "-m", "64m", "busybox", "sleep", "1000")
	waitStatus(t, id, `Up `)
	expectFailure(t, run(t, nil, "rm", "sleeper"), 1, "is running")
	if out := mustRun(t, "stop", "-t", "1", "sleeper"); out != "sleeper\n" {
		t.Errorf("stop prints %q", out)
	}
	waitStatus(t, id, `Exited \(137\)`)
	mustRun(t, "stop", "sleeper") // stopping an exited container is no error
	expectFailure(t, run(t, nil, "kill", "sleeper"), 1, "not running")

	// A trap for TERM: kill -s TERM ends it with the trap's status. The
	// signal is sent once the trap is set (/trapped): PID 1 of a PID
	// namespace never gets a signal it has no handler for, so one sent
	// earlier would be lost, as with docker.
	id2 := detached(t, "busybox", "sh", "-c", "trap 'exit 7' TERM; touch /trapped; while :; do sleep 0.05; done")
	waitStatus(t, id2, `Up `)
	for deadline := time.Now().Add(15 * time.Second); run(t, nil, "exec", id2, "test", "-e", "/trapped").status != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the container's shell never set its trap")
		}
	}
	mustRun(t, "kill", "-s", "TERM", id2)
	waitStatus(t, id2, `Exited \(7\)`)

	// rm -f of a running one; --rm removes at the end by itself.
	id3 := detached(t, "busybox", "sleep", "1000")
	waitStatus(t, id3, `Up `)
	mustRun(t, "rm", "-f", id3)
	id4 := detached(t, "--rm", "busybox", "true")
	for deadline := time.Now().Add(10 * time.Second); psRow(t, id4) != ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("run -d --rm: the container is still listed after it ended")
		}
	}
	mustRun(t, "rm", id, id2)
	checkNoWorkspaceLeft(t)
	checkNoCgroupLeft(t)
}

// TestStopAndRmOfForegroundContainers: a foreground run stopped or removed
// from another terminal ends at once, and stop and rm -f say so with
// status 0: the state file its run removes at the end is the container
// gone, not one still held.
func TestStopAndRmOfForegroundContainers(t *testing.T) {
	needImage(t)
	for _, c := range []struct {
		name, verb string
		script     string
		status     int
	}{
		{"fg-stop", "stop", "exec sleep 1000", 137}, // sleep ignores SIGTERM
		{"fg-trap", "stop", "trap 'exit 0' TERM; while :; do sleep 0.05; done", 0},
		{"fg-rm", "rm", "exec sleep 1000", 137},
	} {
		fg := startInBackground(t, "--root", storeRoot, "run", "--name", c.name, "busybox", "sh", "-c", c.script)
		waitForDescendant(t, fg.Process.Pid, "sleep")
		args := []string{"stop", "-t", "1", c.name}
		if c.verb == "rm" {
			args = []string{"rm", "-f", c.name}
		}
		r := run(t, nil, args...)
		if r.status != 0 || r.stdout != c.name+"\n" || r.stderr != "" {
			t.Errorf("%q of a foreground container: status %d, stdout %q, stderr %q; want 0 and its name", args, r.status, r.stdout, r.stderr)
		}
		err := fg.Wait()
		if status := statusOf(t, fg, err); status != c.status {
			t.Errorf("%q: the foreground run ended with %d, want %d", args, status, c.status)
		}
	}
	checkNoWorkspaceLeft(t)
	checkNoCgroupLeft(t)
}

func TestContainerRefsBadInput(t *testing.T) {
	needImage(t)
	expectFailure(t, run(t, nil, "rm", "no-such-container"), 1, "no such container: no-such-container")
	expectFailure(t, run(t, nil, "stop", "no-such-container"), 1, "no such container")
	expectFailure(t, run(t, nil, "logs", "no-such-container"), 1, "no such container")
	expectFailure(t, run(t, nil, "kill", "-s", "BOGUS", "x"), 125, "invalid signal")
	expectFailure(t, run(t, nil, "rm"), 125, "needs a container")
	expectFailure(t, run(t, nil, "logs", "--tail", "-3", "x"), 125, "--tail")
	// Two containers whose IDs share a prefix: "" matches none, and a
	// shared first digit is ambiguous when it is.
	a := detached(t, "busybox", "true")
	waitStatus(t, a, `Exited \(0\)`)
	var b string
	for i := 0; i < 40; i++ {
		id := detached(t, "busybox", "true")
		if id[0] == a[0] {
			b = id
			break
		}
	}
	if b == "" {
		t.Skip("no two IDs with the same first digit in 40 tries")
	}
	waitStatus(t, b, `Exited`)
	r := run(t, nil, "rm", a[:1])
	if r.status != 1 || !strings.Contains(r.stderr, "ambiguous") || !strings.Contains(r.stderr, a) || !strings.Contains(r.stderr, b) {
		t.Errorf("an ambiguous prefix should be refused, naming both: %d %q", r.status, r.stderr)
	}
}

func TestKilledMonitorLeavesADeadContainerThatRmCleans(t *testing.T) {
	mark := markEnv(t)
	id := detached(t, "-e", mark, "-m", "64m", "busybox", "sleep", "1000")
	row := waitStatus(t, id, `Up `)
	f := strings.Fields(row)
	pid, _ := strconv.Atoi(f[len(f)-2])
	syscall.Kill(monitorOf(t, pid), syscall.SIGKILL)
	expectNoSurvivors(t, mark) // the container dies with its monitor
	waitStatus(t, id, `Dead`)
	mustRun(t, "rm", id)
	checkNoWorkspaceLeft(t)
	checkNoCgroupLeft(t)
}

func TestTwentyDetachedAtOnce(t *testing.T) {
	needImage(t)
	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = strings.TrimSpace(mustRun(t, "run", "-d", "--name", fmt.Sprintf("many-%d", i), "busybox", "sleep", "1000"))
		}()
	}
	wg.Wait()
	t.Cleanup(func() { run(t, nil, append([]string{"rm", "-f"}, ids...)...) })
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || len(id) != 12 {
			t.Errorf("IDs not distinct: %q", ids)
		}
		seen[id] = true
	}
	lines := psLines(t, 20)
	names := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		names[f[len(f)-1]] = true
	}
	if len(names) != 20 {
		t.Errorf("names not distinct in ps: %v", names)
	}
	mustRun(t, append([]string{"rm", "-f"}, ids...)...)
	if out := mustRun(t, "ps", "-a", "-q"); out != "" {
		t.Errorf("left after rm -f: %q", out)
	}
	checkNoWorkspaceLeft(t)
	checkNoCgroupLeft(t)
	entries, _ := os.ReadDir(filepath.Join(storeRoot, "containers"))
	if len(entries) != 0 {
		t.Errorf("container directories left: %d", len(entries))
	}
}

func TestKilledRunDetachedAndMonitorsKeepPsTruthful(t *testing.T) {
	needImage(t)
	mark := markEnv(t)
	// run -d, and sometimes its monitor too, SIGKILLed at random moments
	// of the start.
	for i := 0; i < 30; i++ {
		cmd := exec.Command(mydocker, "run", "-d", "-e", mark, "-m", "64m", "busybox", "sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i%15) * 2 * time.Millisecond)
		if i%2 == 0 {
			// Its monitor, if it has one yet: run -d's child.
			for _, c := range childrenOf(cmd.Process.Pid) {
				syscall.Kill(c, syscall.SIGKILL)
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	// Every container ps calls Up is alive, and every live one is Up. A
	// death by signal is asynchronous, and a monitor that outlived its
	// run -d may still be starting its container: the two views are
	// compared until they agree, for a while.
	var lies []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		lies = nil
		up := 0
		for _, l := range strings.Split(mustRun(t, "ps", "-a"), "\n")[1:] {
			if f := strings.Fields(l); len(f) > 0 && strings.Contains(l, " Up ") {
				up++
				pid, _ := strconv.Atoi(f[len(f)-2])
				if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err != nil || !strings.Contains(string(env), mark) {
					lies = append(lies, fmt.Sprintf("ps says Up, but PID %d is not the container: %q", pid, l))
				}
			}
		}
		if n := len(processesWithEnv(mark)); n != up {
			lies = append(lies, fmt.Sprintf("%d container processes alive, %d containers Up in ps", n, up))
		}
		if len(lies) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, lie := range lies {
		t.Error(lie)
	}
	if ids := strings.Fields(mustRun(t, "ps", "-a", "-q")); len(ids) > 0 {
		mustRun(t, append([]string{"rm", "-f"}, ids...)...)
	}
	expectNoSurvivors(t, mark)
	mustRunInImage(t, "run", "-m", "64m", "busybox", "true") // cleans what was left
	checkNoWorkspaceLeft(t)
	checkNoCgroupLeft(t)
}

// childrenOf lists the children of pid, from every one of its threads.
func childrenOf(pid int) []int {
	var out []int
	paths, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(data)) {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
	}
	return out
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	id := detached(t, "--name", "insp", "-m", "64m", "--cpus", "0.5", "-e", "A=1 2", "--hostname", "h1",
		"-v", dir+":/data:ro", "-w", "/tmp", "--cap-drop", "ALL", "busybox", "sh", "-c", "exit 4")
	waitStatus(t, id, `Exited \(4\)`)
	var got []struct {
		Id, Name, Path string
		Args           []string
		State          struct {
			Status   string
			Running  bool
			ExitCode int
			Pid      int
		}
		Config struct {
			Hostname, WorkingDir, Image string
			Env, Cmd                    []string
		}
		HostConfig struct {
			Memory, NanoCpus int64
			Binds            []string
			Capabilities     []string
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, "inspect", "insp")), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect is not a JSON array of one: %v", err)
	}
	c := got[0]
	if c.Id != id || c.Name != "/insp" || c.Path != "sh" || strings.Join(c.Args, "|") != "-c|exit 4" {
		t.Errorf("identity: %+v", c)
	}
	if c.State.Status != "exited" || c.State.Running || c.State.ExitCode != 4 || c.State.Pid != 0 {
		t.Errorf("State: %+v", c.State)
	}
	if c.Config.Hostname != "h1" || c.Config.WorkingDir != "/tmp" || c.Config.Image != "busybox" ||
		!strings.Contains(strings.Join(c.Config.Env, "\n"), "\nA=1 2") || strings.Join(c.Config.Cmd, "|") != "sh|-c|exit 4" {
		t.Errorf("Config: %+v", c.Config)
	}
	if c.HostConfig.Memory != 64<<20 || c.HostConfig.NanoCpus != 5e8 || len(c.HostConfig.Binds) != 1 ||
		c.HostConfig.Binds[0] != dir+":/data:ro" || len(c.HostConfig.Capabilities) != 0 {
		t.Errorf("HostConfig: %+v", c.HostConfig)
	}
	r := run(t, nil, "inspect", "insp", "no-such")
	if r.status != 1 || !strings.Contains(r.stderr, "no such container or image: no-such") || !strings.Contains(r.stdout, id) {
		t.Errorf("inspect of one known and one unknown: %d %q", r.status, r.stderr)
	}
}

func TestStartRunsAnExitedContainerAgainOnItsLayer(t *testing.T) {
	id := detached(t, "--name", "again", "busybox", "sh", "-c", "echo x >> /runs; wc -l < /runs; exit 5")
	waitStatus(t, id, `Exited \(5\)`)
	for i := 2; i <= 3; i++ {
		if out := mustRun(t, "start", "again"); out != "again\n" {
			t.Fatalf("start prints %q", out)
		}
		waitStatus(t, id, `Exited \(5\)`)
		lines := strings.Fields(mustRun(t, "logs", "again"))
		if got := lines[len(lines)-1]; got != strconv.Itoa(i) {
			t.Errorf("run %d: the container's own files were not kept (it counted %s runs): %q", i, got, lines)
		}
	}
	// Up counts from the start, not from the creation: in one row of ps,
	// a container that ran 2 s before this start is Up for less time than
	// it was created ago, however slow the machine.
	id3 := detached(t, "busybox", "sh", "-c", "sleep 2; exit 5")
	waitStatus(t, id3, `Exited \(5\)`)
	mustRun(t, "start", id3)
	row := waitStatus(t, id3, `Up `)
	seconds := func(said string) int {
		if said == "Less than a second" {
			return 0
		}
		n, _ := strconv.Atoi(strings.Fields(said)[0])
		return n
	}
	if m := regexp.MustCompile(`  (Less than a second|\d+ seconds?) ago +Up (Less than a second|\d+ seconds?) `).FindStringSubmatch(row); m == nil || seconds(m[2]) >= seconds(m[1]) {
		t.Errorf("ps after start says %q; want it Up since the start, less long than since its creation", row)
	}
	// Starting one that runs is left alone; a foreground one never stays
	// to be started.
	id2 := detached(t, "busybox", "sleep", "1000")
	waitStatus(t, id2, `Up `)
	mustRun(t, "start", id2)
	waitStatus(t, id2, `Up `)
	expectFailure(t, run(t, nil, "start", "no-such"), 1, "no such container")
	mustRun(t, "rm", "-f", id, id2, id3)
	checkNoWorkspaceLeft(t)
}

func TestCommit(t *testing.T) {
	// Added, changed, deleted (whiteouts), and a directory replaced whole
	// (overlayfs makes it opaque: the image's /var/tmp must not come back).
	id := detached(t, "--name", "to-commit", "busybox", "sh", "-c",
		"echo new > /new; echo changed > /etc/motd; rm /etc/group; rm -rf /var; mkdir /var; echo only > /var/only")
	waitStatus(t, id, `Exited \(0\)`)
	committed := mustRun(t, "commit", "to-commit", "committed")
	if !strings.HasPrefix(committed, "sha256:") {
		t.Errorf("commit prints %q, want the new image's ID as docker does", committed)
	}
	t.Cleanup(func() { run(t, nil, "rmi", "committed") })
	// One layer more than busybox, on top of busybox's own: the image's
	// files are not stored again.
	var images []struct {
		Id     string
		RootFS struct{ Layers []string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, "inspect", "--type", "image", "busybox", "committed")), &images); err != nil || len(images) != 2 {
		t.Fatalf("inspect: %v", err)
	}
	if base, top := images[0].RootFS.Layers, images[1].RootFS.Layers; len(top) != len(base)+1 || top[0] != base[0] || images[1].Id+"\n" != committed {
		t.Errorf("the committed image's layers %q are not busybox's %q and one more", top, base)
	}
	out := mustRun(t, "run", "--hostname", "fresh", "committed", "sh", "-c",
		"cat /new /etc/motd; test -e /etc/group || echo no-group; ls -A /var; cat /etc/hostname; cat /bin/busybox >/dev/null && echo image-kept")
	if out != "new\nchanged\nno-group\nonly\nfresh\nimage-kept\n" {
		t.Errorf("the committed image's files:\n%s", out)
	}
	// A running container can be committed too; the name must be new.
	id2 := detached(t, "busybox", "sh", "-c", "echo live > /live; sleep 1000")
	waitStatus(t, id2, `Up `)
	for deadline := time.Now().Add(15 * time.Second); run(t, nil, "exec", id2, "test", "-s", "/live").status != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the running container never wrote /live")
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if r := run(t, nil, "commit", id2, "committed-live"); r.status == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("commit of a running container: %q", r.stderr)
		}
	}
	t.Cleanup(func() { run(t, nil, "rmi", "committed-live") })
	if out := mustRun(t, "run", "committed-live", "cat", "/live"); out != "live\n" {
		t.Errorf("committed running container: %q", out)
	}
	// --change over the image's config, as docker commit's.
	mustRun(t, "commit", "--change", `CMD ["sh", "-c", "cat /new; echo $X"]`, "--change", "ENV X=changed", id, "committed-changed")
	t.Cleanup(func() { run(t, nil, "rmi", "committed-changed") })
	if out := mustRun(t, "run", "committed-changed"); out != "new\nchanged\n" {
		t.Errorf("commit --change CMD and ENV: %q", out)
	}
	expectFailure(t, run(t, nil, "commit", "--change", "EXPOSE eighty", id, "never"), 125, "--change")
	expectFailure(t, run(t, nil, "commit", id, "committed"), 125, "already exists") // as import says it
	expectFailure(t, run(t, nil, "commit", id, "Bad/Name"), 125, "invalid image name")
	expectFailure(t, run(t, nil, "commit", "no-such", "x"), 1, "no such container")
	host := strings.TrimSpace(mustRun(t, "run", "-d", "/bin/true"))
	t.Cleanup(func() { run(t, nil, "rm", "-f", host) })
	expectFailure(t, run(t, nil, "commit", host, "x"), 1, "no layer of its own")
	expectFailure(t, run(t, nil, "commit", id), 125, "needs a container and an image")
}

func TestExec(t *testing.T) {
	id := detached(t, "--name", "exec-me", "-m", "64m", "--hostname", "inside", "-e", "FROM_RUN=1",
		"busybox", "sh", "-c", "echo made > /tmp/made; exec sleep 1000")
	waitStatus(t, id, `Up `)
	// The container's PID namespace, files, hostname and cgroup.
	// (Its cgroup: the container's cgroup namespace is rooted at the
	// container's cgroup, so every path in /proc/self/cgroup is "/".)
	out := mustRun(t, "exec", "exec-me", "sh", "-c", "ps -o pid,args; cat /tmp/made; hostname; cut -d: -f3 /proc/self/cgroup | sort -u; echo $FROM_RUN")
	for _, want := range []string{"    1 sleep 1000\n", "made\n", "inside\n/\n1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("exec output lacks %q:\n%s", want, out)
		}
	}
	// Its confinement: docker's capabilities and seccomp filter.
	st := mustRun(t, "exec", "exec-me", "cat", "/proc/self/status")
	if !strings.Contains(st, "CapEff:\t00000000a80425fb") || !strings.Contains(st, "Seccomp:\t2") {
		t.Errorf("exec'd process not confined as the container:\n%s", st)
	}
	// argv exactly, -e, -w, -i and the exit statuses.
	if out := mustRun(t, "exec", "-e", "FROM_RUN=2", "-w", "/etc", "exec-me", "sh", "-c", `printf "[%s]" "$@"; echo " $FROM_RUN $(pwd)"`, "x", "two  spaces", ""); out != "[two  spaces][] 2 /etc\n" {
		t.Errorf("exec argv, -e, -w: %q", out)
	}
	if r := run(t, strings.NewReader("piped\n"), "exec", "-i", "exec-me", "cat"); r.stdout != "piped\n" {
		t.Errorf("exec -i: %q", r.stdout)
	}
	if r := run(t, nil, "exec", "exec-me", "sh", "-c", "exit 7"); r.status != 7 {
		t.Errorf("exec's status %d, want 7", r.status)
	}
	expectFailure(t, run(t, nil, "exec", "exec-me", "no-such-command"), 127, "not found")
	expectFailure(t, run(t, nil, "exec", "exec-me", "/etc"), 126, "is a directory")
	expectFailure(t, run(t, nil, "exec", "no-such", "true"), 1, "no such container")
	expectFailure(t, run(t, nil, "exec", "exec-me"), 125, "needs a container and a command")
	mustRun(t, "stop", "-t", "0", "exec-me")
	expectFailure(t, run(t, nil, "exec", "exec-me", "true"), 1, "not running")
}

func TestExecWithTerminalAndOnHostFiles(t *testing.T) {
	id := detached(t, "busybox", "sleep", "1000")
	waitStatus(t, id, `Up `)
	s := startSession(t, 24, 80, "exec", "-ti", id, "sh")
	s.expect("# ")
	s.send("tty; echo term=$TERM; exit 3\n")
	s.expect("/dev/pts/")
	s.expect("term=xterm") // as run -t and docker's exec -t set it
	if status := s.wait(); status != 3 {
		t.Errorf("exec -ti: status %d, want 3", status)
	}
	// A container on the host's files: its PID namespace all the same.
	host := detached(t, "/bin/sleep", "1000")
	waitStatus(t, host, `Up `)
	if out := mustRun(t, "exec", host, "/bin/sh", "-c", "echo $$"); out == "" || len(out) > 4 {
		t.Errorf("exec on the host's files: PID %q, want a small one of the container's namespace", out)
	}
}

func TestRunDetachedWithTerminalLogsIt(t *testing.T) {
	// As docker: the container's own terminal, its output in the log.
	for _, args := range [][]string{{"busybox", "sh"}, {"/bin/sh"}} {
		id := detached(t, append(append([]string{"-t"}, args...), "-c", "tty; test -t 1 && echo on-a-tty; exit 2")...)
		waitStatus(t, id, `Exited \(2\)`)
		out := mustRun(t, "logs", id)
		if !strings.HasPrefix(out, "/dev/pts/") || !strings.Contains(out, "on-a-tty\r\n") {
			t.Errorf("run -d -t %v: log %q, want the terminal's output", args, out)
		}
		mustRun(t, "rm", id)
	}
}

// TestDetachedContainersComeBackAfterAReboot: a reboot ends every
// container and clears /run, where mydocker keeps its runtime state; the
// detached containers' layers, logs and states are on disk, and come back
// exited, as docker's do. The test has a runtime directory and a store of
// its own, and makes the "reboot" as the kernel would: the running
// container's monitor (and with it the container) killed, the runtime
// directory gone.
func TestDetachedContainersComeBackAfterAReboot(t *testing.T) {
	needImage(t)
	runDir := filepath.Join(t.TempDir(), "run")
	t.Setenv("MYDOCKER_RUNTIME_DIR", runDir)
	t.Setenv("MYDOCKER_ROOT", t.TempDir())
	mustRun(t, "import", "--change", `CMD ["sh"]`, imageTarball(), "busybox")
	kept := strings.TrimSpace(mustRun(t, "run", "-d", "--name", "kept", "busybox", "sh", "-c", "echo data >> /f; wc -l < /f; exit 3"))
	waitStatus(t, kept, `Exited \(3\)`)
	up := strings.TrimSpace(mustRun(t, "run", "-d", "--name", "up", "busybox", "sleep", "1000"))
	row := strings.Fields(waitStatus(t, up, `Up `))
	pid, _ := strconv.Atoi(row[len(row)-2])
	// The reboot.
	syscall.Kill(monitorOf(t, pid), syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the container outlived its killed monitor")
		}
	}
	if err := os.RemoveAll(runDir); err != nil {
		t.Fatal(err)
	}

	waitStatus(t, kept, `Exited \(3\) .* kept$`)
	waitStatus(t, up, `Exited \(255\) .* up$`)
	// Its layer and log are as it left them: it runs again on them.
	mustRun(t, "start", "kept")
	waitStatus(t, kept, `Exited \(3\)`)
	if logs := strings.Fields(mustRun(t, "logs", "kept")); strings.Join(logs, " ") != "1 2" {
		t.Errorf("logs after a start across the reboot: %q, want 1 then 2 (the layer and the log kept)", logs)
	}
	// Names are taken again, and rm removes all.
	expectFailure(t, run(t, nil, "run", "-d", "--name", "up", "busybox", "true"), 125, `container name "up" is in use`)
	mustRun(t, "rm", "kept", "up")
	if out := mustRun(t, "ps", "-a"); strings.Count(out, "\n") != 1 {
		t.Errorf("ps -a after rm:\n%s", out)
	}
	checkNoContainerDirs(t, os.Getenv("MYDOCKER_ROOT"))
	entries, _ := os.ReadDir(runDir)
	for _, e := range entries {
		if e.Name() != ".lock" && e.Name() != ".names" && e.Name() != ".work" {
			t.Errorf("left in the runtime directory: %s", e.Name())
		}
	}
}

// monitorOf is the monitor of the detached container whose PID 1 is pid:
// its parent on the host.
func monitorOf(t *testing.T, pid int) int {
	t.Helper()
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	monitor, _ := strconv.Atoi(strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))[1])
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", monitor)); !strings.HasPrefix(string(cmdline), "mydocker\x00") {
		t.Fatalf("the container's parent %d is not its monitor: %q", monitor, cmdline)
	}
	return monitor
}

// TestInterruptedRunDetachedTellsItsContainer: SIGINT at random moments of
// a run -d: either it printed the container's ID, or no container is
// left. Never a container the user was not told about.
func TestInterruptedRunDetachedTellsItsContainer(t *testing.T) {
	needImage(t)
	outcomes := map[string]int{}
	for i := 0; i < 20; i++ {
		cmd := exec.Command(mydocker, "run", "-d", "busybox", "sleep", "1000")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killOnFailure(t, cmd)
		time.Sleep(time.Duration(rand.Intn(8000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		// Killed by the signal before it could catch it: a status of 130
		// too, with nothing made yet.
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		status := ws.ExitStatus()
		if ws.Signaled() {
			status = 128 + int(ws.Signal())
		}
		id := strings.TrimSpace(stdout.String())
		listed := strings.Fields(mustRun(t, "ps", "-aq"))
		switch {
		case id != "" && (status == 0 || status == 130):
			outcomes["ID printed"]++
			if len(listed) != 1 || listed[0] != id {
				t.Errorf("run -d printed %s but ps -aq lists %q", id, listed)
			}
			mustRun(t, "rm", "-f", id)
		case id == "" && status == 130:
			outcomes["nothing made"]++
			if len(listed) != 0 {
				t.Errorf("run -d interrupted without printing an ID left containers %q (stderr %q)", listed, stderr.String())
				run(t, nil, append([]string{"rm", "-f"}, listed...)...)
			}
		default:
			t.Errorf("run -d interrupted: status %d, stdout %q, stderr %q", status, stdout.String(), stderr.String())
		}
	}
	t.Logf("outcomes: %v", outcomes)
	checkNoWorkspaceLeft(t)
	checkNoCgroupLeft(t)
}

// TestLookupReadsOneState: a command given a container's name or full ID
// reads that container's state file and no other (a prefix still reads
// them all, to know it is not ambiguous), so that exec, stop or rm of one
// container costs the same beside a few hundred. strace shows which state
// files each lookup opens.
func TestLookupReadsOneState(t *testing.T) {
	strace := needDebianPackage(t, "strace", "strace")
	a := detached(t, "--name", "lookup-a", "busybox", "sleep", "1000")
	b := detached(t, "busybox", "sleep", "1000")
	opened := func(ref string) []string {
		t.Helper()
		cmd := exec.Command(strace, "-f", "-qq", "-e", "trace=openat", "-e", "signal=none", mydocker, "inspect", ref)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("strace mydocker inspect %s: %v\n%s", ref, err, out)
		}
		var states []string
		for _, m := range regexp.MustCompile(`"`+regexp.QuoteMeta(runtimeDir)+`/([0-9a-f]{12})"`).FindAllStringSubmatch(string(out), -1) {
			states = append(states, m[1])
		}
		return states
	}
	if got := opened("lookup-a"); len(got) != 1 || got[0] != a {
		t.Errorf("inspect by name opened the state files %v, want only %s's", got, a)
	}
	if got := opened(b); len(got) != 1 || got[0] != b {
		t.Errorf("inspect by full ID opened the state files %v, want only %s's", got, b)
	}
	// The scan: the way a lookup by prefix still goes, and the one the
	// two above would show if they went through it.
	if got := opened(b[:6]); !slices.Contains(got, a) || !slices.Contains(got, b) {
		t.Errorf("inspect by prefix opened the state files %v, want every container's (%s and %s)", got, a, b)
	}

	// A new image container first removes what killed ones left: for a
	// running one, whose owner holds its state's lock, that is a lock
	// test, and its state is not read; an exited one kept until rm is
	// read once, to see that it is kept (its name file is checked
	// against what that read saw).
	c := detached(t, "busybox", "true")
	waitStatus(t, c, `Exited \(0\)`)
	reads := statesRead(t, strace, "run", "busybox", "true")
	for _, id := range []string{a, b} {
		if reads[id] != 0 {
			t.Errorf("run read the state of the running container %s %d times, where a test of its lock says it is alive", id, reads[id])
		}
	}
	if reads[c] != 1 {
		t.Errorf("run read the state of the exited container %s %d times, want once", c, reads[c])
	}
}

// statesRead runs mydocker with args under strace and counts, for each
// container's state file, the times it was opened and then read.
func statesRead(t *testing.T, strace string, args ...string) map[string]int {
	t.Helper()
	trace := filepath.Join(t.TempDir(), "strace")
	cmd := exec.Command(strace, append([]string{"-f", "-qq", "-y", "-o", trace, "-e", "trace=openat,read", "-e", "signal=none", mydocker}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("strace mydocker %v: %v\n%s", args, err, out)
	}
	out, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	// strace -y names a descriptor's file wherever it shows one: in an
	// open's result and in a read's argument, also when a call is split
	// into "unfinished" and "resumed" lines. The open and the read may be
	// on different threads (a goroutine moves), so the pair is matched by
	// descriptor and file, not by thread.
	dir := regexp.QuoteMeta(runtimeDir)
	opened := regexp.MustCompile(`openat.*= (\d+)<` + dir + `/([0-9a-f]{12})>`)
	read := regexp.MustCompile(`read\((\d+)<` + dir + `/([0-9a-f]{12})>`)
	pending := map[string]bool{} // descriptor and container of an open not read yet
	reads := map[string]int{}
	for _, line := range strings.Split(string(out), "\n") {
		if m := opened.FindStringSubmatch(line); m != nil {
			pending[m[1]+" "+m[2]] = true
		} else if m := read.FindStringSubmatch(line); m != nil && pending[m[1]+" "+m[2]] {
			pending[m[1]+" "+m[2]] = false
			reads[m[2]]++
		}
	}
	if len(pending) == 0 {
		t.Fatalf("strace showed no state file opened: the count cannot see one\n%s", out)
	}
	return reads
}
