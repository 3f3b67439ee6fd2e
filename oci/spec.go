// Package oci is mydocker's OCI runtime side (mydocker-runc): an OCI
// bundle's config.json turned into the container.Config that `mydocker
// run` makes from its flags, the state of containers between runc's
// commands (create, start, state, kill, delete), and their hooks. The
// container itself is made by the same package container as run's.
package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mydocker/mydocker/capabilities"
	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SpecVersion is the runtime spec this side implements.
var SpecVersion = specs.Version

// DefaultCgroupPrefix names the cgroup of a container whose config.json
// names none: /mydocker-runc-ID at each hierarchy's root, flat as runc's
// and crun's /ID (no parent to make and remove with every container),
// and never another runtime's.
const DefaultCgroupPrefix = "/mydocker-runc-"

// Written is what config.json says of the process and the hooks, as it
// says it: what state.json keeps of them.
type Written struct {
	Process json.RawMessage `json:"process"`
	Hooks   json.RawMessage `json:"hooks"`
}

// LoadSpec reads bundle/config.json, once, at create.
func LoadSpec(bundle string) (*specs.Spec, *Written, error) {
	spec, data, err := loadSpec(bundle)
	if err != nil {
		return nil, nil, err
	}
	var w Written
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, nil, fmt.Errorf("bundle %s: config.json: %w", bundle, err)
	}
	return spec, &w, nil
}

func loadSpec(bundle string) (*specs.Spec, []byte, error) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("bundle %s: config.json does not exist", bundle)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("bundle %s: %w", bundle, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, nil, fmt.Errorf("bundle %s: config.json: %w", bundle, err)
	}
	if err := checkVersion(spec.Version); err != nil {
		return nil, nil, err
	}
	if spec.Process == nil {
		return nil, nil, fmt.Errorf("config.json: no process: nothing to run")
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, nil, fmt.Errorf("config.json: no root.path")
	}
	if spec.Linux == nil {
		return nil, nil, fmt.Errorf("config.json: no linux section: this runtime runs Linux containers")
	}
	return &spec, data, nil
}

// checkVersion accepts the 1.x versions of the spec (semver, as the
// spec's ociVersion is).
func checkVersion(v string) error {
	core, _, _ := strings.Cut(v, "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	ok := len(parts) == 3
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("config.json: ociVersion %q is not a version (want 1.x.y)", v)
	}
	if parts[0] != "1" {
		return fmt.Errorf("config.json: ociVersion %s is not supported (this runtime implements %s)", v, SpecVersion)
	}
	return nil
}

// Plan is what create makes from a config.json: init's Config, the
// cgroup, and the namespaces to make or to join.
type Plan struct {
	Config     *container.Config
	CgroupPath string
	// DefaultCgroup: config.json names no cgroup; CgroupPath is ours, and
	// one that exists already is not.
	DefaultCgroup bool
	Resources     cgroups.Resources
	// CloneFlags are the namespaces made new; Join those entered by path
	// before the clone, by CLONE_ flag.
	CloneFlags uintptr
	Join       []Join
	UIDMaps    []specs.LinuxIDMapping
	GIDMaps    []specs.LinuxIDMapping
}

// Join is a namespace entered by path.
type Join struct {
	Flag uintptr
	Type string
	Path string
}

// The tables below are slices, not maps: static data, which costs the
// binary's start nothing (a map literal is built by package
// initialisation, in mydocker run and init alike).

// named is one entry of such a table: a name and its flag.
type named[K comparable] struct {
	typ  K
	flag uintptr
}

// namespaceFlags are the namespaces this runtime makes or joins.
var namespaceFlags = []named[specs.LinuxNamespaceType]{
	{specs.PIDNamespace, unix.CLONE_NEWPID}, {specs.NetworkNamespace, unix.CLONE_NEWNET},
	{specs.MountNamespace, unix.CLONE_NEWNS}, {specs.IPCNamespace, unix.CLONE_NEWIPC},
	{specs.UTSNamespace, unix.CLONE_NEWUTS}, {specs.UserNamespace, unix.CLONE_NEWUSER},
	{specs.CgroupNamespace, unix.CLONE_NEWCGROUP},
}

// flagOf finds name in a table of names and flags.
func flagOf[K comparable](table []named[K], name K) (uintptr, bool) {
	for _, e := range table {
		if e.typ == name {
			return e.flag, true
		}
	}
	return 0, false
}

// MakePlan turns spec into a Plan. Whatever this runtime cannot apply
// is an error here, before anything is made: never a container without
// what its config asked for.
func MakePlan(spec *specs.Spec, bundle, id string, terminal bool) (*Plan, error) {
	p := &Plan{}
	proc := spec.Process
	if len(proc.Args) == 0 || proc.Args[0] == "" {
		return nil, fmt.Errorf("config.json: process.args is empty")
	}
	if proc.Cwd == "" || !filepath.IsAbs(proc.Cwd) {
		return nil, fmt.Errorf("config.json: process.cwd %q is not an absolute path", proc.Cwd)
	}
	if proc.Terminal && !terminal {
		return nil, fmt.Errorf("config.json: process.terminal needs --console-socket (the caller receives the pty's master there)")
	}
	if proc.ApparmorProfile != "" && !apparmorEnabled() {
		return nil, fmt.Errorf("config.json: AppArmor profile %q, but AppArmor is not enabled on this host", proc.ApparmorProfile)
	}
	if (proc.SelinuxLabel != "" || spec.Linux.MountLabel != "") && selinuxEnabled() {
		// Without SELinux a label means nothing, as with docker, runc and
		// crun; with it, a label this runtime cannot set is refused.
		return nil, fmt.Errorf("config.json: SELinux labels are not supported by this runtime")
	}
	if proc.IOPriority != nil || proc.Scheduler != nil || proc.ExecCPUAffinity != nil {
		return nil, fmt.Errorf("config.json: process ioPriority, scheduler and execCPUAffinity are not supported by this runtime")
	}
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("config.json: root.path %s does not exist or is not a directory", rootfs)
	}
	b, err := processBundle(proc)
	if err != nil {
		return nil, err
	}
	b.MaskedPaths, b.ReadonlyPaths = spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths
	b.Sysctl, b.Domainname = spec.Linux.Sysctl, spec.Domainname
	if err := planNamespaces(spec, p, b); err != nil {
		return nil, err
	}
	if !hasNamespace(spec, specs.UTSNamespace) && (spec.Hostname != "" || spec.Domainname != "") {
		return nil, fmt.Errorf("config.json: a hostname or domainname needs a UTS namespace (the host's is not the container's to rename)")
	}
	for _, m := range spec.Mounts {
		mm, err := planMount(m, bundle)
		if err != nil {
			return nil, err
		}
		b.Mounts = append(b.Mounts, mm)
	}
	for _, d := range spec.Linux.Devices {
		if len(d.Type) != 1 || !strings.Contains("cbup", d.Type) {
			return nil, fmt.Errorf("config.json: device %s: unknown type %q", d.Path, d.Type)
		}
		dev := container.Device{Path: d.Path, Type: d.Type[0], Major: d.Major, Minor: d.Minor, Mode: 0o666}
		if d.FileMode != nil {
			dev.Mode = uint32(*d.FileMode)
		}
		if d.UID != nil {
			dev.UID = *d.UID
		}
		if d.GID != nil {
			dev.GID = *d.GID
		}
		b.Devices = append(b.Devices, dev)
	}
	if prop := spec.Linux.RootfsPropagation; prop != "" {
		flag, ok := flagOf(propagationFlags, prop)
		if !ok {
			return nil, fmt.Errorf("config.json: unknown rootfsPropagation %q", prop)
		}
		b.RootPropagation = flag
	}
	if spec.Linux.IntelRdt != nil || spec.Linux.Personality != nil || len(spec.Linux.TimeOffsets) > 0 {
		return nil, fmt.Errorf("config.json: intelRdt, personality and timeOffsets are not supported by this runtime")
	}
	cfg := &container.Config{
		Args:            proc.Args,
		Env:             proc.Env,
		Hostname:        spec.Hostname,
		Workdir:         proc.Cwd,
		TTY:             proc.Terminal,
		ConsoleSocket:   proc.Terminal,
		Rootfs:          rootfs,
		ReadOnly:        spec.Root.Readonly,
		NoNewPrivileges: proc.NoNewPrivileges,
		CgroupNS:        p.CloneFlags&unix.CLONE_NEWCGROUP != 0,
		Bundle:          b,
	}
	if s := spec.Linux.Seccomp; s != nil {
		prog, err := seccomp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("config.json: seccomp: %w", err)
		}
		cfg.Seccomp = prog.Encode()
	}
	p.Config = cfg
	res, err := planResources(spec.Linux.Resources)
	if err != nil {
		return nil, err
	}
	p.Resources = res
	p.CgroupPath = spec.Linux.CgroupsPath
	if p.CgroupPath == "" {
		p.CgroupPath, p.DefaultCgroup = DefaultCgroupPrefix+id, true
	}
	if strings.Contains(p.CgroupPath, ":") && !strings.HasPrefix(p.CgroupPath, "/") {
		return nil, fmt.Errorf("config.json: cgroupsPath %q is systemd's slice:prefix:name form; this runtime drives cgroupfs only (no --systemd-cgroup)", p.CgroupPath)
	}
	return p, nil
}

// processBundle is what a process (config.json's, or exec's) asks of
// init: its user, capabilities, rlimits, umask and oom_score_adj.
func processBundle(proc *specs.Process) (*container.Bundle, error) {
	b := &container.Bundle{
		UID:            int(proc.User.UID),
		GID:            int(proc.User.GID),
		Umask:          proc.User.Umask,
		OOMScoreAdj:    proc.OOMScoreAdj,
		AdditionalGids: []int{int(proc.User.GID)},
	}
	for _, g := range proc.User.AdditionalGids {
		if !slices.Contains(b.AdditionalGids, int(g)) {
			b.AdditionalGids = append(b.AdditionalGids, int(g))
		}
	}
	if proc.User.Username != "" {
		return nil, fmt.Errorf("config.json: process.user.username is for Windows; give uid and gid")
	}
	if err := planCapabilities(proc.Capabilities, b); err != nil {
		return nil, err
	}
	for _, r := range proc.Rlimits {
		n, ok := flagOf(rlimits, r.Type)
		if !ok {
			return nil, fmt.Errorf("config.json: unknown rlimit %q", r.Type)
		}
		b.Rlimits = append(b.Rlimits, container.Rlimit{Type: int(n), Soft: r.Soft, Hard: r.Hard})
	}
	return b, nil
}

func planCapabilities(c *specs.LinuxCapabilities, b *container.Bundle) error {
	if c == nil {
		return nil
	}
	norm := func(set string, names []string) ([]string, error) {
		out := make([]string, 0, len(names))
		for _, n := range names {
			name, err := capabilities.Normalize(n)
			if err != nil || name == "ALL" || !strings.HasPrefix(strings.ToUpper(n), "CAP_") {
				return nil, fmt.Errorf("config.json: process.capabilities.%s: unknown capability %q", set, n)
			}
			out = append(out, name)
		}
		return out, nil
	}
	var err error
	for _, s := range []struct {
		name string
		in   []string
		out  *[]string
	}{
		{"bounding", c.Bounding, &b.Bounding}, {"effective", c.Effective, &b.Effective},
		{"permitted", c.Permitted, &b.Permitted}, {"inheritable", c.Inheritable, &b.Inheritable},
		{"ambient", c.Ambient, &b.Ambient},
	} {
		if *s.out, err = norm(s.name, s.in); err != nil {
			return err
		}
	}
	return nil
}

func planNamespaces(spec *specs.Spec, p *Plan, b *container.Bundle) error {
	seen := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range spec.Linux.Namespaces {
		flag, ok := flagOf(namespaceFlags, ns.Type)
		if !ok {
			return fmt.Errorf("config.json: unknown or unsupported namespace type %q", ns.Type)
		}
		if seen[ns.Type] {
			return fmt.Errorf("config.json: namespace %q listed twice", ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path == "" {
			p.CloneFlags |= flag
			continue
		}
		if ns.Type == specs.UserNamespace {
			return fmt.Errorf("config.json: joining a user namespace by path is not supported by this runtime")
		}
		if _, err := os.Stat(ns.Path); err != nil {
			return fmt.Errorf("config.json: namespace %s: %w", ns.Type, err)
		}
		p.Join = append(p.Join, Join{Flag: flag, Type: string(ns.Type), Path: ns.Path})
	}
	if !seen[specs.MountNamespace] {
		return fmt.Errorf("config.json: this runtime needs a mount namespace")
	}
	b.NewPID = p.CloneFlags&unix.CLONE_NEWPID != 0
	b.NewNet = p.CloneFlags&unix.CLONE_NEWNET != 0
	b.NewUser = p.CloneFlags&unix.CLONE_NEWUSER != 0
	if b.NewUser {
		if len(spec.Linux.UIDMappings) == 0 || len(spec.Linux.GIDMappings) == 0 {
			return fmt.Errorf("config.json: a user namespace needs uidMappings and gidMappings")
		}
		p.UIDMaps, p.GIDMaps = spec.Linux.UIDMappings, spec.Linux.GIDMappings
	} else if len(spec.Linux.UIDMappings)+len(spec.Linux.GIDMappings) > 0 {
		return fmt.Errorf("config.json: uidMappings and gidMappings need a user namespace")
	}
	return nil
}

var propagationFlags = []named[string]{
	{"private", unix.MS_PRIVATE}, {"rprivate", unix.MS_PRIVATE | unix.MS_REC},
	{"shared", unix.MS_SHARED}, {"rshared", unix.MS_SHARED | unix.MS_REC},
	{"slave", unix.MS_SLAVE}, {"rslave", unix.MS_SLAVE | unix.MS_REC},
	{"unbindable", unix.MS_UNBINDABLE}, {"runbindable", unix.MS_UNBINDABLE | unix.MS_REC},
}

// mountFlags are mount(8)'s options that are flags: set (true) or
// cleared (false).
var mountFlags = []struct {
	name  string
	clear bool // the option clears flag (rw, suid...)
	flag  uintptr
}{
	{"ro", false, unix.MS_RDONLY}, {"rw", true, unix.MS_RDONLY},
	{"nosuid", false, unix.MS_NOSUID}, {"suid", true, unix.MS_NOSUID},
	{"nodev", false, unix.MS_NODEV}, {"dev", true, unix.MS_NODEV},
	{"noexec", false, unix.MS_NOEXEC}, {"exec", true, unix.MS_NOEXEC},
	{"sync", false, unix.MS_SYNCHRONOUS}, {"async", true, unix.MS_SYNCHRONOUS},
	{"dirsync", false, unix.MS_DIRSYNC}, {"remount", false, unix.MS_REMOUNT},
	{"mand", false, unix.MS_MANDLOCK}, {"nomand", true, unix.MS_MANDLOCK},
	{"atime", true, unix.MS_NOATIME}, {"noatime", false, unix.MS_NOATIME},
	{"diratime", true, unix.MS_NODIRATIME}, {"nodiratime", false, unix.MS_NODIRATIME},
	{"relatime", false, unix.MS_RELATIME}, {"norelatime", true, unix.MS_RELATIME},
	{"strictatime", false, unix.MS_STRICTATIME}, {"nostrictatime", true, unix.MS_STRICTATIME},
	{"bind", false, unix.MS_BIND}, {"rbind", false, unix.MS_BIND | unix.MS_REC},
	{"defaults", false, 0},
}

func planMount(m specs.Mount, bundle string) (container.Mount, error) {
	if !filepath.IsAbs(m.Destination) {
		return container.Mount{}, fmt.Errorf("config.json: mount destination %q is not absolute", m.Destination)
	}
	mm := container.Mount{Destination: m.Destination, Type: m.Type, Source: m.Source}
	var data []string
	for _, o := range m.Options {
		known := false
		for _, f := range mountFlags {
			if f.name != o {
				continue
			}
			if known = true; f.clear {
				mm.Flags &^= f.flag
			} else {
				mm.Flags |= f.flag
			}
		}
		if known {
			continue
		}
		if f, ok := flagOf(propagationFlags, o); ok {
			mm.Propagation |= f
			continue
		}
		data = append(data, o)
	}
	if m.Type == "bind" {
		if mm.Flags&unix.MS_BIND == 0 {
			mm.Flags |= unix.MS_BIND
		}
	}
	if mm.Flags&unix.MS_BIND != 0 {
		if !filepath.IsAbs(mm.Source) {
			mm.Source = filepath.Join(bundle, mm.Source)
		}
		if _, err := os.Stat(mm.Source); err != nil {
			return container.Mount{}, fmt.Errorf("config.json: mount %s: source %s does not exist", m.Destination, mm.Source)
		}
	} else if m.Type == "" {
		return container.Mount{}, fmt.Errorf("config.json: mount %s: no type", m.Destination)
	}
	mm.Data = strings.Join(data, ",")
	return mm, nil
}

var rlimits = []named[string]{
	{"RLIMIT_AS", unix.RLIMIT_AS}, {"RLIMIT_CORE", unix.RLIMIT_CORE}, {"RLIMIT_CPU", unix.RLIMIT_CPU},
	{"RLIMIT_DATA", unix.RLIMIT_DATA}, {"RLIMIT_FSIZE", unix.RLIMIT_FSIZE}, {"RLIMIT_LOCKS", unix.RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", unix.RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", unix.RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", unix.RLIMIT_NICE},
	{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE}, {"RLIMIT_NPROC", unix.RLIMIT_NPROC}, {"RLIMIT_RSS", unix.RLIMIT_RSS},
	{"RLIMIT_RTPRIO", unix.RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", unix.RLIMIT_RTTIME}, {"RLIMIT_SIGPENDING", unix.RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", unix.RLIMIT_STACK},
}

// planResources maps linux.resources onto the limits the cgroup manager
// writes; what it has no file for is refused.
func planResources(r *specs.LinuxResources) (cgroups.Resources, error) {
	var res cgroups.Resources
	if r == nil {
		return res, nil
	}
	unsupported := func(what string) (cgroups.Resources, error) {
		return res, fmt.Errorf("config.json: linux.resources.%s is not supported by this runtime", what)
	}
	if b := r.BlockIO; b != nil {
		blk, err := planBlockIO(b)
		if err != nil {
			return res, err
		}
		res.BlkIO = blk
	}
	if len(r.HugepageLimits) > 0 {
		return unsupported("hugepageLimits")
	}
	if r.Network != nil {
		return unsupported("network")
	}
	if len(r.Rdma) > 0 {
		return unsupported("rdma")
	}
	if m := r.Memory; m != nil {
		set := func(to *int64, from *int64) {
			if from != nil {
				*to = *from
			}
		}
		set(&res.MemoryBytes, m.Limit)
		set(&res.MemoryReservation, m.Reservation)
		set(&res.MemorySwap, m.Swap)
		set(&res.KernelMemory, m.Kernel) //nolint:staticcheck // deprecated, still sent
		set(&res.KernelTCP, m.KernelTCP) //nolint:staticcheck
		res.Swappiness = m.Swappiness
		res.DisableOOMKiller = m.DisableOOMKiller != nil && *m.DisableOOMKiller
		if res.MemorySwap > 0 && res.MemoryBytes == 0 {
			return unsupported("memory.swap without memory.limit")
		}
		if v2 := cgroupV2(); v2 && (res.Swappiness != nil || res.DisableOOMKiller || res.KernelMemory != 0 || res.KernelTCP != 0) {
			return unsupported("memory swappiness, disableOOMKiller, kernel and kernelTCP on cgroup v2 (it has no such files)")
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil {
			res.CPUShares = *c.Shares
		}
		if c.Quota != nil && *c.Quota != 0 {
			res.CFSPeriod, res.CFSQuota = cgroups.CPUPeriod, *c.Quota
			if c.Period != nil && *c.Period > 0 {
				res.CFSPeriod = *c.Period
			}
		}
		if c.Cpus != "" {
			res.CPUSet = c.Cpus
		}
		res.CPUMems = c.Mems
		if c.RealtimePeriod != nil {
			res.RTPeriod = *c.RealtimePeriod
		}
		if c.RealtimeRuntime != nil {
			res.RTRuntime = *c.RealtimeRuntime
		}
		if res.RTPeriod != 0 || res.RTRuntime != 0 {
			if cgroupV2() {
				return unsupported("cpu.realtimePeriod and realtimeRuntime on cgroup v2 (it has no real-time groups)")
			}
		}
		if c.Idle != nil || c.Burst != nil {
			return unsupported("cpu.idle and cpu.burst")
		}
	}
	if r.Pids != nil && r.Pids.Limit > 0 {
		res.PidsLimit = r.Pids.Limit
	}
	rules, err := deviceRules(r.Devices)
	if err != nil {
		return res, err
	}
	res.Devices = rules
	return res, nil
}

// deviceRules turns the OCI device list (later entries win) into the
// allow-list the cgroup manager writes: a deny-all first, then allows.
// An allow-all leaves devices unrestricted (nil).
func deviceRules(list []specs.LinuxDeviceCgroup) ([]cgroups.DeviceRule, error) {
	var rules []cgroups.DeviceRule
	restricted := false
	for _, d := range list {
		typ := byte('a')
		if d.Type != "" {
			typ = d.Type[0]
		}
		major, minor := int64(-1), int64(-1)
		if d.Major != nil {
			major = *d.Major
		}
		if d.Minor != nil {
			minor = *d.Minor
		}
		access := d.Access
		if access == "" {
			access = "rwm"
		}
		all := typ == 'a' && major < 0 && minor < 0
		switch {
		case !d.Allow && all:
			rules, restricted = nil, true
		case d.Allow && all && access == "rwm":
			rules, restricted = nil, false
		case d.Allow:
			if !restricted {
				continue // everything is allowed already
			}
			types := []byte{typ}
			if typ == 'a' {
				types = []byte{'c', 'b'}
			}
			for _, t := range types {
				rules = append(rules, cgroups.DeviceRule{Type: t, Major: major, Minor: minor, Access: access})
			}
		default:
			// A deny after allows: drop the allow it names exactly.
			i := slices.IndexFunc(rules, func(r cgroups.DeviceRule) bool {
				return r.Type == typ && r.Major == major && r.Minor == minor && r.Access == access
			})
			if !restricted || i < 0 {
				return nil, fmt.Errorf("config.json: device rule deny %c %d:%d %s cannot be expressed as an allow-list", typ, major, minor, access)
			}
			rules = slices.Delete(rules, i, i+1)
		}
	}
	if restricted {
		// The nodes every container has (the runtime spec's default
		// devices) stay usable, as runc keeps them.
		rules = append(rules, cgroups.DefaultDevices...)
	}
	return rules, nil
}

func apparmorEnabled() bool {
	data, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(data), "Y")
}

func hasNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

func selinuxEnabled() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

func cgroupV2() bool {
	h, err := cgroups.Describe()
	return err == nil && h.Version == 2
}

// planBlockIO maps blockIO onto the blkio (v1) or io (v2) files: weights
// where this host's I/O scheduler takes them, throttles everywhere.
// leafWeight was CFQ's, gone from Linux since 5.0: refused.
func planBlockIO(b *specs.LinuxBlockIO) (*cgroups.BlkIO, error) {
	out := &cgroups.BlkIO{}
	if b.LeafWeight != nil {
		return nil, fmt.Errorf("config.json: linux.resources.blockIO.leafWeight is not supported (CFQ's, gone since Linux 5.0)")
	}
	if b.Weight != nil || len(b.WeightDevice) > 0 {
		file, err := cgroups.BlkIOWeightFile()
		if err != nil {
			return nil, fmt.Errorf("config.json: linux.resources.blockIO weight: %w", err)
		}
		out.WeightFile = file
	}
	if b.Weight != nil {
		out.Weight = *b.Weight
	}
	for _, d := range b.WeightDevice {
		if d.LeafWeight != nil {
			return nil, fmt.Errorf("config.json: linux.resources.blockIO.weightDevice leafWeight is not supported (CFQ's, gone since Linux 5.0)")
		}
		if d.Weight != nil {
			out.WeightDevices = append(out.WeightDevices, cgroups.DeviceValue{Major: d.Major, Minor: d.Minor, Value: uint64(*d.Weight)})
		}
	}
	throttle := func(list []specs.LinuxThrottleDevice) []cgroups.DeviceValue {
		var out []cgroups.DeviceValue
		for _, d := range list {
			out = append(out, cgroups.DeviceValue{Major: d.Major, Minor: d.Minor, Value: d.Rate})
		}
		return out
	}
	out.ReadBps, out.WriteBps = throttle(b.ThrottleReadBpsDevice), throttle(b.ThrottleWriteBpsDevice)
	out.ReadIOPS, out.WriteIOPS = throttle(b.ThrottleReadIOPSDevice), throttle(b.ThrottleWriteIOPSDevice)
	return out, nil
}
