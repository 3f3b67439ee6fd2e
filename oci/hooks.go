package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runHooks runs config.json's hooks of one kind, in order, each with the
// container's state on its stdin, as the runtime spec says; a hook that
// fails, or outlives its timeout, is an error.
//
// The hooks of create (createRuntime, prestart) see the container as
// created, as runc shows it: its namespaces exist, its command waits;
// poststart's see it running.
func runHooks(c *Container, kind string, hooks []specs.Hook) error {
	if len(hooks) == 0 {
		return nil
	}
	st := c.State()
	switch kind {
	case "createRuntime", "prestart":
		st.Status, st.Pid = Created, c.Pid
	case "poststart":
		// The command was let go: running, however soon it ends.
		st.Status, st.Pid = Running, c.Pid
	}
	state, err := json.Marshal(st)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		ctx := context.Background()
		cancel := func() {}
		if h.Timeout != nil {
			if *h.Timeout <= 0 {
				return fmt.Errorf("%s hook %s: timeout must be positive", kind, h.Path)
			}
			ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
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
		timedOut := ctx.Err() == context.DeadlineExceeded
		cancel()
		if timedOut {
			err = fmt.Errorf("%s hook %s: timed out after %d s", kind, h.Path, *h.Timeout)
		} else if err != nil {
			err = fmt.Errorf("%s hook %s: %v: %s", kind, h.Path, err, bytes.TrimSpace(stderr.Bytes()))
		}
		if err == nil {
			continue
		}
		if kind != "poststart" && kind != "poststop" {
			return err
		}
		// The container has started, or is gone: a failed hook is a
		// warning, and the next hooks run all the same (the spec's rule).
		fmt.Fprintf(os.Stderr, "mydocker-runc: warning: %v\n", err)
	}
	return nil
}
