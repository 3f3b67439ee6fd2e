package container

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/mydocker/mydocker/trace"
	"golang.org/x/sys/unix"
)

// identity is who --user makes the command: its user and group IDs, its
// supplementary groups and its home directory.
type identity struct {
	uid, gid int
	groups   []int
	home     string
}

// lookUpUser resolves --user's USER[:GROUP] in the container's own
// /etc/passwd and /etc/group (init reads them after pivot_root: never the
// host's, unless the container runs on the host's files), with docker's
// (runc's) rules:
//   - USER is a name, which must be in /etc/passwd, or a number, which
//     need not be (it then has group 0 and home /);
//   - without GROUP: the user's primary group and every group of
//     /etc/group that lists the user; with GROUP (a name in /etc/group, or
//     a number): that group alone.
func lookUpUser(spec string) (*identity, error) {
	userPart, groupPart, withGroup := strings.Cut(spec, ":")
	if userPart == "" || withGroup && groupPart == "" {
		return nil, fmt.Errorf("invalid user %q: want USER[:GROUP], names or numbers", spec)
	}
	id := &identity{home: "/"}
	uid, numeric := parseID(userPart)
	entry := findEntry("/etc/passwd", 7, func(f []string) bool {
		if numeric {
			n, _ := parseID(f[2])
			return n == uid
		}
		return f[0] == userPart
	})
	switch {
	case entry != nil:
		id.uid, _ = parseID(entry[2])
		id.gid, _ = parseID(entry[3])
		if entry[5] != "" {
			id.home = entry[5]
		}
	case numeric:
		id.uid = uid
	default:
		return nil, fmt.Errorf("user %q: no such user in the container's /etc/passwd", userPart)
	}
	if withGroup {
		gid, numeric := parseID(groupPart)
		if !numeric {
			g := findEntry("/etc/group", 4, func(f []string) bool { return f[0] == groupPart })
			if g == nil {
				return nil, fmt.Errorf("group %q: no such group in the container's /etc/group", groupPart)
			}
			gid, _ = parseID(g[2])
		}
		id.gid = gid
		id.groups = []int{gid}
		return id, nil
	}
	id.groups = []int{id.gid}
	if entry != nil {
		findEntry("/etc/group", 4, func(f []string) bool {
			for _, member := range strings.Split(f[3], ",") {
				if gid, ok := parseID(f[2]); ok && member == entry[0] && gid != id.gid {
					id.groups = append(id.groups, gid)
				}
			}
			return false // every line
		})
	}
	return id, nil
}

// parseID reads a user or group ID: a number of at most 31 bits.
func parseID(s string) (int, bool) {
	n, err := strconv.ParseUint(s, 10, 31)
	return int(n), err == nil
}

// findEntry returns the fields of the first line of the colon-separated
// file at path (passwd, group) that has n fields or more and that match
// accepts; nil if none, or if there is no such file.
func findEntry(path string, n int, match func([]string) bool) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= n && !strings.HasPrefix(fields[0], "#") && match(fields) {
			return fields
		}
	}
	return nil
}

// becomeUser switches every thread of init to id: groups, then group,
// then user, as the kernel needs (setgroups and setgid need root). Go's
// syscall package does each on all threads, with a signal to each; what
// init already is (root, most often) is left as it is. With keepCaps,
// the permitted capabilities survive the change of user
// (PR_SET_KEEPCAPS, on every thread), for the capability sets to be set
// from them next, as runc does; exec then recomputes them for a user
// that is not root: docker's set for root, none for another user.
func becomeUser(id *identity, keepCaps bool) error {
	sameGroups, sameGID, sameUID := alreadyIs(id)
	if sameGroups && sameGID && sameUID {
		return nil
	}
	keepCaps = keepCaps && !sameUID
	setKeepCaps := func(on uintptr) error {
		if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, on, 0); errno != 0 {
			return fmt.Errorf("--user: PR_SET_KEEPCAPS: %w", errno)
		}
		return nil
	}
	if keepCaps {
		if err := setKeepCaps(1); err != nil {
			return err
		}
	}
	var err error
	if !sameGroups {
		err = syscall.Setgroups(id.groups)
	}
	if err == nil && !sameGID {
		err = syscall.Setgid(id.gid)
	}
	if err == nil && !sameUID {
		err = syscall.Setuid(id.uid)
	}
	trace.Step(trace.Beyond, "docker's --user, from the container's /etc/passwd and /etc/group", err,
		"setgroups(%v), setgid(%d), setuid(%d)", id.groups, id.gid, id.uid)
	if err != nil {
		return fmt.Errorf("--user %d:%d: %w", id.uid, id.gid, err)
	}
	if keepCaps {
		return setKeepCaps(0)
	}
	return nil
}

// setEnv is env with key set to value, in place of any setting of key.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// alreadyIs says which of id's groups, group and user init already has
// (real, effective and saved alike).
func alreadyIs(id *identity) (groups, gid, uid bool) {
	ruid, euid, suid := unix.Getresuid()
	rgid, egid, sgid := unix.Getresgid()
	uid = ruid == id.uid && euid == id.uid && suid == id.uid
	gid = rgid == id.gid && egid == id.gid && sgid == id.gid
	have, err := unix.Getgroups()
	return err == nil && slices.Equal(have, id.groups), gid, uid
}
