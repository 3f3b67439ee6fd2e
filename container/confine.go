package container

import (
	"fmt"

	"github.com/mydocker/mydocker/capabilities"
	"github.com/mydocker/mydocker/seccomp"
	"golang.org/x/sys/unix"
)

// confine takes away what the command must not have, last before the
// exec, in the order the kernel needs:
//
//  1. no_new_privs (when asked for): from here on, exec never grants more;
//  2. the seccomp filter: without no_new_privs the kernel wants
//     CAP_SYS_ADMIN to load one, so it comes before the capabilities go
//     (docker's profile lets the next calls through: capset, prctl, execve);
//  3. the capability sets: bounding, permitted, effective, inheritable set
//     to the kept ones, ambient emptied.
//
// All three belong to the calling thread, the one that execs (main.go).
func confine(cfg *Config) error {
	if cfg.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	if cfg.Seccomp != "" {
		prog, err := seccomp.Decode(cfg.Seccomp)
		if err != nil {
			return err
		}
		if err := seccomp.Load(prog); err != nil {
			return err
		}
	}
	if cfg.LimitCapabilities {
		if err := capabilities.Apply(cfg.Capabilities); err != nil {
			return err
		}
	}
	return nil
}
