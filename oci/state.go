package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultRoot is where mydocker-runc keeps its containers' state (--root),
// apart from mydocker's own: the two sides never list each other's.
const DefaultRoot = "/run/mydocker-runc"

// Container is what one container's directory, ROOT/ID, holds between
// runc's commands: state.json (this), and exec.fifo while it is created.
type Container struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	Rootfs string `json:"rootfs"`
	// Pid is init's PID on the host, StartTime its start in clock ticks
	// since boot (/proc/PID/stat): a PID reused by another process does
	// not pass for the container.
	Pid         int               `json:"pid"`
	StartTime   uint64            `json:"startTime"`
	Created     time.Time         `json:"created"`
	Ready       bool              `json:"ready"` // init waits for start
	Annotations map[string]string `json:"annotations,omitempty"`
	// Cgroup is the container's cgroup directories.
	Cgroup cgroups.Attached `json:"cgroup"`
	// Hooks and Process are config.json's, kept as written there: read
	// back only by the commands that need them (start, delete, exec),
	// and never encoded field by field at create.
	Hooks json.RawMessage `json:"hooks,omitempty"`
	// NewPID: its own PID namespace, where killing init ends every process.
	NewPID bool `json:"newPid"`
	// Process and Seccomp (config.json's compiled filter) are exec's
	// defaults.
	Process json.RawMessage `json:"process,omitempty"`
	Seccomp string          `json:"seccomp,omitempty"`

	root string
}

// Status values, the runtime spec's and runc's paused.
const (
	Creating = "creating"
	Created  = "created"
	Running  = "running"
	Stopped  = "stopped"
	Paused   = "paused"
)

// validID: a container ID is a name of letters, digits and _+-. (as
// runc's), never a path. By hand, not a regexp: package initialisation
// would compile it at every start of mydocker.
func validID(id string) bool {
	if id == "" || id == "." || id == ".." {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+-.", r)) {
			return false
		}
	}
	return true
}

// Dir is the container's state directory.
func Dir(root, id string) string { return filepath.Join(root, id) }

// Load reads the state of container id under root.
func Load(root, id string) (*Container, error) {
	if !validID(id) {
		return nil, fmt.Errorf("invalid container ID %q", id)
	}
	data, err := os.ReadFile(filepath.Join(Dir(root, id), "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(Dir(root, id)); err == nil {
			// create was killed before it wrote anything: a container
			// that never was, for delete to remove.
			return &Container{ID: id, root: root}, nil
		}
		return nil, fmt.Errorf("container %s does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	c := &Container{root: root}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("container %s: state.json: %w", id, err)
	}
	return c, nil
}

// List is every container under root, by ID.
func List(root string) ([]*Container, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, e := range entries {
		if !e.IsDir() {
			continue // cgroup-parents
		}
		if c, err := Load(root, e.Name()); err == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// save writes state.json whole, by rename: a reader never sees half.
func (c *Container) save() error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	path := filepath.Join(Dir(c.root, c.ID), "state.json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("container %s: save state: %w", c.ID, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("container %s: save state: %w", c.ID, err)
	}
	return nil
}

// hooks are config.json's hooks (nil: none).
func (c *Container) hooks() (*specs.Hooks, error) {
	if len(c.Hooks) == 0 {
		return nil, nil
	}
	var h specs.Hooks
	if err := json.Unmarshal(c.Hooks, &h); err != nil {
		return nil, fmt.Errorf("container %s: state.json: hooks: %w", c.ID, err)
	}
	return &h, nil
}

func (c *Container) fifo() string { return filepath.Join(Dir(c.root, c.ID), "exec.fifo") }

// Alive reports whether the container's init still runs (a zombie does
// not: it has ended, and only waits for its parent).
func (c *Container) Alive() bool {
	if c.Pid <= 0 {
		return false
	}
	start, state, err := container.ProcessStat(c.Pid)
	return err == nil && start == c.StartTime && state != 'Z' && state != 'X'
}

// Status is the container's status, from the live process rather than
// from what a command wrote: init still being mydocker (its exe is this
// binary) is created, or creating until create saw it ready.
func (c *Container) Status() string {
	if c.Pid <= 0 {
		return Creating
	}
	if !c.Alive() {
		return Stopped
	}
	if c.Cgroup.Frozen() {
		return Paused
	}
	if c.stillInit() {
		if c.Ready {
			return Created
		}
		return Creating
	}
	return Running
}

// stillInit: the container's PID 1 has not exec'd the user's command.
func (c *Container) stillInit() bool {
	var self, init unix.Stat_t
	if unix.Stat("/proc/self/exe", &self) != nil || unix.Stat(fmt.Sprintf("/proc/%d/exe", c.Pid), &init) != nil {
		return false
	}
	return self.Dev == init.Dev && self.Ino == init.Ino
}

// State is the runtime spec's state, with runc's rootfs, created and
// owner, as `state` prints it.
type State struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

// State is c's state now.
func (c *Container) State() State {
	st := State{
		State: specs.State{
			Version:     SpecVersion,
			ID:          c.ID,
			Status:      specs.ContainerState(c.Status()),
			Bundle:      c.Bundle,
			Annotations: c.Annotations,
		},
		Rootfs:  c.Rootfs,
		Created: c.Created,
		Owner:   "",
	}
	if st.Status != Stopped {
		st.Pid = c.Pid
	}
	return st
}
