package container

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"time"
)

// Hook is one of config.json's hooks: a program run at a point of the
// container's life, with the container's state (the runtime spec's JSON)
// on its stdin.
type Hook struct {
	Path string
	Args []string
	Env  []string
	// Timeout in seconds; nil: none.
	Timeout *int
}

// Hooks are the hooks of one kind that init runs itself, in the
// container's namespaces, and the state each reads.
type Hooks struct {
	List  []Hook
	State json.RawMessage
}

// RunHook runs h with state on its stdin, as the runtime spec says; a
// hook that fails, or outlives its timeout, is an error that names it
// and carries what it wrote on stderr. mydocker-runc runs its hooks of
// the host's side (oci/) and init those of the container's through it.
func RunHook(kind string, h Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("%s hook %s: timeout must be positive", kind, h.Path)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	cmd.Stdin = bytes.NewReader(state)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s hook %s: timed out after %d s", kind, h.Path, *h.Timeout)
	}
	if err == nil {
		return nil
	}
	if said := bytes.TrimSpace(stderr.Bytes()); len(said) > 0 {
		return fmt.Errorf("%s hook %s: %v: %s", kind, h.Path, err, said)
	}
	return fmt.Errorf("%s hook %s: %v", kind, h.Path, err)
}

// run runs the hooks in order and stops at the first that fails: the
// container does not go on (createContainer, startContainer).
func (hs Hooks) run(kind string) error {
	for _, h := range hs.List {
		if err := RunHook(kind, h, hs.State); err != nil {
			return err
		}
	}
	return nil
}
