// Package capabilities decides which of root's powers a container's command
// keeps, and takes the others away in init just before the exec. Beyond the
// book: its containers keep every power of the host's root, so that, for
// one, `echo x > /proc/sys/kernel/core_pattern` inside changes the host.
// mydocker keeps docker's default set (capabilities(7) has the list), and
// --cap-add, --cap-drop and --privileged change it as they do in docker.
package capabilities

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// Default is docker's default set: enough for a distribution's usual
// programs (package managers chown files, servers bind port 80, ping opens
// raw sockets), without mount, module loading, raw I/O, ptrace, sysctl
// writes, or the network administration that CAP_NET_ADMIN gives.
var Default = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
}

// All is every capability this kernel knows and mydocker itself may hand
// on (its own bounding set: a sandbox may have taken some away).
func All() []string {
	caps, err := capability.ListSupported()
	if err != nil {
		caps = capability.ListKnown()
	}
	names := make([]string, 0, len(caps))
	for _, c := range caps {
		if held, err := capability.GetBound(c); err == nil && !held {
			continue
		}
		names = append(names, "CAP_"+strings.ToUpper(c.String()))
	}
	return names
}

// Normalize turns a name as users write it ("chown", "CAP_CHOWN",
// "cap_chown", "ALL") into the kernel's spelling ("CAP_CHOWN", "ALL").
func Normalize(name string) (string, error) {
	upper := strings.ToUpper(strings.TrimSpace(name))
	if upper == "ALL" {
		return upper, nil
	}
	if !strings.HasPrefix(upper, "CAP_") {
		upper = "CAP_" + upper
	}
	for _, c := range capability.ListKnown() {
		if "CAP_"+strings.ToUpper(c.String()) == upper {
			return upper, nil
		}
	}
	return "", fmt.Errorf("unknown capability %q (see capabilities(7); ALL means every one)", name)
}

// Resolve is docker's arithmetic: base without the drops, plus the adds;
// --cap-add ALL starts from every capability (minus the drops), and
// --cap-drop ALL from none (plus the adds).
func Resolve(base, add, drop []string) ([]string, error) {
	norm := func(names []string) ([]string, error) {
		out := make([]string, 0, len(names))
		for _, n := range names {
			c, err := Normalize(n)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	adds, err := norm(add)
	if err != nil {
		return nil, err
	}
	drops, err := norm(drop)
	if err != nil {
		return nil, err
	}
	var caps []string
	switch {
	case slices.Contains(adds, "ALL"):
		for _, c := range All() {
			if !slices.Contains(drops, c) {
				caps = append(caps, c)
			}
		}
	case slices.Contains(drops, "ALL"):
		caps = adds
	default:
		for _, c := range base {
			if !slices.Contains(drops, c) {
				caps = append(caps, c)
			}
		}
		caps = append(caps, adds...)
	}
	slices.Sort(caps)
	return slices.Compact(caps), nil
}

// ApplyBounding leaves the calling thread's bounding set with exactly
// names: what no exec will ever grant again. It needs CAP_SETPCAP, so it
// comes while init is still root, before --user (ApplySets is after).
// Capabilities belong to a thread: the caller execs from this one
// (main.go keeps init on it).
func ApplyBounding(names []string) error { return apply(names, capability.BOUNDS) }

// ApplySets leaves the calling thread with exactly names in its permitted
// and effective sets, and empty inheritable and ambient sets, as docker
// does for root in a container. An inheritable capability would pass to a
// program whose file has it inheritable even when run by a user other
// than root (CVE-2022-24769; docker empties the set since 20.10.14).
func ApplySets(names []string) error { return apply(names, capability.CAPS|capability.AMBS) }

func apply(names []string, which capability.CapType) error {
	caps, err := capability.NewPid2(0)
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	caps.Clear(which)
	for _, name := range names {
		c, ok := lookup(name)
		if !ok {
			return fmt.Errorf("capabilities: %s is not known to this kernel", name)
		}
		caps.Set(which&(capability.BOUNDING|capability.PERMITTED|capability.EFFECTIVE), c)
	}
	if err := caps.Apply(which); err != nil {
		return fmt.Errorf("capabilities: drop all but %v: %w", names, err)
	}
	return nil
}

func lookup(name string) (capability.Cap, bool) {
	for _, c := range capability.ListKnown() {
		if "CAP_"+strings.ToUpper(c.String()) == name {
			return c, true
		}
	}
	return 0, false
}

// SpreadBounding and SpreadSets give every other thread of the process
// the calling thread's bounding set, then its other sets (the first
// while init is root, the second after --user, as ApplyBounding and
// ApplySets). Those change one thread, which is enough for a process that
// execs from it; `run --init` keeps mydocker's init running as the
// container's PID 1, and a Go process has several threads: left with
// root's powers, any of them would be a way back to them (a process of
// the container may write to PID 1's memory through /proc/1/mem, whose
// access check looks at the confined main thread alone).
func SpreadBounding() error {
	last, err := capability.LastCap()
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	for c := capability.Cap(0); c <= last; c++ {
		if held, err := capability.GetBound(c); err != nil || held {
			continue
		}
		if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); errno != 0 {
			return fmt.Errorf("capabilities: drop %v from every thread's bounding set: %w", c, errno)
		}
	}
	return nil
}

// SpreadSets: see SpreadBounding.
func SpreadSets() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capabilities: read: %w", err)
	}
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); errno != 0 {
		return fmt.Errorf("capabilities: clear every thread's ambient set: %w", errno)
	}
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 {
		return fmt.Errorf("capabilities: set every thread's: %w", errno)
	}
	return nil
}

// ApplyEach sets the calling thread's effective, permitted, inheritable
// and ambient sets to exactly the names given for each (an OCI bundle's
// process.capabilities; the bounding set goes first, ApplyBounding). The
// kernel's ambient set holds only what is permitted and inheritable too:
// the rest of ambient is left out, as runc leaves it (runc's own default
// config.json lists an ambient set with no inheritable one).
func ApplyEach(effective, permitted, inheritable, ambient []string) error {
	var amb []string
	for _, a := range ambient {
		if slices.Contains(permitted, a) && slices.Contains(inheritable, a) {
			amb = append(amb, a)
		}
	}
	ambient = amb
	caps, err := capability.NewPid2(0)
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	caps.Clear(capability.CAPS | capability.AMBS)
	for _, set := range []struct {
		which capability.CapType
		names []string
	}{
		{capability.EFFECTIVE, effective}, {capability.PERMITTED, permitted},
		{capability.INHERITABLE, inheritable}, {capability.AMBIENT, ambient},
	} {
		for _, name := range set.names {
			c, ok := lookup(name)
			if !ok {
				return fmt.Errorf("capabilities: %s is not known to this kernel", name)
			}
			caps.Set(set.which, c)
		}
	}
	if err := caps.Apply(capability.CAPS | capability.AMBS); err != nil {
		return fmt.Errorf("capabilities: set the process's sets: %w", err)
	}
	return nil
}
