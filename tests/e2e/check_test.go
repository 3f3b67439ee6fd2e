package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// checkOut runs mydocker check through a wrapper (setpriv, unshare...) and
// returns its output and status.
func checkOut(t *testing.T, wrapper ...string) (string, int) {
	t.Helper()
	args := append(wrapper, mydocker, "check")
	cmd := exec.Command(args[0], args[1:]...)
	out, err := cmd.CombinedOutput()
	return string(out), statusOf(t, cmd, err)
}

func TestCheckPassesHere(t *testing.T) {
	out, status := checkOut(t, "env")
	if status != 0 || strings.Contains(out, "✗") || strings.Count(out, ": ready\n") != 5 {
		t.Errorf("check on this machine, which runs every test here: status %d\n%s", status, out)
	}
	for _, want := range []string{"✓ PID namespace", "✓ memory controller", "✓ overlayfs", "✓ pivot_root", "✓ seccomp filters", "✓ bridge", "✓ veth pair", "✓ nftables (NAT)"} {
		if !strings.Contains(out, want) {
			t.Errorf("check does not say %q:\n%s", want, out)
		}
	}
}

func TestCheckWithoutRootSaysWhatNeedsRoot(t *testing.T) {
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatal("setpriv (util-linux) is needed to drop root")
	}
	out, status := checkOut(t, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
	if status != 0 || !regexp.MustCompile(`- network namespace: needs root`).MatchString(out) ||
		!strings.Contains(out, "- bridge: needs root") || !regexp.MustCompile(`\d+ probes need root`).MatchString(out) ||
		!strings.Contains(out, "✓ overlayfs") {
		t.Errorf("check as nobody: status %d\n%s", status, out)
	}
}

// TestCheckFailsWhenAFeatureIsTakenAway runs check where the cgroup file
// systems are unmounted, and where / is shared: in mount namespaces of the
// test's own (the host's mounts are untouched).
func TestCheckFailsWhenAFeatureIsTakenAway(t *testing.T) {
	script := `umount -R /sys/fs/cgroup 2>/dev/null || umount -l /sys/fs/cgroup; exec "$0" check`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, mydocker)
	data, err := cmd.CombinedOutput()
	out, status := string(data), statusOf(t, cmd, err)
	if status != 1 || !strings.Contains(out, "✗ cgroup hierarchy") || !strings.Contains(out, "chapter 3.2: missing something") {
		t.Errorf("check without cgroup file systems: status %d\n%s", status, out)
	}
	out, status = checkOut(t, "unshare", "-m", "--propagation", "shared")
	if status != 0 || !strings.Contains(out, "/ is a shared mount: mydocker makes the container's copy private") {
		t.Errorf("check with / shared: status %d\n%s", status, out)
	}
	out, _ = checkOut(t, "unshare", "-m", "--propagation", "private")
	if !strings.Contains(out, "/ is a private mount") {
		t.Errorf("check with / private:\n%s", out)
	}
}
