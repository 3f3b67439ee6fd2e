package seccomp

import (
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/moby/profiles/seccomp"
	"github.com/mydocker/mydocker/capabilities"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

func TestBuiltinIsUpToDate(t *testing.T) {
	if len(builtinProgram) == 0 {
		t.Skip("no precompiled program on this architecture")
	}
	prog, err := CompileBuiltin(capabilities.Default)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(Program(builtinProgram[:]), prog) || !sameSet(builtinCaps, capabilities.Default) {
		t.Fatal("builtin_amd64.go is stale: run go generate ./seccomp")
	}
}

// verdict runs prog in a BPF interpreter on one system call, as the kernel
// would, and returns the action and errno it decides.
func verdict(t *testing.T, prog Program, arch uint32, nr uint32, args ...uint64) (action, errno uint32) {
	t.Helper()
	return run(t, newVM(t, prog), arch, nr, args...)
}

func newVM(t *testing.T, prog Program) *bpf.VM {
	t.Helper()
	raw := make([]bpf.RawInstruction, len(prog))
	for i, in := range prog {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("program does not disassemble")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// run runs the filter in vm on one system call.
func run(t *testing.T, vm *bpf.VM, arch uint32, nr uint32, args ...uint64) (action, errno uint32) {
	t.Helper()
	// struct seccomp_data, in the machine's byte order.
	data := make([]byte, 64)
	binary.LittleEndian.PutUint32(data[0:], nr)
	binary.LittleEndian.PutUint32(data[4:], arch)
	for i, a := range args {
		binary.LittleEndian.PutUint64(data[16+8*i:], a)
	}
	// The VM reads absolute loads in network byte order: swap the words.
	for i := 0; i < len(data); i += 4 {
		data[i], data[i+1], data[i+2], data[i+3] = data[i+3], data[i+2], data[i+1], data[i]
	}
	ret, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	r := uint32(ret)
	return r & unix.SECCOMP_RET_ACTION_FULL, r & unix.SECCOMP_RET_DATA
}

func TestDefaultProfileDecisions(t *testing.T) {
	prog, err := Builtin(capabilities.Default)
	if err != nil {
		t.Fatal(err)
	}
	allow, deny := uint32(unix.SECCOMP_RET_ALLOW), uint32(unix.SECCOMP_RET_ERRNO)
	cases := []struct {
		name   string
		nr     uint32
		args   []uint64
		action uint32
		errno  uint32
	}{
		{"read", unix.SYS_READ, nil, allow, 0},
		{"execve", unix.SYS_EXECVE, nil, allow, 0},
		{"mount", unix.SYS_MOUNT, nil, deny, uint32(unix.EPERM)},
		{"keyctl", unix.SYS_KEYCTL, nil, deny, uint32(unix.EPERM)},
		{"kexec_load", unix.SYS_KEXEC_LOAD, nil, deny, uint32(unix.EPERM)},
		{"unshare(CLONE_NEWUSER)", unix.SYS_UNSHARE, []uint64{unix.CLONE_NEWUSER}, deny, uint32(unix.EPERM)},
		{"clone plain (fork)", unix.SYS_CLONE, []uint64{uint64(unix.SIGCHLD)}, allow, 0},
		{"clone(CLONE_NEWNS)", unix.SYS_CLONE, []uint64{unix.CLONE_NEWNS | uint64(unix.SIGCHLD)}, deny, uint32(unix.EPERM)},
		{"clone(CLONE_NEWUSER) high bits set", unix.SYS_CLONE, []uint64{1<<32 | unix.CLONE_NEWUSER}, deny, uint32(unix.EPERM)},
		{"clone3", unix.SYS_CLONE3, nil, deny, uint32(unix.ENOSYS)},
		{"personality(PER_LINUX)", unix.SYS_PERSONALITY, []uint64{0}, allow, 0},
		{"personality(0xffffffff) query", unix.SYS_PERSONALITY, []uint64{0xffffffff}, allow, 0},
		{"personality(other)", unix.SYS_PERSONALITY, []uint64{0x0400000}, deny, uint32(unix.EPERM)},
		{"socket(AF_INET)", unix.SYS_SOCKET, []uint64{unix.AF_INET}, allow, 0},
		{"socket(AF_VSOCK)", unix.SYS_SOCKET, []uint64{unix.AF_VSOCK}, deny, uint32(unix.EPERM)},
		{"x32 read", unix.SYS_READ | 0x40000000, nil, deny, uint32(unix.EPERM)},
	}
	for _, c := range cases {
		action, errno := verdict(t, prog, auditArch, c.nr, c.args...)
		if action != c.action || errno != c.errno {
			t.Errorf("%s: action %#x errno %d, want %#x errno %d", c.name, action, errno, c.action, c.errno)
		}
	}
	// The 32-bit convention (int 0x80 on x86_64), in its own numbers.
	compat := func(name string) uint32 {
		nr, ok := syscallNumber(compatSyscallTable[:], name)
		if !ok {
			t.Fatalf("no 32-bit %s", name)
		}
		return nr
	}
	for _, c := range []struct {
		name   string
		nr     uint32
		args   []uint64
		action uint32
		errno  uint32
	}{
		{"32-bit read", compat("read"), nil, allow, 0},
		{"32-bit mount", compat("mount"), nil, deny, uint32(unix.EPERM)},
		{"32-bit unshare(CLONE_NEWUSER)", compat("unshare"), []uint64{unix.CLONE_NEWUSER}, deny, uint32(unix.EPERM)},
		{"32-bit clone plain (fork)", compat("clone"), []uint64{uint64(unix.SIGCHLD)}, allow, 0},
		{"32-bit clone(CLONE_NEWNS)", compat("clone"), []uint64{unix.CLONE_NEWNS | uint64(unix.SIGCHLD)}, deny, uint32(unix.EPERM)},
		{"32-bit personality(0xffffffff) query", compat("personality"), []uint64{0xffffffff}, allow, 0},
		{"32-bit socket(AF_VSOCK)", compat("socket"), []uint64{unix.AF_VSOCK}, deny, uint32(unix.EPERM)},
	} {
		action, errno := verdict(t, prog, compatAuditArch, c.nr, c.args...)
		if action != c.action || errno != c.errno {
			t.Errorf("%s: action %#x errno %d, want %#x errno %d", c.name, action, errno, c.action, c.errno)
		}
	}
	if action, errno := verdict(t, prog, unix.AUDIT_ARCH_PPC64LE, 3); action != deny || errno != uint32(unix.ENOSYS) {
		t.Errorf("another architecture's call: action %#x errno %d, want ENOSYS", action, errno)
	}
}

// TestCompatOnlyWhenListed: a profile that lists only this machine's own
// architecture refuses the 32-bit calls whole, as libseccomp's filters do.
func TestCompatOnlyWhenListed(t *testing.T) {
	profile := profileFor(t, capabilities.Default)
	profile.Architectures = []specs.Arch{specs.ArchX86_64, specs.ArchAARCH64}
	prog, err := Compile(profile)
	if err != nil {
		t.Fatal(err)
	}
	nr, _ := syscallNumber(compatSyscallTable[:], "read")
	if action, errno := verdict(t, prog, compatAuditArch, nr); action != unix.SECCOMP_RET_ERRNO || errno != uint32(unix.ENOSYS) {
		t.Errorf("32-bit read, profile without %s: action %#x errno %d, want ENOSYS", compatArch, action, errno)
	}
	if nr, _ := syscallNumber(syscallTable[:], "read"); true {
		if action, _ := verdict(t, prog, auditArch, nr); action != unix.SECCOMP_RET_ALLOW {
			t.Errorf("read: action %#x, want allow", action)
		}
	}
}

func TestCapabilitiesWidenTheProfile(t *testing.T) {
	prog, err := Builtin(append([]string{"CAP_SYS_ADMIN"}, capabilities.Default...))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		nr   uint32
		args []uint64
	}{
		{"mount", unix.SYS_MOUNT, nil},
		{"clone(CLONE_NEWNS)", unix.SYS_CLONE, []uint64{unix.CLONE_NEWNS}},
		{"unshare", unix.SYS_UNSHARE, []uint64{unix.CLONE_NEWNS}},
	} {
		if action, _ := verdict(t, prog, auditArch, c.nr, c.args...); action != unix.SECCOMP_RET_ALLOW {
			t.Errorf("%s with CAP_SYS_ADMIN: action %#x, want allow", c.name, action)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	prog := Program(builtinProgram[:])
	if len(prog) == 0 {
		prog = Program{{Code: 6, K: unix.SECCOMP_RET_ALLOW}}
	}
	back, err := Decode(prog.Encode())
	if err != nil || !reflect.DeepEqual(back, prog) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := Decode("zz"); err == nil {
		t.Fatal("malformed text decoded")
	}
}

// decide is the profile's meaning, straight from the OCI rules: the first
// rule naming the call whose argument checks hold (runc's: checks of one
// argument are alternatives, of several all must hold) gives the action.
func decide(t *testing.T, profile *specs.LinuxSeccomp, table []syscallEntry, nr uint32, args []uint64) uint32 {
	t.Helper()
	holds := func(c specs.LinuxSeccompArg) bool {
		v := args[c.Index]
		switch c.Op {
		case specs.OpEqualTo:
			return v == c.Value
		case specs.OpNotEqual:
			return v != c.Value
		case specs.OpMaskedEqual:
			return v&c.Value == c.ValueTwo
		case specs.OpGreaterThan:
			return v > c.Value
		case specs.OpGreaterEqual:
			return v >= c.Value
		case specs.OpLessThan:
			return v < c.Value
		case specs.OpLessEqual:
			return v <= c.Value
		}
		t.Fatalf("operator %q", c.Op)
		return false
	}
	for _, r := range profile.Syscalls {
		named := false
		for _, name := range r.Names {
			if n, ok := syscallNumber(table, name); ok && n == nr {
				named = true
			}
		}
		if !named {
			continue
		}
		sets, err := conditionSets(r.Args)
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range sets {
			all := true
			for _, c := range set {
				all = all && holds(c)
			}
			if all {
				act, _ := action(r.Action, r.ErrnoRet)
				return act
			}
		}
	}
	act, _ := action(profile.DefaultAction, profile.DefaultErrnoRet)
	return act
}

// TestProgramMeansTheProfile runs the compiled program on every system
// call number of this architecture and of its 32-bit convention (and a
// few beyond, x32's among them), each with argument values taken from the
// profile's own checks and around them, and compares with the profile read
// rule by rule. A 32-bit call's arguments are 32 bits: the profile reads
// their low halves.
func TestProgramMeansTheProfile(t *testing.T) {
	conventions := []struct {
		name  string
		arch  uint32
		table []syscallEntry
		wide  bool
	}{
		{"native", auditArch, syscallTable[:], true},
		{"32-bit", compatAuditArch, compatSyscallTable[:], false},
	}
	for _, caps := range [][]string{capabilities.Default, append([]string{"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}, capabilities.Default...)} {
		profile := profileFor(t, caps)
		prog, err := Compile(profile)
		if err != nil {
			t.Fatal(err)
		}
		vm := newVM(t, prog)
		for _, conv := range conventions {
			// Per number: plain values, and those of its own rules' checks.
			values := map[uint32][]uint64{}
			for _, r := range profile.Syscalls {
				for _, name := range r.Names {
					nr, _ := syscallNumber(conv.table, name)
					for _, c := range r.Args {
						values[nr] = append(values[nr], c.Value, c.Value+1, c.Value-1, c.ValueTwo, c.Value|1<<32)
					}
				}
			}
			var nrs []uint32
			for _, e := range conv.table {
				nrs = append(nrs, e.nr, e.nr+1)
			}
			nrs = append(nrs, 0x40000000, 0x40000000|unix.SYS_READ, ^uint32(0))
			checked := 0
			for _, nr := range nrs {
				for _, v := range append([]uint64{0, 1, 0xffffffff, 1 << 32, ^uint64(0)}, values[nr]...) {
					for i := 0; i < 6; i++ {
						args := make([]uint64, 6)
						args[i] = v
						got, errno := run(t, vm, conv.arch, nr, args...)
						meant := args
						if !conv.wide {
							meant = make([]uint64, 6)
							meant[i] = uint64(uint32(v))
						}
						want := decide(t, profile, conv.table, nr, meant)
						if got|errno != want {
							t.Fatalf("%s system call %d, args %#x: program %#x, profile %#x", conv.name, nr, args, got|errno, want)
						}
						checked++
					}
				}
			}
			t.Logf("%s: %d decisions, %d instructions", conv.name, checked, len(prog))
		}
	}
}

func profileFor(t *testing.T, caps []string) *specs.LinuxSeccomp {
	t.Helper()
	profile, err := seccomp.GetDefaultProfile(specFor(caps))
	if err != nil {
		t.Fatal(err)
	}
	return profile
}
