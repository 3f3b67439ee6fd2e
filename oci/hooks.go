package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runHooks runs config.json's hooks of one kind, in order, each with the
// container's state on its stdin, as the runtime spec says; a hook that
// fails, or outlives its timeout, is an error.
func runHooks(c *Container, kind string, hooks []specs.Hook) error {
	if len(hooks) == 0 {
		return nil
	}
	state, err := json.Marshal(c.State())
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
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("%s hook %s: timed out after %d s", kind, h.Path, *h.Timeout)
		}
		if err != nil {
			return fmt.Errorf("%s hook %s: %v: %s", kind, h.Path, err, bytes.TrimSpace(stderr.Bytes()))
		}
	}
	return nil
}
