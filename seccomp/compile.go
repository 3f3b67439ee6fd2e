package seccomp

import (
	"fmt"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Offsets in struct seccomp_data, what the filter reads: the system call's
// number, the calling convention's architecture, and six 64-bit arguments
// (little-endian here: the low half comes first).
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// Compile turns an OCI seccomp profile (what docker's profile becomes once
// its capability and kernel conditions are settled) into a program for
// this machine's calling convention and, when the profile lists it (as
// docker's does), the 32-bit one the machine also runs (int 0x80 on
// x86_64): each numbers its calls in its own way. System calls an
// architecture does not have are skipped, as libseccomp does.
//
// The program finds a call's number by binary search, not by comparing it
// with each allowed call in turn: at load time the kernel runs the filter
// once for every system call number, to learn which ones it always allows
// (its seccomp cache, Linux 5.11), so the length of the path to a verdict
// counts some 450 times (README, Performance). Its shape:
//
//	arch == this machine's: the search below, in its numbers
//	arch == its 32-bit one (if listed): the same search, in those numbers
//	any other: ENOSYS
//
//	A = nr
//	if A >= 250 { if A >= 320 {...} else {...} } else {...}   ranges of numbers
//	    leaf: return the action of a call without conditions,
//	          or jump to the call's block of argument checks (in the
//	          profile's order, first match wins), which ends with the
//	          default action
func Compile(profile *specs.LinuxSeccomp) (Program, error) {
	defaultAction, err := action(profile.DefaultAction, profile.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	a := &assembler{}
	a.load(offArch)
	native := a.newLabel()
	a.jumpIf(unix.BPF_JEQ, auditArch, native, a.here())
	compat := -1
	if lists(profile.Architectures, compatArch) {
		compat = a.newLabel()
		other := a.newLabel()
		a.jumpIf(unix.BPF_JEQ, compatAuditArch, a.here(), other)
		a.jumpAlways(compat) // beyond a conditional jump's reach
		a.place(other)
	}
	// Another calling convention (x32's numbers come as this machine's,
	// with bit 30 set, and fall to the default action): refused whole.
	a.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
	a.place(native)
	if err := a.search(profile, syscallTable[:], defaultAction, true); err != nil {
		return nil, err
	}
	if compat >= 0 {
		a.place(compat)
		if err := a.search(profile, compatSyscallTable[:], defaultAction, false); err != nil {
			return nil, err
		}
	}
	return a.assemble()
}

func lists(archs []specs.Arch, arch specs.Arch) bool {
	for _, a := range archs {
		if a == arch {
			return true
		}
	}
	return false
}

// search writes the binary search on the call's number, in table's
// numbering, and the blocks of argument checks it leads to. A 32-bit
// convention's arguments are 32 bits wide: its checks look at the low
// halves only, as libseccomp's do (the high ones are not the caller's).
func (a *assembler) search(profile *specs.LinuxSeccomp, table []syscallEntry, defaultAction uint32, wide bool) error {
	// What each number does, rule by rule in the profile's order.
	type rule struct {
		act  uint32
		sets [][]specs.LinuxSeccompArg
	}
	rules := map[uint32][]rule{}
	for _, r := range profile.Syscalls {
		act, err := action(r.Action, r.ErrnoRet)
		if err != nil {
			return err
		}
		sets, err := conditionSets(r.Args)
		if err != nil {
			return err
		}
		for _, name := range r.Names {
			if nr, known := syscallNumber(table, name); known {
				rules[nr] = append(rules[nr], rule{act, sets})
			}
		}
	}
	a.load(offNr)

	// Each number's outcome: an action, or (with argument checks first)
	// a block of its own; consecutive numbers alike make one range.
	type outcome struct {
		act   uint32
		block int // label of the block, -1 for none
	}
	var blocks []uint32 // numbers with a block, in order
	outcomeOf := func(nr uint32) outcome {
		rs := rules[nr]
		if len(rs) == 0 {
			return outcome{defaultAction, -1}
		}
		if len(rs[0].sets) == 1 && len(rs[0].sets[0]) == 0 {
			return outcome{rs[0].act, -1} // the first rule has no condition
		}
		blocks = append(blocks, nr)
		return outcome{0, a.newLabel()}
	}
	type span struct {
		from uint32
		out  outcome
	}
	var spans []span
	maxNr := uint32(0)
	for nr := range rules {
		maxNr = max(maxNr, nr)
	}
	for nr := uint32(0); nr <= maxNr+1; nr++ {
		o := outcomeOf(nr)
		if n := len(spans); n > 0 && spans[n-1].out.block < 0 && o.block < 0 && spans[n-1].out.act == o.act {
			continue // the same as the range before
		}
		spans = append(spans, span{nr, o})
	}
	blockLabel := map[uint32]int{}
	for _, sp := range spans {
		if sp.out.block >= 0 {
			blockLabel[sp.from] = sp.out.block
		}
	}

	// The search: above spans[mid].from, the right half; else the left.
	var search func(spans []span)
	search = func(spans []span) {
		if len(spans) == 1 {
			if o := spans[0].out; o.block >= 0 {
				a.jumpAlways(o.block)
			} else {
				a.ret(o.act)
			}
			return
		}
		mid := len(spans) / 2
		// A conditional jump reaches 255 instructions: the right half
		// may be further, so through an unconditional one.
		left, right := a.newLabel(), a.newLabel()
		a.jumpIf(unix.BPF_JGE, spans[mid].from, a.here(), left)
		a.jumpAlways(right)
		a.place(left)
		search(spans[:mid])
		a.place(right)
		search(spans[mid:])
	}
	search(spans)

	// The blocks of argument checks.
	for _, nr := range blocks {
		a.place(blockLabel[nr])
	rules:
		for _, r := range rules[nr] {
			for _, conds := range r.sets {
				next := a.newLabel()
				for _, c := range conds {
					if err := a.condition(c, next, wide); err != nil {
						return fmt.Errorf("seccomp: system call %d: %w", nr, err)
					}
				}
				a.ret(r.act)
				a.place(next)
				if len(conds) == 0 {
					break rules // always taken: the rules after it never are
				}
			}
		}
		a.ret(defaultAction)
	}
	return nil
}

// conditionSets reads a rule's argument checks as runc does: all must hold
// (AND), except that several checks of one argument are alternatives, each
// a rule of its own (OR). A rule without checks is one empty set.
func conditionSets(args []specs.LinuxSeccompArg) ([][]specs.LinuxSeccompArg, error) {
	for _, arg := range args {
		if arg.Index > 5 {
			return nil, fmt.Errorf("seccomp: argument index %d: a system call has 6 arguments", arg.Index)
		}
	}
	if len(args) > 1 {
		sameIndex := true
		for _, arg := range args[1:] {
			sameIndex = sameIndex && arg.Index == args[0].Index
		}
		if sameIndex {
			sets := make([][]specs.LinuxSeccompArg, len(args))
			for i, arg := range args {
				sets[i] = []specs.LinuxSeccompArg{arg}
			}
			return sets, nil
		}
	}
	return [][]specs.LinuxSeccompArg{args}, nil
}

// action is a profile action as the kernel's return value.
func action(act specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	switch act {
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActErrno:
		errno := uint32(unix.EPERM)
		if errnoRet != nil {
			errno = uint32(*errnoRet)
		}
		return unix.SECCOMP_RET_ERRNO | errno&unix.SECCOMP_RET_DATA, nil
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActTrace:
		errno := uint32(unix.EPERM)
		if errnoRet != nil {
			errno = uint32(*errnoRet)
		}
		return unix.SECCOMP_RET_TRACE | errno&unix.SECCOMP_RET_DATA, nil
	}
	return 0, fmt.Errorf("seccomp: action %q is not supported", act)
}

// assembler builds a classic BPF program with forward jumps to labels.
type assembler struct {
	prog   []unix.SockFilter
	jumps  []jump // conditional jumps to resolve
	labels []int  // label -> instruction index, -1 until placed
}

type jump struct {
	at, jt, jf int
	always     bool // BPF_JA: to jt, as far as it is
}

func (a *assembler) newLabel() int {
	a.labels = append(a.labels, -1)
	return len(a.labels) - 1
}

func (a *assembler) place(label int) { a.labels[label] = len(a.prog) }

func (a *assembler) load(off uint32) {
	a.prog = append(a.prog, unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off})
}

func (a *assembler) and(mask uint32) {
	a.prog = append(a.prog, unix.SockFilter{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: mask})
}

func (a *assembler) ret(k uint32) {
	a.prog = append(a.prog, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k})
}

// jumpIf compares the accumulator with k and goes to label jt when the
// comparison holds, else to jf. A label not yet placed is placed right
// after this instruction when the caller places it there.
func (a *assembler) jumpIf(op uint16, k uint32, jt, jf int) {
	a.jumps = append(a.jumps, jump{at: len(a.prog), jt: jt, jf: jf})
	a.prog = append(a.prog, unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, K: k})
}

// condition checks one argument, going on when it holds and to fail when
// it does not: for a 64-bit one (wide) the high halves first, then the
// low ones; for a 32-bit one the low ones alone.
func (a *assembler) condition(c specs.LinuxSeccompArg, fail int, wide bool) error {
	hi, lo := offArgs+8*uint32(c.Index)+4, offArgs+8*uint32(c.Index)
	vhi, vlo := uint32(c.Value>>32), uint32(c.Value)
	pass := a.newLabel()
	switch c.Op {
	case specs.OpEqualTo, specs.OpNotEqual:
		yes, no := pass, fail
		if c.Op == specs.OpNotEqual {
			yes, no = fail, pass
		}
		if wide {
			a.load(hi)
			a.jumpIf(unix.BPF_JEQ, vhi, a.here(), no)
		}
		a.load(lo)
		a.jumpIf(unix.BPF_JEQ, vlo, yes, no)
	case specs.OpMaskedEqual:
		// (arg & Value) == ValueTwo
		mhi, mlo := vhi, vlo
		whi, wlo := uint32(c.ValueTwo>>32), uint32(c.ValueTwo)
		if wide {
			a.load(hi)
			a.and(mhi)
			a.jumpIf(unix.BPF_JEQ, whi, a.here(), fail)
		}
		a.load(lo)
		a.and(mlo)
		a.jumpIf(unix.BPF_JEQ, wlo, pass, fail)
	case specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpLessThan, specs.OpLessEqual:
		// arg > v (or >=) when its high half is greater, or equal with a
		// low half greater (or equal); < and <= are the negations.
		yes, no := pass, fail
		op := uint16(unix.BPF_JGT)
		switch c.Op {
		case specs.OpGreaterEqual:
			op = unix.BPF_JGE
		case specs.OpLessThan:
			op, yes, no = unix.BPF_JGE, fail, pass
		case specs.OpLessEqual:
			op, yes, no = unix.BPF_JGT, fail, pass
		}
		if wide {
			a.load(hi)
			a.jumpIf(unix.BPF_JGT, vhi, yes, a.here())
			a.jumpIf(unix.BPF_JEQ, vhi, a.here(), no)
		}
		a.load(lo)
		a.jumpIf(op, vlo, yes, no)
	default:
		return fmt.Errorf("operator %q is not supported", c.Op)
	}
	a.place(pass)
	return nil
}

// jumpAlways goes to label, however far ahead.
func (a *assembler) jumpAlways(label int) {
	a.jumps = append(a.jumps, jump{at: len(a.prog), jt: label, always: true})
	a.prog = append(a.prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA})
}

// here is a label for the instruction right after the jump being written.
func (a *assembler) here() int {
	l := a.newLabel()
	a.labels[l] = len(a.prog) + 1
	return l
}

// assemble resolves the jumps. A conditional jump goes forward by at most
// 255 instructions (each block here is a handful long); BPF_JA, as far as
// the program goes.
func (a *assembler) assemble() (Program, error) {
	if len(a.prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp: %d instructions, more than the kernel's %d", len(a.prog), unix.BPF_MAXINSNS)
	}
	for _, j := range a.jumps {
		if j.always {
			to := a.labels[j.jt]
			if to < 0 || to <= j.at {
				return nil, fmt.Errorf("seccomp: internal error: jump from %d to %d", j.at, to)
			}
			a.prog[j.at].K = uint32(to - (j.at + 1))
			continue
		}
		for _, t := range []struct {
			label int
			field *uint8
		}{{j.jt, &a.prog[j.at].Jt}, {j.jf, &a.prog[j.at].Jf}} {
			to := a.labels[t.label]
			off := to - (j.at + 1)
			if to < 0 || off < 0 || off > 255 {
				return nil, fmt.Errorf("seccomp: internal error: jump from %d to %d", j.at, to)
			}
			*t.field = uint8(off)
		}
	}
	return Program(a.prog), nil
}

// syscallNumber looks name up in an architecture's table (a sorted,
// static array: no start-up cost).
func syscallNumber(table []syscallEntry, name string) (uint32, bool) {
	i := sort.Search(len(table), func(i int) bool { return table[i].name >= name })
	if i < len(table) && table[i].name == name {
		return table[i].nr, true
	}
	return 0, false
}

type syscallEntry struct {
	name string
	nr   uint32
}
