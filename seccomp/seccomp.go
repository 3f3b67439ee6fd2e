// Package seccomp filters the system calls a container's command may make,
// with docker's default profile (beyond the book, which has no filter).
// The profile is data (github.com/moby/profiles/seccomp, docker's own);
// this package turns it into the classic BPF program the kernel runs on
// every system call, and init loads that program just before the exec.
//
// The program checks the calling convention, then finds the call's number
// by binary search and returns its action, or checks its arguments first
// (compile.go draws it):
//
//	load arch;  this machine's?   search in its numbers
//	            its 32-bit one?   search in those numbers (if the profile lists it)
//	            any other:        return ENOSYS
//	search:     load nr;  nr >= 250?  ...  leaf: return ALLOW, or
//	            clone: (arg0 & NS_FLAGS) != 0? return EPERM; return ALLOW
//	            a number no rule names: the default action (EPERM)
//
// docker's default profile, for docker's default capabilities, is
// compiled ahead of time (builtin_*.go, `go generate`) so that a start
// pays for no compile; other capability sets and profiles are compiled at
// run time.
package seccomp

//go:generate go run gen_syscalls.go
//go:generate go run gen_builtin.go

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Program is a compiled filter, ready for the kernel.
type Program []unix.SockFilter

// Builtin is docker's default profile compiled for caps; the precompiled
// program when caps is docker's default set.
func Builtin(caps []string) (Program, error) {
	if sameSet(caps, builtinCaps) && len(builtinProgram) > 0 {
		return Program(builtinProgram[:]), nil
	}
	return CompileBuiltin(caps)
}

// CompileBuiltin compiles docker's default profile for caps.
func CompileBuiltin(caps []string) (Program, error) {
	profile, err := seccomp.GetDefaultProfile(specFor(caps))
	if err != nil {
		return nil, fmt.Errorf("seccomp: docker's default profile: %w", err)
	}
	return Compile(profile)
}

// FromFile compiles a profile in docker's JSON format (the format of
// `docker run --security-opt seccomp=PROFILE.json`) for caps.
func FromFile(path string, caps []string) (Program, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("seccomp profile %s: not valid JSON", path)
	}
	profile, err := seccomp.LoadProfile(string(data), specFor(caps))
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
	}
	if profile == nil {
		return nil, fmt.Errorf("seccomp profile %s: no default action and no rules", path)
	}
	prog, err := Compile(profile)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
	}
	return prog, nil
}

// specFor is the little of an OCI spec the profile's conditions look at:
// some rules apply only with a capability (mount with CAP_SYS_ADMIN, ...).
func specFor(caps []string) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[string]bool{}
	for _, s := range a {
		in[s] = true
	}
	for _, s := range b {
		if !in[s] {
			return false
		}
	}
	return true
}

// Load installs prog on every thread of the process (SECCOMP_FILTER_FLAG_
// TSYNC: `run --init` keeps init running, and a Go process has several
// threads). The filter stays for the command and every process it makes,
// and cannot be removed. Without no_new_privs the kernel asks for
// CAP_SYS_ADMIN, so init loads the filter before it drops capabilities.
func Load(prog Program) error {
	if len(prog) == 0 {
		return errors.New("seccomp: empty program")
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("seccomp: load filter of %d instructions: %w", len(prog), errno)
	}
	return nil
}

// Encode and Decode carry a program over the config pipe as hex text.
func (p Program) Encode() string {
	buf := make([]byte, 0, len(p)*8)
	for _, in := range p {
		buf = append(buf, byte(in.Code), byte(in.Code>>8), in.Jt, in.Jf,
			byte(in.K), byte(in.K>>8), byte(in.K>>16), byte(in.K>>24))
	}
	return hex.EncodeToString(buf)
}

// Decode is the inverse of Encode.
func Decode(s string) (Program, error) {
	buf, err := hex.DecodeString(s)
	if err != nil || len(buf)%8 != 0 {
		return nil, fmt.Errorf("seccomp: malformed program")
	}
	p := make(Program, len(buf)/8)
	for i := range p {
		b := buf[i*8:]
		p[i] = unix.SockFilter{Code: uint16(b[0]) | uint16(b[1])<<8, Jt: b[2], Jf: b[3],
			K: uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24}
	}
	return p, nil
}
