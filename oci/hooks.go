package oci

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/mydocker/mydocker/container"
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
		err := container.RunHook(kind, hookOf(h), state)
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

// hookOf is a config.json hook as container.RunHook takes it.
func hookOf(h specs.Hook) container.Hook {
	return container.Hook{Path: h.Path, Args: h.Args, Env: h.Env, Timeout: h.Timeout}
}

// containerHooks are the hooks of one kind init runs in the container,
// with the state they read (status and PID already the ones they see).
func containerHooks(hooks []specs.Hook, st State) (container.Hooks, error) {
	var hs container.Hooks
	for _, h := range hooks {
		hs.List = append(hs.List, hookOf(h))
	}
	if len(hs.List) == 0 {
		return hs, nil
	}
	state, err := json.Marshal(st)
	hs.State = state
	return hs, err
}
