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
// flock on the file, held by create while it makes its cgroup and by
// delete while it removes its own: a parent is never removed between a
// create's finding it there and its making its cgroup inside. A directory
// that was there before any create is never listed, never removed.
type parents struct {
	f    *os.File
	list []string
}

// lockParents opens and locks the list (nil when it cannot: the parents
// then stay, which leaks a directory but never breaks a container).
func lockParents(root string) *parents {
	f, err := os.OpenFile(filepath.Join(root, "cgroup-parents"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_EX) != nil {
		f.Close()
		return nil
	}
	data, _ := os.ReadFile(f.Name())
	p := &parents{f: f}
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			p.list = append(p.list, l)
		}
	}
	return p
}

// add lists the parents a create is about to make, before it makes them.
func (p *parents) add(dirs []string) {
	if p == nil || len(dirs) == 0 {
		return
	}
	for _, d := range dirs {
		if !slices.Contains(p.list, d) {
			p.list = append(p.list, d)
		}
	}
	p.write()
}

// removeAbove removes the listed parents above dirs that are empty now,
// and drops from the list those that are gone.
func (p *parents) removeAbove(dirs []string) {
	if p == nil {
		return
	}
	var above []string
	for _, parent := range p.list {
		for _, d := range dirs {
			if strings.HasPrefix(d, parent+"/") {
				above = append(above, parent)
				break
			}
		}
	}
	if len(above) == 0 {
		return
	}
	cgroups.RemoveParents(above)
	p.list = slices.DeleteFunc(p.list, func(d string) bool {
		_, err := os.Stat(d)
		return os.IsNotExist(err)
	})
	p.write()
}

func (p *parents) write() {
	p.f.Truncate(0)
	p.f.WriteAt([]byte(strings.Join(p.list, "\n")+"\n"), 0)
}

func (p *parents) unlock() {
	if p != nil {
		p.f.Close()
	}
}
