package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBashCompletion loads `mydocker completion bash` in bash and completes
// commands, flags, an image name and a container name, as a user pressing
// Tab would.
func TestBashCompletion(t *testing.T) {
	needImage(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash is needed")
	}
	id := detached(t, "--name", "compl-web", "busybox", "sleep", "1000")
	waitStatus(t, id, "Up ")
	script := filepath.Join(t.TempDir(), "mydocker.bash")
	if err := os.WriteFile(script, []byte(mustRun(t, "completion", "bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Dir(mydocker)
	complete := func(words ...string) string {
		t.Helper()
		cmd := exec.Command("bash", "-c", `source "$0" || exit 9; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mydocker; echo "${COMPREPLY[*]}"`, script)
		cmd.Args = append(cmd.Args, words...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("completing %q: %v\n%s", words, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"mydocker", "st"}, "start stop"},
		{[]string{"mydocker", "run", "busy"}, "busybox busybox:latest"}, // the repository, and with its tag
		{[]string{"mydocker", "run", "-name", "x", "busy"}, "busybox busybox:latest"},
		{[]string{"mydocker", "run", "busybox", "busy"}, ""}, // the command's own argument
		{[]string{"mydocker", "exec", "compl-"}, "compl-web"},
		{[]string{"mydocker", "rm", id[:6]}, id},
		{[]string{"mydocker", "stop", "--ti"}, "--time"},
		{[]string{"mydocker", "network", "l"}, "ls list"},
		{[]string{"mydocker", "--log-level", "w"}, "warn"},
	} {
		if got := complete(c.words...); got != c.want {
			t.Errorf("completing %q: %q, want %q", c.words, got, c.want)
		}
	}
	if r := run(t, nil, "completion", "zsh"); r.status != 125 || !strings.Contains(r.stderr, "mydocker completion bash") {
		t.Errorf("completion zsh: %d %q", r.status, r.stderr)
	}
}
