package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/mydocker/mydocker/capabilities"
	"github.com/mydocker/mydocker/trace"
	"golang.org/x/sys/unix"
)

// Bundle is what an OCI bundle's config.json asks of init beyond run's
// flags (mydocker-runc, oci/). Where it is set, it replaces run's fixed
// choices: its Mounts are the container's whole mount list (run's are
// /proc, /sys, a /dev tmpfs...), its paths are masked instead of
// docker's, its capability sets are given one by one. The rest of init
// (pivot_root, the console, confinement, the exec) is the same code for
// both.
type Bundle struct {
	Mounts        []Mount
	MaskedPaths   []string
	ReadonlyPaths []string
	Devices       []Device
	Sysctl        map[string]string
	Rlimits       []Rlimit
	// Umask, when not nil, is the command's file mode creation mask.
	Umask *uint32
	// User is the command's numeric identity (config.json has no names).
	UID, GID       int
	AdditionalGids []int
	// Caps are the five capability sets, by name (CAP_...).
	Bounding, Effective, Permitted, Inheritable, Ambient []string
	OOMScoreAdj                                          *int
	Domainname                                           string
	// RootPropagation is the propagation of the container's mounts
	// (MS_PRIVATE, MS_SLAVE, MS_SHARED...; 0: private, as run's).
	RootPropagation uintptr
	// NoPivot: MS_MOVE the root and chroot, for a root on a ramdisk where
	// pivot_root fails (runc's --no-pivot).
	NoPivot bool
	// StartFifo is the descriptor of the FIFO init waits on, set up and
	// confined, until `mydocker-runc start` writes a byte into it
	// (create's wait); 0: none. create opens it read-write (which never
	// blocks) and passes it: init needs no access to the host's path.
	StartFifo int
	// NewPID and NewNet say which namespaces are new: PID 1 and the
	// loopback interface are only init's business in new ones.
	NewPID, NewNet bool
	// NewUser: a user namespace; /dev nodes are bound from the host's
	// (mknod is not allowed there).
	NewUser bool
	// Detach: the process outlives the command that starts it (exec
	// --detach): no death signal.
	Detach bool
	// CreateContainer and StartContainer are config.json's hooks that
	// init runs itself, in the container's namespaces: the first once
	// the mounts are made, before pivot_root (their paths are the
	// host's); the second once start has let the container go, before
	// the command (their paths are the container's), confined as the
	// command is.
	CreateContainer, StartContainer Hooks
	// SessionKeyring names the session keyring of its own the container
	// joins, as runc's does ("": the caller's, with --no-new-keyring).
	SessionKeyring string
}

// Mount is one entry of config.json's mounts, its options split into
// flags, propagation and file-system data.
type Mount struct {
	Destination string
	Type        string
	Source      string
	Flags       uintptr
	// Propagation is applied after the mount (MS_SHARED, MS_SLAVE...).
	Propagation uintptr
	Data        string
}

// Device is a node config.json wants in /dev.
type Device struct {
	Path         string
	Type         byte // 'c', 'b', 'u' (unbuffered char), 'p' (FIFO)
	Major, Minor int64
	Mode         uint32
	UID, GID     uint32
}

// Rlimit is one of process.rlimits, by its RLIMIT_ number.
type Rlimit struct {
	Type       int
	Soft, Hard uint64
}

func encodeBundle(b *Bundle) (string, error) {
	data, err := json.Marshal(b)
	return string(data), err
}

func decodeBundle(s string) (*Bundle, error) {
	var b Bundle
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return &b, nil
}

// setUpBundleMounts makes config.json's mounts inside the new root, in
// order, then its devices, the console, and the masked and read-only
// paths: run's setUpRootfs steps, as the bundle lists them.
func setUpBundleMounts(cfg *Config, root *os.Root, in func(string) string) error {
	b := cfg.Bundle
	devMounted := false
	for _, m := range b.Mounts {
		if err := bundleMount(cfg, root, m); err != nil {
			return err
		}
		if filepath.Clean(m.Destination) == "/dev" {
			devMounted = true
		}
	}
	if devMounted {
		// The runtime spec's default devices, and /dev's links.
		if err := populateDev(in, b.NewUser, false); err != nil {
			return err
		}
	}
	if err := makeDevices(b, root, in); err != nil {
		return err
	}
	if cfg.ConsoleSocket {
		if err := setUpConsole(in("dev/pts")); err != nil {
			return err
		}
	}
	// Sysctls before the read-only paths (/proc/sys among them).
	if err := applySysctls(b, in); err != nil {
		return err
	}
	return maskKernelFiles(in, b.MaskedPaths, b.ReadonlyPaths)
}

// bundleMount makes one mount of config.json's list.
func bundleMount(cfg *Config, root *os.Root, m Mount) error {
	newRoot := cfg.Rootfs
	rel, err := resolveInRoot(newRoot, m.Destination)
	if err != nil {
		return err
	}
	if m.Type == "cgroup" {
		if err := root.MkdirAll(rel, 0o755); err != nil {
			return fmt.Errorf("mount %s: %w", m.Destination, err)
		}
		return mountCgroupFSAt(filepath.Join(newRoot, rel), m.Flags&unix.MS_RDONLY != 0)
	}
	if m.Flags&unix.MS_BIND != 0 {
		fi, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("mount %s: %w", m.Destination, err)
		}
		if rel == "" {
			return fmt.Errorf("mount %s: leads to the container's / itself", m.Destination)
		}
		if err := createMountPoint(root, rel, fi.IsDir()); err != nil {
			return err
		}
		if err := mountOnto(trace.Beyond, "config.json's mounts", root, rel, m.Source, m.Flags&(unix.MS_BIND|unix.MS_REC)); err != nil {
			return err
		}
		// A bind mount takes its other flags (ro, nosuid...) only from a
		// remount.
		if rest := m.Flags &^ (unix.MS_BIND | unix.MS_REC); rest != 0 {
			if err := mountOnto(trace.Beyond, "config.json's mount options", root, rel, "", unix.MS_BIND|unix.MS_REMOUNT|rest); err != nil {
				return err
			}
		}
	} else {
		if err := createMountPoint(root, rel, true); err != nil {
			return err
		}
		err := mountOnto2(root, rel, m)
		if err != nil {
			return err
		}
	}
	if m.Propagation != 0 {
		return mountOnto(trace.Beyond, "config.json's propagation", root, rel, "", m.Propagation)
	}
	return nil
}

// mountOnto2 mounts a file system (not a bind) onto rel, through the
// opened mount point as mountOnto does.
func mountOnto2(root *os.Root, rel string, m Mount) error {
	f, err := root.OpenFile(rel, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open mount point /%s: %w", rel, err)
	}
	defer f.Close()
	return mount(trace.Beyond, "config.json's mounts", m.Source, fmt.Sprintf("/proc/self/fd/%d", f.Fd()), m.Type, m.Flags, m.Data)
}

// makeDevices makes config.json's device nodes, with their owners and
// modes (in a user namespace, where mknod is refused, a bind of the
// host's node).
func makeDevices(b *Bundle, root *os.Root, in func(string) string) error {
	defer unix.Umask(unix.Umask(0))
	for _, d := range b.Devices {
		rel, err := resolveInRoot(in(""), d.Path)
		if err != nil || rel == "" || !strings.HasPrefix(filepath.Clean(d.Path), "/dev/") {
			return fmt.Errorf("device %s: not a path under /dev", d.Path)
		}
		if parent := filepath.Dir(rel); parent != "." {
			if err := root.MkdirAll(parent, 0o755); err != nil {
				return fmt.Errorf("device %s: %w", d.Path, err)
			}
		}
		target := in(rel)
		os.Remove(target) // a default node of the same path is replaced
		if b.NewUser {
			if err := createMountPoint(root, rel, false); err != nil {
				return err
			}
			if err := mount(trace.Beyond, "a device in a user namespace: the host's node, bound", d.Path, target, "", unix.MS_BIND, ""); err != nil {
				return err
			}
			continue
		}
		mode := d.Mode & 0o7777
		switch d.Type {
		case 'c', 'u':
			mode |= unix.S_IFCHR
		case 'b':
			mode |= unix.S_IFBLK
		case 'p':
			mode |= unix.S_IFIFO
		default:
			return fmt.Errorf("device %s: unknown type %q", d.Path, d.Type)
		}
		if err := unix.Mknod(target, mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
			return fmt.Errorf("mknod %s: %w", d.Path, err)
		}
		if err := unix.Chown(target, int(d.UID), int(d.GID)); err != nil {
			return fmt.Errorf("chown %s: %w", d.Path, err)
		}
	}
	return nil
}

// applySysctls writes config.json's sysctls through the container's own
// /proc/sys, which its mounts made: only namespaced ones reach anything,
// and those are the container's.
func applySysctls(b *Bundle, in func(string) string) error {
	for key, value := range b.Sysctl {
		path := in("proc/sys/" + strings.ReplaceAll(key, ".", "/"))
		err := os.WriteFile(path, []byte(value), 0o644)
		trace.Step(trace.Beyond, "config.json's sysctl", err, "write %s %q", path, value)
		if err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
		}
	}
	return nil
}

// applyProcessLimits sets the rlimits, oom_score_adj and umask, while init
// is still root (raising a hard limit takes CAP_SYS_RESOURCE), and joins
// a session keyring of the container's own: the caller's keys are not the
// container's.
func applyProcessLimits(b *Bundle) error {
	if b.SessionKeyring != "" {
		if _, err := unix.KeyctlJoinSessionKeyring(b.SessionKeyring); err != nil {
			return fmt.Errorf("join a session keyring of its own: %w", err)
		}
	}
	if b.OOMScoreAdj != nil {
		err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*b.OOMScoreAdj)), 0o644)
		if err != nil {
			return fmt.Errorf("oom_score_adj %d: %w", *b.OOMScoreAdj, err)
		}
	}
	for _, r := range b.Rlimits {
		lim := syscall.Rlimit{Cur: r.Soft, Max: r.Hard}
		// syscall's Setrlimit, not a bare prlimit: the Go runtime raised
		// init's own RLIMIT_NOFILE at start and puts the old one back at
		// exec, unless it is set through syscall.
		if err := syscall.Setrlimit(r.Type, &lim); err != nil {
			return fmt.Errorf("rlimit %d (%d/%d): %w", r.Type, r.Soft, r.Hard, err)
		}
	}
	if b.Umask != nil {
		unix.Umask(int(*b.Umask))
	}
	return nil
}

// confineBundle is confine's capability steps for config.json's five
// sets: the bounding set while root, the user with the permitted set
// kept, then the other four.
func confineBundle(b *Bundle) error {
	if err := capabilities.ApplyBounding(b.Bounding); err != nil {
		return err
	}
	id := &identity{uid: b.UID, gid: b.GID, groups: append([]int{}, b.AdditionalGids...)}
	if err := becomeUser(id, true); err != nil {
		return err
	}
	err := capabilities.ApplyEach(b.Effective, b.Permitted, b.Inheritable, b.Ambient)
	trace.Step(trace.Beyond, "config.json's capability sets", err, "capset(...)")
	return err
}

// waitForStart is create's wait: init is ready, and blocks until `start`
// writes into the FIFO.
func waitForStart(fd int) error {
	buf := make([]byte, 1)
	for {
		_, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for start: %w", err)
		}
		unix.Close(fd)
		return nil
	}
}
