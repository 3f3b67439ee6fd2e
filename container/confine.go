package container

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/mydocker/mydocker/capabilities"
	"github.com/mydocker/mydocker/seccomp"
	"github.com/mydocker/mydocker/trace"
	"golang.org/x/sys/unix"
)

// confine takes away what the command must not have, last before the
// exec, in the order the kernel needs:
//
//  1. no_new_privs (when asked for): from here on, exec never grants more;
//  2. the seccomp filter: without no_new_privs the kernel wants
//     CAP_SYS_ADMIN to load one, so it comes before the capabilities go
//     (docker's profile lets the next calls through: capset, prctl, execve);
//  3. the bounding set, while init is still root (it needs CAP_SETPCAP);
//  4. --user (id, when not nil): groups, group, user, keeping the
//     permitted set for the next step;
//  5. the permitted and effective sets set to the kept ones, inheritable
//     and ambient emptied.
//
// All three belong to a thread: the one that execs (main.go keeps init on
// it). With --init, init itself goes on running as PID 1, so they are set
// on all of its threads.
func confine(cfg *Config, id *identity) error {
	if cfg.NoNewPrivileges {
		// Every thread's: with --init, this process goes on running.
		_, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0)
		if errno == unix.ENOTSUP && !cfg.Init {
			// A cgo build cannot reach every thread; the exec'ing one is
			// all that matters without --init.
			errno = 0
			if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
				errno = err.(unix.Errno)
			}
		}
		var err error
		if errno != 0 {
			err = errno
		}
		trace.Step(trace.Beyond, "exec never grants more (--security-opt no-new-privileges)", err, "prctl(PR_SET_NO_NEW_PRIVS, 1)")
		if err != nil {
			return fmt.Errorf("set no_new_privs: %w", errno)
		}
	}
	if cfg.Seccomp != "" {
		prog, err := seccomp.Decode(cfg.Seccomp)
		if err != nil {
			return err
		}
		err = seccomp.Load(prog)
		trace.Step(trace.Beyond, "docker's seccomp profile, compiled to classic BPF", err, "seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, {%d instructions})", len(prog))
		if err != nil {
			return err
		}
	}
	if cfg.Bundle != nil {
		return confineBundle(cfg.Bundle)
	}
	if cfg.LimitCapabilities {
		err := capabilities.ApplyBounding(cfg.Capabilities)
		trace.Step(trace.Beyond, "docker's bounding set: no exec grants more, whoever runs it", err, "prctl(PR_CAPBSET_DROP, all but %s)", strings.Join(cfg.Capabilities, "|"))
		if err != nil {
			return err
		}
		if cfg.Init {
			// init stays as PID 1: none of its threads may keep more.
			if err := capabilities.SpreadBounding(); err != nil {
				return err
			}
		}
	}
	if id != nil {
		if err := becomeUser(id, cfg.LimitCapabilities); err != nil {
			return err
		}
	}
	if cfg.LimitCapabilities {
		// A user other than root keeps no capability, as exec would leave
		// it (and as docker's container for that user has): this matters
		// for --init, whose PID 1 goes on running without an exec.
		kept := cfg.Capabilities
		if id != nil && id.uid != 0 {
			kept = nil
		}
		err := capabilities.ApplySets(kept)
		trace.Step(trace.Beyond, "docker's capability sets; the rest of root's powers go", err, "capset(%s)", strings.Join(kept, "|"))
		if err != nil {
			return err
		}
		if cfg.Init {
			if err := capabilities.SpreadSets(); err != nil {
				return err
			}
		}
	}
	return nil
}
