package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// hierarchy is where the cgroup controllers are on this host and where
// mydocker itself sits in them.
type hierarchy struct {
	// unified is the cgroup2 mount point on a pure v2 host; "" on v1 and
	// hybrid hosts, whose controllers are all in v1 hierarchies (the
	// cgroup2 mount of a hybrid host has none).
	unified string
	// v1 maps a controller to the directory of the cgroup mydocker runs in
	// (mount point plus its own path); v2 uses self instead.
	v1   map[string]string
	self string // v2: mydocker's own cgroup directory
	// v1Mount maps a controller to its hierarchy's mount point, where an
	// absolute cgroupsPath (OCI) starts.
	v1Mount map[string]string
}

// Version is 1 or 2, for messages.
func (h *hierarchy) Version() int {
	if h.unified != "" {
		return 2
	}
	return 1
}

// Unified reports whether this host's cgroups are v2, where a process
// joins its cgroup cheaply only as it is born (Manager.Create): the
// cgroup must exist before the clone there.
func Unified() bool {
	h, err := detect()
	return err == nil && h.unified != ""
}

// detect reads the host's layout from /proc/self/mountinfo and mydocker's
// place in it from /proc/self/cgroup, once per process: neither changes
// under a running mydocker, and run asks twice (whether init must be born
// in its cgroup, then the cgroup's making), 37 µs each time.
var detect = sync.OnceValues(readHierarchy)

func readHierarchy() (*hierarchy, error) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	return parseHierarchy(string(mounts), string(self))
}

// parseHierarchy is detect without the files, for tests on fake trees.
func parseHierarchy(mountinfo, selfCgroup string) (*hierarchy, error) {
	type mount struct{ point, root string }
	v1Mounts := map[string]mount{}
	v2Mount := ""
	eachMount(mountinfo, func(pf, qf []string) {
		switch qf[0] {
		case "cgroup2":
			if v2Mount == "" {
				v2Mount = pf[4]
			}
		case "cgroup":
			for _, opt := range strings.Split(qf[2], ",") {
				if _, seen := v1Mounts[opt]; !seen {
					v1Mounts[opt] = mount{point: pf[4], root: pf[3]}
				}
			}
		}
	})

	h := &hierarchy{v1: map[string]string{}, v1Mount: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(selfCgroup))
	for sc.Scan() {
		// 4:memory:/user.slice   or, for v2, 0::/user.slice
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			if len(v1Mounts) == 0 && v2Mount != "" {
				h.unified = v2Mount
				h.self = filepath.Join(v2Mount, parts[2])
			}
			continue
		}
		for _, controller := range strings.Split(parts[1], ",") {
			if m, ok := v1Mounts[controller]; ok {
				// Inside a cgroup namespace or a bind mount, the mount's
				// root is a prefix of our path that is not in the tree.
				rel := strings.TrimPrefix(parts[2], m.root)
				h.v1[controller] = filepath.Join(m.point, rel)
				h.v1Mount[controller] = m.point
			}
		}
	}
	if h.unified == "" && len(h.v1) == 0 {
		return nil, fmt.Errorf("cgroups: no cgroup hierarchy is mounted")
	}
	return h, nil
}

// available lists the controllers mydocker can use here.
func (h *hierarchy) available() (map[string]bool, error) {
	out := map[string]bool{}
	if h.unified == "" {
		for c := range h.v1 {
			out[c] = true
		}
		return out, nil
	}
	data, err := os.ReadFile(filepath.Join(h.self, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	for _, c := range strings.Fields(string(data)) {
		out[c] = true
	}
	return out, nil
}

// FS is one cgroup file system to mount inside a container, at
// /sys/fs/cgroup/Name ("" for the cgroup v2 tree at /sys/fs/cgroup itself).
type FS struct {
	Type    string // "cgroup" (v1) or "cgroup2"
	Options string // v1: the hierarchy's controllers, e.g. "cpu,cpuacct"
	Name    string
}

// ContainerFS lists the cgroup file systems a container should see, from
// the host's mount table: the v2 tree on a v2 host, else each v1
// hierarchy (the empty v2 tree of a hybrid host is left out).
func ContainerFS() ([]FS, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	return parseContainerFS(string(data)), nil
}

func parseContainerFS(mountinfo string) []FS {
	var v1 []FS
	var v2 *FS
	seen := map[string]bool{}
	eachMount(mountinfo, func(pf, qf []string) {
		if seen[pf[4]] {
			return
		}
		switch qf[0] {
		case "cgroup2":
			if v2 == nil {
				v2 = &FS{Type: "cgroup2"}
			}
		case "cgroup":
			var opts []string
			for _, o := range strings.Split(qf[2], ",") {
				switch o {
				case "rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "clone_children", "xattr":
				default:
					opts = append(opts, o)
				}
			}
			seen[pf[4]] = true
			v1 = append(v1, FS{Type: "cgroup", Options: strings.Join(opts, ","), Name: filepath.Base(pf[4])})
		}
	})
	if len(v1) == 0 && v2 != nil {
		return []FS{*v2}
	}
	return v1
}

// eachMount calls fn with the fields of each line of a mountinfo table,
// before and after its " - " separator:
//
//	35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
func eachMount(mountinfo string, fn func(pre, post []string)) {
	sc := bufio.NewScanner(strings.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) >= 5 && len(qf) >= 3 {
			fn(pf, qf)
		}
	}
}

// Of returns where the process pid is, among the cgroups mydocker made:
// on cgroup v1 the tasks file of each, on v2 the one directory. exec uses
// it to put a new process of a container where the container is.
func Of(pid int) (tasks []string, unified string, err error) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, "", fmt.Errorf("cgroups: %w", err)
	}
	self, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, "", fmt.Errorf("cgroups: %w", err)
	}
	h, err := parseHierarchy(string(mounts), string(self))
	if err != nil {
		return nil, "", err
	}
	if h.unified != "" {
		if strings.HasPrefix(filepath.Base(h.self), Prefix) {
			unified = h.self
		}
		return nil, unified, nil
	}
	seen := map[string]bool{}
	for _, dir := range h.v1 {
		if strings.HasPrefix(filepath.Base(dir), Prefix) && !seen[dir] {
			seen[dir] = true
			tasks = append(tasks, filepath.Join(dir, "tasks"))
		}
	}
	return tasks, "", nil
}

// Host is what `mydocker check` says of this host's cgroups.
type Host struct {
	Version     int             // 1 or 2
	Hybrid      bool            // v1 controllers beside an empty cgroup2 tree
	Controllers map[string]bool // those mydocker can use
	// Parents are the directories mydocker makes its cgroups in (its own
	// cgroup in each hierarchy), by controller ("" on v2: one for all).
	Parents map[string]string
}

// Describe reads this host's cgroup layout and mydocker's place in it.
func Describe() (*Host, error) {
	h, err := detect()
	if err != nil {
		return nil, err
	}
	have, err := h.available()
	if err != nil {
		return nil, err
	}
	host := &Host{Version: h.Version(), Controllers: have, Parents: map[string]string{}}
	if h.unified != "" {
		host.Parents[""] = h.self
	} else {
		for c, dir := range h.v1 {
			host.Parents[c] = dir
		}
		mounts, _ := os.ReadFile("/proc/self/mountinfo")
		eachMount(string(mounts), func(_, qf []string) { host.Hybrid = host.Hybrid || qf[0] == "cgroup2" })
	}
	return host, nil
}
