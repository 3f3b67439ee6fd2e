// Package check says what this host can do of each of the book's chapters
// (`mydocker check`), as docker's check-config.sh or `podman info` do: one
// probe per thing a chapter needs, each tried for real where that is
// harmless (a namespace made and dropped, a bridge made in a throwaway
// network namespace), else read from the kernel's own files.
package check

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"

	"github.com/google/nftables"
	"github.com/mydocker/mydocker/cgroups"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Result is one probe's answer.
type Result struct {
	Chapter string // "3.1", "3.2", "4", "5", "6"
	What    string
	OK      bool
	Skipped bool   // it needs root, and this is not root
	Detail  string // what was found, or how to fix it
}

// Chapters are the chapters mydocker builds, in order, with their titles.
var Chapters = []struct{ Number, Title string }{
	{"3.1", "namespaces, /proc and the terminal"},
	{"3.2", "cgroups (resource limits)"},
	{"4", "images: overlayfs and pivot_root"},
	{"5", "containers: state, exec, confinement"},
	{"6", "networks: bridges, veth, nftables"},
}

// Run runs every probe; root says whether those that need root's powers
// may run.
func Run(root bool) []Result {
	var out []Result
	// add records a probe; hint, shown only when it fails, says how to fix it.
	add := func(chapter, what string, ok bool, hint string) {
		r := Result{Chapter: chapter, What: what, OK: ok}
		if !ok {
			r.Detail = hint
		}
		out = append(out, r)
	}
	// info records what was found, which is fine either way.
	info := func(chapter, what, detail string) {
		out = append(out, Result{Chapter: chapter, What: what, OK: true, Detail: detail})
	}
	skip := func(chapter, what string) {
		out = append(out, Result{Chapter: chapter, What: what, Skipped: true, Detail: "needs root: run sudo mydocker check"})
	}

	// 3.1: each namespace the book's container gets, made for real by a
	// child process (mydocker --version in it).
	for _, ns := range []struct {
		name string
		flag uintptr
	}{{"UTS", unix.CLONE_NEWUTS}, {"PID", unix.CLONE_NEWPID}, {"mount", unix.CLONE_NEWNS}, {"network", unix.CLONE_NEWNET}, {"IPC", unix.CLONE_NEWIPC}, {"cgroup", unix.CLONE_NEWCGROUP}} {
		what := ns.name + " namespace"
		if !root {
			skip("3.1", what)
			continue
		}
		if err := inNamespace(ns.flag); err != nil {
			add("3.1", what, false, fmt.Sprintf("cannot be made: %v (a kernel built without it, or a container that forbids it)", err))
		} else {
			add("3.1", what, true, "")
		}
	}
	shared, err := rootShared()
	switch {
	case err != nil:
		add("3.1", "/ propagation", false, err.Error())
	case shared:
		info("3.1", "/ is a shared mount", "mydocker makes the container's copy private before mounting /proc, so the host's /proc is never replaced (the book's bug)")
	default:
		info("3.1", "/ is a private mount", "")
	}
	add("3.1", "proc file system", hasFS("proc"), "")

	// 3.2: cgroups.
	host, err := cgroups.Describe()
	if err != nil {
		add("3.2", "cgroup hierarchy", false, err.Error()+": mount cgroup2 on /sys/fs/cgroup (or the v1 hierarchies)")
	} else {
		layout := fmt.Sprintf("cgroup v%d", host.Version)
		if host.Hybrid {
			layout += " (hybrid: v1 controllers beside an empty cgroup2 tree)"
		}
		info("3.2", layout, "")
		for _, c := range []string{"memory", "cpu", "cpuset", "pids"} {
			if host.Controllers[c] {
				add("3.2", c+" controller", true, "")
			} else {
				add("3.2", c+" controller", false, "not available here: -m/--cpus/--cpuset-cpus/--pids-limit needing it are refused")
			}
		}
		dirs := []string{}
		for c, d := range host.Parents {
			switch c {
			case "", "memory", "cpu", "cpuset", "pids", "devices":
				dirs = append(dirs, d)
			}
		}
		sort.Strings(dirs)
		what := "mydocker may make its cgroups"
		if !root {
			skip("3.2", what)
		} else {
			var bad []string
			for _, d := range dirs {
				if unix.Access(d, unix.W_OK) != nil {
					bad = append(bad, d)
				}
			}
			if len(bad) > 0 {
				add("3.2", what, false, "cannot write in "+strings.Join(bad, ", ")+": a read-only cgroup file system, or a v2 cgroup that does not delegate")
			} else {
				info("3.2", what, "in "+strings.Join(dirs, ", "))
			}
		}
	}

	// run -ti: the container's own pseudo-terminals.
	add("3.1", "devpts file system (-t)", hasFS("devpts"), "")

	// 4: images.
	add("4", "overlayfs", hasFS("overlay"), "the overlay module (modprobe overlay)")
	major, minor := kernelVersion()
	add("4", "overlayfs volatile (Linux 5.10)", major > 5 || major == 5 && minor >= 10, "older kernels: layers are mounted durable, slower under a busy disk")
	if fs, err := rootFSType(); err == nil && fs == "rootfs" {
		add("4", "pivot_root", false, "/ is an initramfs, which pivot_root cannot leave: boot with a real root file system (or switch_root to one)")
	} else {
		add("4", "pivot_root", err == nil, "")
	}

	// 5: containers.
	pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		add("5", "pidfd (Linux 5.3; setns on one, 5.8)", false, "exec needs it: "+err.Error())
	} else {
		unix.Close(pidfd)
		add("5", "pidfd (Linux 5.3; setns on one, 5.8)", major > 5 || major == 5 && minor >= 8, "")
	}
	err = unix.CloseRange(^uint(0)-1, ^uint(0)-1, unix.CLOSE_RANGE_CLOEXEC)
	add("5", "close_range close-on-exec (Linux 5.11)", err == nil, "")
	_, err = unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	add("5", "seccomp filters", err == nil, "a kernel built without CONFIG_SECCOMP_FILTER")
	if data, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(data)) != "0" {
		info("5", "user namespaces", "on; not used by mydocker yet (it needs root)")
	} else {
		info("5", "user namespaces", "off; not used by mydocker yet (it needs root)")
	}

	// 6: networks, tried in a network namespace of the probe's own, so
	// that nothing of the host's changes.
	if !root {
		for _, what := range []string{"bridge", "veth pair", "nftables"} {
			skip("6", what)
		}
	} else {
		out = append(out, probeNetwork()...)
	}
	return out
}

// inNamespace runs `mydocker --version` in a new namespace of kind flag.
func inNamespace(flag uintptr) error {
	cmd := exec.Command("/proc/self/exe", "--version")
	cmd.SysProcAttr = &unix.SysProcAttr{Cloneflags: flag}
	return cmd.Run()
}

func hasFS(name string) bool {
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[len(f)-1] == name {
			return true
		}
	}
	return false
}

// rootShared reads whether / is a shared mount (its optional fields say
// "shared:N").
func rootShared() (bool, error) {
	line, err := rootMount()
	if err != nil {
		return false, err
	}
	pre, _, _ := strings.Cut(line, " - ")
	return strings.Contains(pre, " shared:"), nil
}

func rootFSType() (string, error) {
	line, err := rootMount()
	if err != nil {
		return "", err
	}
	_, post, _ := strings.Cut(line, " - ")
	return strings.Fields(post)[0], nil
}

func rootMount() (string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("mount table: %w", err)
	}
	last := ""
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == "/" {
			last = line // the last mount on / is the one in use
		}
	}
	if last == "" {
		return "", fmt.Errorf("no mount on / in /proc/self/mountinfo")
	}
	return last, nil
}

func kernelVersion() (major, minor int) {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return 0, 0
	}
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	return major, minor
}

// probeNetwork makes a bridge, a veth pair and an nftables table in a
// network namespace of its own, on a thread that is then thrown away: the
// namespace, and all in it, goes with the thread.
func probeNetwork() []Result {
	results := make(chan []Result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		var out []Result
		add := func(what string, err error, hint string) {
			r := Result{Chapter: "6", What: what, OK: err == nil}
			if err != nil {
				r.Detail = fmt.Sprintf("%v: %s", err, hint)
			}
			out = append(out, r)
		}
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			add("network namespace for the probes", err, "")
			results <- out
			return
		}
		h, err := netlink.NewHandle()
		if err != nil {
			add("netlink", err, "")
			results <- out
			return
		}
		defer h.Delete()
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "mdcheck0"}}
		add("bridge", h.LinkAdd(br), "the bridge module (modprobe bridge)")
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "mdcheck1"}, PeerName: "mdcheck2"}
		add("veth pair", h.LinkAdd(veth), "the veth module (modprobe veth)")
		c, err := nftables.New()
		if err == nil {
			t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "mydocker-check"})
			c.AddChain(&nftables.Chain{Name: "nat", Table: t, Type: nftables.ChainTypeNAT,
				Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
			err = c.Flush()
		}
		add("nftables (NAT)", err, "the nf_tables and nft_chain_nat modules")
		results <- out
	}()
	return <-results
}

// Needed reports whether r is something a built chapter cannot do without
// (the informational lines are not).
func Needed(r Result) bool {
	return !strings.HasPrefix(r.What, "user namespaces") && !strings.HasPrefix(r.What, "overlayfs volatile")
}
