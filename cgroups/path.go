package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NewPath prepares a cgroup at path, as an OCI bundle's cgroupsPath names
// it: an absolute path starts at the root of each hierarchy, a relative
// one at the cgroup mydocker runs in. Unlike New's, it is made in every
// hierarchy, with limits or not: ps, kill --all, pause and the stats of an
// OCI container all read it.
func NewPath(path string, res Resources) (*Manager, error) {
	if path == "" || filepath.Clean("/"+path) == "/" {
		return nil, fmt.Errorf("cgroups: cgroupsPath %q names no cgroup", path)
	}
	h, err := detect()
	if err != nil {
		return nil, err
	}
	m, err := newManager(h, filepath.Base(path), res)
	if err != nil {
		return nil, err
	}
	m.path, m.all = filepath.Clean(path), true
	return m, nil
}

// controllers are the controllers the cgroup is made in: those its limits
// need, or with NewPath every one this host has ("" on cgroup v2: one
// directory for all).
func (m *Manager) controllers() []string {
	if m.h.unified != "" {
		return []string{""}
	}
	var out []string
	if m.all {
		for c := range m.h.v1 {
			if !strings.HasPrefix(c, "name=") {
				out = append(out, c)
			}
		}
		sort.Strings(out)
		return out
	}
	for _, s := range m.needed() {
		out = append(out, s.name)
	}
	return out
}

// target is the directory of the cgroup in controller's hierarchy.
func (m *Manager) target(controller string) string {
	if m.path == "" {
		return filepath.Join(m.parent(controller), m.Name)
	}
	if filepath.IsAbs(m.path) {
		root := m.h.unified
		if root == "" {
			root = m.h.v1Mount[controller]
		}
		return filepath.Join(root, m.path)
	}
	return filepath.Join(m.parent(controller), m.path)
}

// Dirs are the cgroup's directories, once made: what a later command
// (delete, ps, kill --all) finds it by (Attach).
func (m *Manager) Dirs() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range m.dirs {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// Attached is a cgroup a command of an earlier process made: its
// directories, as Dirs gave them.
type Attached []string

// Procs lists the processes in the cgroup (every directory holds the same
// ones; the first that reads is enough).
func (a Attached) Procs() ([]int, error) {
	var lastErr error
	for _, d := range a {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			lastErr = err
			continue
		}
		var pids []int
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
		return pids, nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no cgroup directory")
	}
	return nil, fmt.Errorf("cgroups: %w", lastErr)
}

// Remove removes the cgroup's directories (once its processes are gone).
func (a Attached) Remove() error {
	var errs []string
	for _, d := range a {
		if err := removeCgroup(d); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// Freeze stops (frozen true) or resumes every process of the cgroup: the
// v1 freezer's freezer.state, or v2's cgroup.freeze.
func (a Attached) Freeze(frozen bool) error {
	for _, d := range a {
		if _, err := os.Stat(filepath.Join(d, "cgroup.freeze")); err == nil {
			v := "0"
			if frozen {
				v = "1"
			}
			return writeFile(d, file{name: "cgroup.freeze", value: v})
		}
		if _, err := os.Stat(filepath.Join(d, "freezer.state")); err == nil {
			v := "THAWED"
			if frozen {
				v = "FROZEN"
			}
			if err := writeFile(d, file{name: "freezer.state", value: v}); err != nil {
				return err
			}
			// FREEZING settles into FROZEN once every task has stopped.
			for i := 0; i < 1000; i++ {
				state, _ := os.ReadFile(filepath.Join(d, "freezer.state"))
				if strings.TrimSpace(string(state)) == v {
					return nil
				}
				time.Sleep(time.Millisecond)
			}
			return fmt.Errorf("cgroups: %s stays %s", d, "FREEZING")
		}
	}
	return fmt.Errorf("cgroups: no freezer for this container (no freezer hierarchy)")
}

// Frozen reports whether the cgroup is frozen.
func (a Attached) Frozen() bool {
	for _, d := range a {
		if data, err := os.ReadFile(filepath.Join(d, "cgroup.freeze")); err == nil {
			return strings.TrimSpace(string(data)) == "1"
		}
		if data, err := os.ReadFile(filepath.Join(d, "freezer.state")); err == nil {
			return strings.TrimSpace(string(data)) != "THAWED"
		}
	}
	return false
}

// Targets are the directories Create makes (or joins), known before it
// makes them: a caller that may be killed while it does records them
// first.
func (m *Manager) Targets() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range m.controllers() {
		if d := m.target(c); !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// MissingParents are the directories above Targets that do not exist yet:
// those Create will make.
func (m *Manager) MissingParents() []string {
	var out []string
	for _, d := range m.Targets() {
		for p := filepath.Dir(d); ; p = filepath.Dir(p) {
			if _, err := os.Stat(p); err == nil || p == "/" {
				break
			}
			out = append(out, p)
		}
	}
	return out
}

// makeParents makes dir and the parents it lacks.
func (m *Manager) makeParents(controller, dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == "/" {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		if controller == "cpuset" {
			if err := inheritCpuset(missing[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// inheritCpuset gives a new v1 cpuset its parent's CPUs and memory nodes:
// one with none refuses every task.
func inheritCpuset(dir string) error {
	for _, name := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || strings.TrimSpace(string(cur)) != "" {
			continue // v2's cpuset, or set already
		}
		parent, err := os.ReadFile(filepath.Join(filepath.Dir(dir), name))
		if err != nil {
			return fmt.Errorf("cgroups: %w", err)
		}
		if err := writeFile(dir, file{name: name, value: strings.TrimSpace(string(parent))}); err != nil {
			return err
		}
	}
	return nil
}

// RemoveParents removes the parents a Create made, deepest first, where
// no other cgroup is left in them (rmdir fails on those, as it should).
func RemoveParents(parents []string) {
	sort.Slice(parents, func(i, j int) bool { return len(parents[i]) > len(parents[j]) })
	for _, d := range parents {
		os.Remove(d)
	}
}

// Update writes res's limits into the cgroup's directories (runc's
// update): each file into the directory of the hierarchy that has it.
func (a Attached) Update(res Resources) error {
	v2 := false
	for _, d := range a {
		if _, err := os.Stat(filepath.Join(d, "cgroup.controllers")); err == nil {
			v2 = true
		}
	}
	for _, s := range subsystems {
		files := s.v1(res)
		if v2 {
			files = s.v2(res)
		}
		for _, f := range files {
			written := false
			for _, d := range a {
				if _, err := os.Stat(filepath.Join(d, f.name)); err != nil {
					continue
				}
				if err := writeFile(d, f); err != nil {
					return err
				}
				written = true
			}
			if !written && !f.optional {
				return fmt.Errorf("cgroups: no %s for this container (no %s hierarchy)", f.name, s.name)
			}
		}
	}
	if len(res.Devices) > 0 {
		return fmt.Errorf("cgroups: device rules cannot be updated")
	}
	return nil
}

// enableAlong hands the controllers down to dir, on cgroup v2, through
// every cgroup from the root of the hierarchy to dir's parent (a
// cgroupsPath may be deep, and its parents new). Each hands down all it
// has itself, not only what the limits need: update may set any of them
// later, as runc's cgroup allows. The root's own subtree_control is the
// host's, never written here.
func (m *Manager) enableAlong(dir string) (err error) {
	rel, err := filepath.Rel(m.h.unified, filepath.Dir(dir))
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("cgroups: %s is not below %s", dir, m.h.unified)
	}
	defer func() {
		if err == nil {
			err = m.checkDelegated(filepath.Dir(dir))
		}
	}()
	if rel == "." {
		return nil
	}
	at := m.h.unified
	for _, part := range strings.Split(rel, "/") {
		at = filepath.Join(at, part)
		have, err := os.ReadFile(filepath.Join(at, "cgroup.controllers"))
		if err != nil {
			return fmt.Errorf("cgroups: %w", err)
		}
		var plus []string
		for _, c := range strings.Fields(string(have)) {
			plus = append(plus, "+"+c)
		}
		if len(plus) == 0 {
			continue
		}
		if err := writeFile(at, file{name: "cgroup.subtree_control", value: strings.Join(plus, " ")}); err != nil {
			return err
		}
	}
	return nil
}

// checkDelegated makes sure parent hands down every controller the
// limits need: a missing one would show as files the cgroup lacks.
func (m *Manager) checkDelegated(parent string) error {
	data, err := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("cgroups: %w", err)
	}
	have := strings.Fields(string(data))
	for _, s := range m.needed() {
		if c := s.controller(m.h); c != "devices" && !slices.Contains(have, c) {
			return fmt.Errorf("cgroups: the %s controller is not handed down to %s (%s/cgroup.subtree_control lacks it)", c, parent, parent)
		}
	}
	return nil
}
