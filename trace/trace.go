// Package trace narrates what mydocker asks of the kernel (--trace, or
// MYDOCKER_TRACE=1): one line per step, from the call site itself, with the
// call as the book writes it, its result and the book's section, so a
// student can read a real run beside the book:
//
//	[3.1] clone(CLONE_NEWUTS|CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWIPC) = 4242
//	[3.1] mount("", "/", "", MS_REC|MS_PRIVATE, "") = 0   # not in the book: ...
//
// Each process of a container (run, init, the monitor, exec) writes its
// own lines to its stderr; the handshake between them keeps them in order.
// Off, a step costs one test of a bool.
package trace

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Env is how the processes of a container pass tracing on to each other.
const Env = "MYDOCKER_TRACE"

// On is whether this process traces.
var On = os.Getenv(Env) == "1"

// Beyond is the section of a step the book does not take.
const Beyond = "beyond the book"

// Step prints one step: section, the call (format and args), its result
// (err, or 0), and note, the reason for a step the book does not have or
// takes differently ("" for none).
func Step(section, note string, err error, format string, args ...any) {
	if !On {
		return
	}
	result := "0"
	if err != nil {
		result = "-1 " + errorName(err)
	}
	Result(section, note, result, format, args...)
}

// Result is Step with a result of the caller's own (a PID, an address).
func Result(section, note, result, format string, args ...any) {
	if !On {
		return
	}
	line := fmt.Sprintf("[%s] %s = %s", section, fmt.Sprintf(format, args...), result)
	if note != "" {
		line += "   # " + note
	}
	if held != nil {
		held.WriteString(line + "\n")
		return
	}
	fmt.Fprintln(os.Stderr, line)
}

// held keeps the steps between Hold and Resume.
var held *strings.Builder

// Hold keeps the steps instead of printing them, until Resume: run -d's
// monitor has no stderr until the container's log is open.
func Hold() { held = &strings.Builder{} }

// Resume prints what was held, on stderr as it is now, and goes on there.
func Resume() {
	if held != nil {
		os.Stderr.WriteString(held.String())
		held = nil
	}
}

// errorName is the errno as strace prints it: EPERM (Operation not
// permitted); else the error's own words.
func errorName(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("%s (%s)", unix.ErrnoName(errno), errno.Error())
	}
	return err.Error()
}

// MountFlags spells mount(2) flags as the book does: MS_BIND|MS_REC
// (when printed: nothing is spelled when tracing is off).
func MountFlags(flags uintptr) fmt.Stringer { return flagSet{uint64(flags), mountFlags} }

// CloneFlags spells clone(2) flags: CLONE_NEWUTS|CLONE_NEWPID.
func CloneFlags(flags uintptr) fmt.Stringer { return flagSet{uint64(flags), cloneFlags} }

type flagSet struct {
	v     uint64
	names []flagName
}

func (f flagSet) String() string { return flagNames(f.v, f.names) }

type flagName struct {
	bit  uint64
	name string
}

var mountFlags = []flagName{
	{unix.MS_RDONLY, "MS_RDONLY"}, {unix.MS_NOSUID, "MS_NOSUID"}, {unix.MS_NODEV, "MS_NODEV"},
	{unix.MS_NOEXEC, "MS_NOEXEC"}, {unix.MS_REMOUNT, "MS_REMOUNT"}, {unix.MS_BIND, "MS_BIND"},
	{unix.MS_REC, "MS_REC"}, {unix.MS_PRIVATE, "MS_PRIVATE"}, {unix.MS_STRICTATIME, "MS_STRICTATIME"},
	{unix.MS_RELATIME, "MS_RELATIME"},
}

var cloneFlags = []flagName{
	{unix.CLONE_NEWUTS, "CLONE_NEWUTS"}, {unix.CLONE_NEWPID, "CLONE_NEWPID"}, {unix.CLONE_NEWNS, "CLONE_NEWNS"},
	{unix.CLONE_NEWNET, "CLONE_NEWNET"}, {unix.CLONE_NEWIPC, "CLONE_NEWIPC"}, {unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{unix.CLONE_NEWUSER, "CLONE_NEWUSER"}, {unix.CLONE_INTO_CGROUP, "CLONE_INTO_CGROUP"},
}

func flagNames(v uint64, names []flagName) string {
	if v == 0 {
		return "0"
	}
	var parts []string
	for _, f := range names {
		if v&f.bit != 0 {
			parts = append(parts, f.name)
			v &^= f.bit
		}
	}
	if v != 0 {
		parts = append(parts, fmt.Sprintf("%#x", v))
	}
	return strings.Join(parts, "|")
}
