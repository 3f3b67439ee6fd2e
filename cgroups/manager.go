package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mydocker/mydocker/trace"
	log "github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Prefix starts the name of every cgroup mydocker makes, so stale ones can
// be told from others'.
const Prefix = "mydocker-"

// Manager is one container's cgroup: the book's CgroupManager, with Create
// (make it and set the limits; the container joins it), OOMKilled and
// Destroy.
type Manager struct {
	Name      string
	Resources Resources
	h         *hierarchy
	// dirs are the cgroup directories made, by controller (v1) or the
	// one unified directory under "" (v2).
	dirs map[string]string
	// held are those directories, open and flock'ed while the container
	// lives (see Create).
	held []*os.File
	// path, when set, is where the cgroup goes instead of Name beside
	// mydocker's own (NewPath); all makes it in every hierarchy.
	path string
	all  bool
}

// New prepares a cgroup called name for res on this host, checking that
// every controller res needs is there. It creates nothing.
func New(name string, res Resources) (*Manager, error) {
	h, err := detect()
	if err != nil {
		return nil, err
	}
	return newManager(h, name, res)
}

func newManager(h *hierarchy, name string, res Resources) (*Manager, error) {
	m := &Manager{Name: name, Resources: res, h: h, dirs: map[string]string{}}
	have, err := h.available()
	if err != nil {
		return nil, err
	}
	for _, s := range m.needed() {
		if !have[s.controller(h)] && !(s.name == "devices" && h.unified != "") {
			return nil, fmt.Errorf("cgroups: the %s controller is not available on this host (cgroup v%d)", s.controller(h), h.Version())
		}
	}
	return m, nil
}

// needed are the subsystems res sets something in.
func (m *Manager) needed() []subsystem {
	var out []subsystem
	for _, s := range subsystems {
		if len(m.files(s)) > 0 || s.name == "devices" && len(m.Resources.Devices) > 0 {
			out = append(out, s)
		}
	}
	return out
}

func (m *Manager) files(s subsystem) []file {
	if m.h.unified != "" {
		return s.v2(m.Resources)
	}
	return s.v1(m.Resources)
}

// parent is where the container's cgroup for controller is made: the
// cgroup mydocker runs in, in that controller's hierarchy (v1) or in the
// unified one (v2, where controller is ignored).
func (m *Manager) parent(controller string) string {
	if m.h.unified != "" {
		return m.h.self
	}
	return m.h.v1[controller]
}

// key is the m.dirs key of a controller: one shared directory on v2.
func (m *Manager) key(controller string) string {
	if m.h.unified != "" {
		return ""
	}
	return controller
}

// Create makes the container's cgroup and writes every limit. The
// container's init then joins it before its command can run: it is born in
// it on cgroup v2 (clone's CLONE_INTO_CGROUP, UnifiedDir), and on v1 it
// moves itself, writing "0" into each of TaskFiles (container/init.go).
// Either way nobody writes a PID into cgroup.procs, which makes the kernel
// wait for an RCU grace period (5-10 ms here) on every start.
//
// Until Destroy, or the death of this process, the cgroup is held: an
// flock on each of its directories tells CleanStale that it is not stale,
// even while it is still empty. On error, whatever was made is removed.
func (m *Manager) Create() (err error) {
	defer func() {
		if err != nil {
			m.Destroy()
		}
	}()
	unlock, err := m.lockParents()
	if err != nil {
		return err
	}
	defer unlock()

	if m.h.unified != "" && m.path == "" {
		if err := m.enableControllers(); err != nil {
			return err
		}
	}
	for _, c := range m.controllers() {
		if _, made := m.dirs[m.key(c)]; made {
			continue
		}
		dir := m.target(c)
		err := os.Mkdir(dir, 0o755)
		if m.path != "" && errors.Is(err, fs.ErrExist) {
			err = nil // a cgroupsPath may name a cgroup that exists
		} else if m.path != "" && errors.Is(err, fs.ErrNotExist) {
			err = m.makeParents(c, dir)
		}
		if err == nil && c == "cpuset" && m.path != "" {
			err = inheritCpuset(dir)
		}
		if err == nil && c == "" && m.path != "" {
			err = m.enableAlong(dir)
		}
		trace.Step("3.2", "", err, "mkdir %s", dir)
		if err != nil {
			return fmt.Errorf("cgroups: create %s: %w", dir, err)
		}
		m.dirs[m.key(c)] = dir
		f, err := os.Open(dir)
		if err == nil {
			err = unix.Flock(int(f.Fd()), unix.LOCK_SH)
		}
		if err != nil {
			return fmt.Errorf("cgroups: hold %s: %w", dir, err)
		}
		m.held = append(m.held, f)
	}
	for _, s := range m.needed() {
		dir := m.dir(s.name)
		if s.name == "cpuset" && m.h.unified == "" {
			// A new v1 cpuset has no memory nodes and refuses every task
			// until it gets some: inherit the parent's.
			mems, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "cpuset.mems"))
			if err != nil {
				return fmt.Errorf("cgroups: %w", err)
			}
			if err := writeFile(dir, file{name: "cpuset.mems", value: strings.TrimSpace(string(mems))}); err != nil {
				return err
			}
		}
		for _, f := range m.files(s) {
			if err := writeFile(dir, f); err != nil {
				return err
			}
		}
		if s.name == "devices" && m.h.unified != "" {
			log.Infof("cgroups: attach a device program of %d rules to %s", len(m.Resources.Devices), dir)
			err := attachDeviceProgram(dir, m.Resources.Devices)
			trace.Step(trace.Beyond, "docker's device rules: cgroup v2 has no devices files, an eBPF program instead", err, "bpf(BPF_PROG_ATTACH, %s, BPF_CGROUP_DEVICE, {%d rules})", dir, len(m.Resources.Devices))
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// UnifiedDir is the cgroup's directory on cgroup v2, for clone's
// CLONE_INTO_CGROUP; "" on v1.
func (m *Manager) UnifiedDir() string {
	if m.h.unified == "" {
		return ""
	}
	return m.dirs[""]
}

// TaskFiles are, on cgroup v1, the tasks file of the cgroup in each
// hierarchy: the book's way in is writing a PID there; a thread that
// writes "0" moves itself, which the kernel does without the grace period.
// nil on v2.
func (m *Manager) TaskFiles() []string {
	if m.h.unified != "" {
		return nil
	}
	var files []string
	seen := map[string]bool{}
	for _, c := range m.controllers() {
		if dir := m.dir(c); !seen[dir] {
			seen[dir] = true
			files = append(files, filepath.Join(dir, "tasks"))
		}
	}
	return files
}

func (m *Manager) dir(controller string) string { return m.dirs[m.key(controller)] }

// enableControllers turns on, in mydocker's own cgroup, the controllers
// its children need (v2 hands controllers down through subtree_control).
func (m *Manager) enableControllers() error {
	var plus []string
	for _, s := range m.needed() {
		if s.name != "devices" { // no such controller on v2: an eBPF program instead
			plus = append(plus, "+"+s.controller(m.h))
		}
	}
	if len(plus) == 0 {
		return nil
	}
	f := file{name: "cgroup.subtree_control", value: strings.Join(plus, " ")}
	err := writeFile(m.h.self, f)
	if errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("%w (cgroup v2 lets a cgroup with processes of its own hand down no controllers: run mydocker from a delegated cgroup, e.g. systemd-run --scope -p Delegate=yes)", err)
	}
	return err
}

// writeFile writes one cgroup file, logging it at info level so a student
// can watch the mechanism.
func writeFile(dir string, f file) error {
	path := filepath.Join(dir, f.name)
	if f.optional {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			log.Infof("cgroups: %s absent, skipped", path)
			return nil
		}
	}
	log.Infof("cgroups: write %q to %s", f.value, path)
	err := os.WriteFile(path, []byte(f.value), 0o644)
	section := "3.2"
	if strings.HasPrefix(f.name, "devices.") {
		section = trace.Beyond // docker's device rules
	}
	trace.Step(section, "", err, "write %s %q", path, f.value)
	if err != nil {
		return fmt.Errorf("cgroups: write %q to %s: %w", f.value, path, errors.Unwrap(err))
	}
	return nil
}

// lockParents takes an flock on each parent cgroup directory, so that
// making a cgroup and cleaning stale ones never interleave.
func (m *Manager) lockParents() (unlock func(), err error) {
	var held []*os.File
	unlock = func() {
		for _, f := range held {
			f.Close()
		}
	}
	seen := map[string]bool{}
	for _, c := range m.controllers() {
		dir := filepath.Dir(m.target(c))
		if seen[dir] {
			continue
		}
		seen[dir] = true
		f, err := os.Open(dir)
		if m.path != "" && errors.Is(err, fs.ErrNotExist) {
			continue // a cgroupsPath whose parents Create makes
		}
		if err == nil {
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		}
		if err != nil {
			unlock()
			return nil, fmt.Errorf("cgroups: lock %s: %w", dir, err)
		}
		held = append(held, f)
	}
	return unlock, nil
}

// OOMKilled reports how many processes the kernel's OOM killer killed in
// the container, from the cgroup's own counters.
func (m *Manager) OOMKilled() int {
	dir := m.dir("memory")
	if dir == "" {
		return 0
	}
	name, key := "memory.events", "oom_kill" // v2
	if m.h.unified == "" {
		name = "memory.oom_control" // v1: "oom_kill N" since Linux 4.13
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == key {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// WaitOOMKilled is OOMKilled for a container that just died of SIGKILL:
// the kernel counts the kill a moment after delivering it, so under load
// the counter can still read 0 when the container has been reaped. It
// waits for it, boundedly (0.2 s: a SIGKILL that was not the OOM killer's
// costs no more than that).
func (m *Manager) WaitOOMKilled() int {
	for i := 0; ; i++ {
		if n := m.OOMKilled(); n > 0 || i == 20 {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Destroy removes the container's cgroup. Called once the container's PID 1
// has been reaped; by then the kernel has killed and reaped every other
// process of its PID namespace, but a cgroup can stay busy for a moment
// while the last ones are released, so rmdir is retried briefly.
func (m *Manager) Destroy() error {
	var errs []error
	for controller, dir := range m.dirs {
		if err := removeCgroup(dir); err != nil {
			errs = append(errs, err)
		}
		delete(m.dirs, controller)
	}
	for _, f := range m.held {
		f.Close()
	}
	m.held = nil
	return errors.Join(errs...)
}

func removeCgroup(dir string) (err error) {
	defer func() { trace.Step("3.2", "", err, "rmdir %s", dir) }()
	// The wait doubles from 0.1 ms: the last task usually leaves within a
	// fraction of a millisecond, and a fixed 10 ms nap cost every start
	// that much. About 1.6 s in all before giving up.
	for wait := 100 * time.Microsecond; wait < 2*time.Second; wait *= 2 {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			log.Infof("cgroups: removed %s", dir)
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(wait)
	}
	return fmt.Errorf("cgroups: remove %s: %w", dir, err)
}

// removeIfStale removes dir when no live mydocker holds it (Create's
// flock) and no process is in it. A bare descriptor, as container's
// lockHeldOn: this runs for every container beside a new one.
func removeIfStale(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return // its mydocker is alive
	}
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil || len(strings.TrimSpace(string(procs))) > 0 {
		return
	}
	if unix.Rmdir(dir) == nil {
		log.Infof("cgroups: removed stale %s", dir)
	}
}

// CleanStale removes the mydocker cgroups that containers whose mydocker
// was killed with SIGKILL (which had no chance to run Destroy) left beside
// where this one goes, in the hierarchies it uses: a cgroup no live
// mydocker holds (Create's flock) and with no process in it.
func (m *Manager) CleanStale() {
	dirs := map[string]bool{}
	for _, s := range m.needed() {
		dirs[m.parent(s.name)] = true
	}
	for parent := range dirs {
		entries, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		var lock *os.File
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), Prefix) {
				continue
			}
			if lock == nil {
				// Same lock as Create: never remove a cgroup being made.
				if lock, err = os.Open(parent); err != nil || unix.Flock(int(lock.Fd()), unix.LOCK_EX) != nil {
					break
				}
			}
			removeIfStale(filepath.Join(parent, e.Name()))
		}
		if lock != nil {
			lock.Close()
		}
	}
}

// RemoveLeft removes the cgroup called name, in every hierarchy, when no
// live mydocker holds it: what a container whose monitor was killed left.
func RemoveLeft(name string) {
	h, err := detect()
	if err != nil {
		return
	}
	parents := map[string]bool{}
	if h.unified != "" {
		parents[h.self] = true
	}
	for _, d := range h.v1 {
		parents[d] = true
	}
	for parent := range parents {
		removeIfStale(filepath.Join(parent, name))
	}
}
