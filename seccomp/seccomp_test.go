package seccomp

import (
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/mydocker/mydocker/capabilities"
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
	if action, errno := verdict(t, prog, unix.AUDIT_ARCH_I386, 3); action != deny || errno != uint32(unix.ENOSYS) {
		t.Errorf("a 32-bit call: action %#x errno %d, want ENOSYS", action, errno)
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
