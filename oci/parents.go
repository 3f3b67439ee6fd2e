package oci

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mydocker/mydocker/cgroups"
	"golang.org/x/sys/unix"
)

// The cgroup directories above containers' that create made (containerd's
// /NAMESPACE, say) are shared by every container below them: the last to
// go removes them. ROOT/cgroup-parents lists them, one per line, under an
// flock on the file: create adds those it made, delete removes each that
// is above its container once it is empty, and keeps the rest listed.
// A directory that was there before any create is never listed, never
// removed.

func parentsFile(root string) string { return filepath.Join(root, "cgroup-parents") }

// withParents runs fn on the list, locked, and writes back what it returns.
func withParents(root string, fn func([]string) []string) {
	f, err := os.OpenFile(parentsFile(root), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX) != nil {
		return
	}
	data, _ := os.ReadFile(f.Name())
	var list []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			list = append(list, l)
		}
	}
	list = fn(list)
	f.Truncate(0)
	f.WriteAt([]byte(strings.Join(list, "\n")+"\n"), 0)
}

// addParents lists the parents a create made.
func addParents(root string, made []string) {
	if len(made) == 0 {
		return
	}
	withParents(root, func(list []string) []string {
		for _, d := range made {
			if !slices.Contains(list, d) {
				list = append(list, d)
			}
		}
		return list
	})
}

// removeParents removes the listed parents above dirs that are empty now.
func removeParents(root string, dirs []string) {
	withParents(root, func(list []string) []string {
		var above []string
		for _, p := range list {
			for _, d := range dirs {
				if strings.HasPrefix(d, p+"/") {
					above = append(above, p)
					break
				}
			}
		}
		cgroups.RemoveParents(above)
		return slices.DeleteFunc(list, func(p string) bool {
			_, err := os.Stat(p)
			return os.IsNotExist(err)
		})
	})
}
