package cgroups

import (
	"fmt"
	"os"
	"unsafe"

	log "github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// DeviceRule allows one kind of access to a device, as in the v1 devices
// controller's files: "c 1:3 rwm". Major or Minor -1 is any ("*").
type DeviceRule struct {
	Type         byte // 'c' character, 'b' block
	Major, Minor int64
	Access       string // r read, w write, m mknod
}

func (d DeviceRule) String() string {
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return itoa(n)
	}
	return fmt.Sprintf("%c %s:%s %s", d.Type, num(d.Major), num(d.Minor), d.Access)
}

// DefaultDevices are docker's (and runc's) device rules: any node may be
// created (mknod), but only these may be opened: the usual character
// devices, the container's ptys and /dev/net/tun. No disk can be read or
// written, even by a root with CAP_MKNOD that makes its node.
var DefaultDevices = []DeviceRule{
	{'c', -1, -1, "m"}, {'b', -1, -1, "m"},
	{'c', 1, 3, "rwm"},    // null
	{'c', 1, 5, "rwm"},    // zero
	{'c', 1, 7, "rwm"},    // full
	{'c', 1, 8, "rwm"},    // random
	{'c', 1, 9, "rwm"},    // urandom
	{'c', 5, 0, "rwm"},    // tty
	{'c', 5, 1, "rwm"},    // console
	{'c', 5, 2, "rwm"},    // ptmx
	{'c', 136, -1, "rwm"}, // pts/N
	{'c', 10, 200, "rwm"}, // net/tun
}

// devicesV1 is the v1 controller's way: deny everything, then allow each
// rule, one rule per write.
func devicesV1(rules []DeviceRule) []file {
	files := []file{{"devices.deny", "a", false}}
	for _, r := range rules {
		files = append(files, file{"devices.allow", r.String(), false})
	}
	return files
}

// cgroup v2 has no devices controller: the kernel asks an eBPF program of
// type BPF_PROG_TYPE_CGROUP_DEVICE, attached to the cgroup, about every
// open and mknod of a device node. The program below is written out
// instruction by instruction (the cilium/ebpf library would do it, at the
// cost of half a millisecond of package initialisation in every mydocker
// process): it reads struct bpf_cgroup_dev_ctx { access_type, major,
// minor }, tries each rule in turn and returns 1 (allow) on the first that
// matches, else 0 (deny, EPERM).
const (
	bpfProgTypeCgroupDevice = 15 // BPF_PROG_TYPE_CGROUP_DEVICE
	bpfCgroupDevice         = 6  // BPF_CGROUP_DEVICE, the attach type
	bpfFAllowMulti          = 2  // BPF_F_ALLOW_MULTI: ancestors' programs still apply
	devcgBlock, devcgChar   = 1, 2
	devcgMknod              = 1
	devcgRead               = 2
	devcgWrite              = 4
)

// bpfInsn is struct bpf_insn.
type bpfInsn struct {
	code uint8
	regs uint8 // dst in the low nibble, src in the high one
	off  int16
	imm  int32
}

func insn(code, dst, src uint8, off int16, imm int32) bpfInsn {
	return bpfInsn{code: code, regs: dst | src<<4, off: off, imm: imm}
}

// eBPF opcodes used below.
const (
	ldxW   = unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W // dst = *(u32 *)(src + off)
	movX   = 0xbf                                     // dst = src (64-bit)
	movK   = 0xb7                                     // dst = imm
	andK   = 0x57                                     // dst &= imm
	rshK   = 0x77                                     // dst >>= imm
	jneK   = 0x55                                     // if dst != imm goto pc+off
	exitOp = 0x95
)

func deviceProgram(rules []DeviceRule) []bpfInsn {
	prog := []bpfInsn{
		insn(ldxW, 2, 1, 0, 0), // r2 = access_type
		insn(movX, 3, 2, 0, 0), // r3 = r2
		insn(andK, 3, 0, 0, 0xffff),
		insn(rshK, 2, 0, 0, 16), // r2 = access (mknod, read, write bits)
		insn(ldxW, 4, 1, 4, 0),  // r4 = major
		insn(ldxW, 5, 1, 8, 0),  // r5 = minor
	}
	for _, r := range rules {
		var block []bpfInsn
		typ := int32(devcgChar)
		if r.Type == 'b' {
			typ = devcgBlock
		}
		block = append(block, insn(jneK, 3, 0, 0, typ))
		if r.Major >= 0 {
			block = append(block, insn(jneK, 4, 0, 0, int32(r.Major)))
		}
		if r.Minor >= 0 {
			block = append(block, insn(jneK, 5, 0, 0, int32(r.Minor)))
		}
		var allowed int32
		for _, c := range r.Access {
			switch c {
			case 'm':
				allowed |= devcgMknod
			case 'r':
				allowed |= devcgRead
			case 'w':
				allowed |= devcgWrite
			}
		}
		// Every access asked for must be one the rule allows.
		block = append(block,
			insn(movX, 0, 2, 0, 0),
			insn(andK, 0, 0, 0, ^allowed&7),
			insn(jneK, 0, 0, 0, 0),
			insn(movK, 0, 0, 0, 1),
			insn(exitOp, 0, 0, 0, 0))
		// The jumps skip to the end of the block: the next rule.
		for i := range block {
			if block[i].code == jneK {
				block[i].off = int16(len(block) - i - 1)
			}
		}
		prog = append(prog, block...)
	}
	return append(prog, insn(movK, 0, 0, 0, 0), insn(exitOp, 0, 0, 0, 0))
}

// attachDeviceProgram loads the program for rules and attaches it to the
// cgroup directory dir. The attachment lives as long as the cgroup.
func attachDeviceProgram(dir string, rules []DeviceRule) error {
	prog := deviceProgram(rules)
	fd, err := loadDeviceProgram(prog, nil)
	if err != nil {
		// Once more, with the verifier's log for the message (a load can
		// also fail for a passing reason, EAGAIN or EINTR: then this one
		// is the program).
		log.Infof("cgroups: load the device program: %v; again, with the verifier's log", err)
		logBuf := make([]byte, 1<<16)
		if fd, err = loadDeviceProgram(prog, logBuf); err != nil {
			return fmt.Errorf("cgroups: load the device program: %w (%s)", err, cString(logBuf))
		}
	}
	defer unix.Close(int(fd))

	cg, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cgroups: %w", err)
	}
	defer cg.Close()
	attach := struct{ targetFd, attachBpfFd, attachType, attachFlags uint32 }{
		uint32(cg.Fd()), uint32(fd), bpfCgroupDevice, bpfFAllowMulti,
	}
	if _, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_ATTACH, uintptr(unsafe.Pointer(&attach)), unsafe.Sizeof(attach)); errno != 0 {
		return fmt.Errorf("cgroups: attach the device program to %s: %w", dir, errno)
	}
	return nil
}

// loadDeviceProgram is bpf(BPF_PROG_LOAD); with logBuf, the verifier
// writes what it found there (a log that does not fit fails the load, so
// none is asked for on the first try).
func loadDeviceProgram(prog []bpfInsn, logBuf []byte) (uintptr, error) {
	license := []byte("Apache-2.0\x00")
	load := struct {
		progType, insnCnt uint32
		insns, license    uint64
		logLevel, logSize uint32
		logBuf            uint64
	}{
		progType: bpfProgTypeCgroupDevice,
		insnCnt:  uint32(len(prog)),
		insns:    uint64(uintptr(unsafe.Pointer(&prog[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	if len(logBuf) > 0 {
		load.logLevel, load.logSize = 1, uint32(len(logBuf))
		load.logBuf = uint64(uintptr(unsafe.Pointer(&logBuf[0])))
	}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&load)), unsafe.Sizeof(load))
	if errno != 0 {
		return 0, errno
	}
	return fd, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
