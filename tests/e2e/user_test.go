package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserFlag: --user as docker's: names and numbers looked up in the
// container's own /etc/passwd and /etc/group, the primary group and the
// supplementary ones, HOME from the passwd entry unless set, and no
// capability left to a user other than root.
func TestUserFlag(t *testing.T) {
	needImage(t)
	// The image's /etc/group, with nobody in a supplementary group.
	group := filepath.Join(t.TempDir(), "group")
	os.WriteFile(group, []byte("root:x:0:\nnogroup:x:65534:\nextra:x:4242:daemon,nobody\n"), 0o644)
	for _, c := range []struct{ user, want string }{
		{"nobody", "65534 65534 65534 4242 /nonexistent"},
		{"65534", "65534 65534 65534 4242 /nonexistent"}, // a number in passwd: its entry
		{"nobody:root", "65534 0 0 /nonexistent"},        // a group given: that group alone
		{"1000:1000", "1000 1000 1000 /"},                // numbers in neither file
		{"1000", "1000 0 0 /"},                           // a number alone: group 0, home /
		{"root:nogroup", "0 65534 65534 /root"},          // root, another group
	} {
		out := mustRunInImage(t, "run", "-u", c.user, "-v", group+":/etc/group:ro", "busybox", "sh", "-c", `echo $(id -u) $(id -g) $(id -G) $HOME`)
		if got := strings.TrimSpace(out); got != c.want {
			t.Errorf("run -u %s: uid gid groups HOME = %q, want %q", c.user, got, c.want)
		}
	}
	if out := mustRunInImage(t, "run", "-u", "nobody", "-e", "HOME=/mine", "busybox", "sh", "-c", "echo $HOME"); out != "/mine\n" {
		t.Errorf("run -u nobody -e HOME=/mine: HOME %q, want the user's setting", out)
	}
	// Capabilities: none for another user, docker's for root.
	caps := func(args ...string) string {
		out := mustRunInImage(t, append(append([]string{"run"}, args...), "busybox", "sh", "-c", "grep -E '^Cap(Prm|Eff)' /proc/self/status")...)
		return strings.Join(strings.Fields(out), " ")
	}
	if got := caps("-u", "nobody"); got != "CapPrm: 0000000000000000 CapEff: 0000000000000000" {
		t.Errorf("run -u nobody keeps capabilities: %s", got)
	}
	if got := caps("-u", "0"); strings.Contains(got, "CapEff: 0000000000000000") {
		t.Errorf("run -u 0 lost root's capabilities: %s", got)
	}
	// --init: its PID 1 goes on running as the user, on every thread, with
	// no capability.
	out := mustRunInImage(t, "run", "--init", "-u", "1000", "busybox", "sh", "-c",
		`for t in /proc/1/task/*; do grep -E '^(Uid|CapPrm|CapEff):' $t/status; done | sort -u`)
	if got := strings.Join(strings.Fields(out), " "); got != "CapEff: 0000000000000000 CapPrm: 0000000000000000 Uid: 1000 1000 1000 1000" {
		t.Errorf("run --init -u 1000: PID 1's threads are %q, want uid 1000 and no capability on each", got)
	}
	// On the host's files: the host's /etc/passwd is the container's.
	if out := mustRun(t, "run", "-u", "65534", "/usr/bin/id", "-u"); out != "65534\n" {
		t.Errorf("run -u 65534 on the host's files: %q", out)
	}
	// Bad input: one line, 125, nothing left.
	expectFailure(t, inImage(t, "run", "-u", "nosuch", "busybox", "true"), 125, `user "nosuch": no such user in the container's /etc/passwd`)
	expectFailure(t, inImage(t, "run", "-u", "root:nosuch", "busybox", "true"), 125, `group "nosuch": no such group in the container's /etc/group`)
	expectFailure(t, inImage(t, "run", "-u", ":0", "busybox", "true"), 125, "invalid user")
	expectFailure(t, inImage(t, "run", "-u", "root:", "busybox", "true"), 125, "invalid user")
	checkNoCgroupLeft(t)
}

// TestExecUser: exec runs as the container's --user, or as its own -u.
func TestExecUser(t *testing.T) {
	id := detached(t, "-u", "nobody", "busybox", "sleep", "1000")
	waitStatus(t, id, `Up `)
	if out := mustRun(t, "exec", id, "sh", "-c", "echo $(id -u) $HOME"); out != "65534 /nonexistent\n" {
		t.Errorf("exec in a -u nobody container: %q, want nobody and its home", out)
	}
	if out := mustRun(t, "exec", "-u", "root", id, "sh", "-c", "echo $(id -u) $HOME"); out != "0 /root\n" {
		t.Errorf("exec -u root: %q", out)
	}
	expectFailure(t, run(t, nil, "exec", "-u", "nosuch", id, "true"), 125, `user "nosuch"`)
	mustRun(t, "rm", "-f", id)
}
