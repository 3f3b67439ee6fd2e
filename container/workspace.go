package container

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	log "github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Workspace is one container's place on the host, the book's
// NewWorkSpace/DeleteWorkSpace, in two halves:
//
//   - its state file, /run/mydocker/ID (RuntimeDir): what ps shows of it,
//     flock'ed by its owner for as long as the container lives. On /run
//     (a tmpfs on most systems) it costs no disk writes, and a reboot,
//     which ends every container, clears it too;
//   - with an image or --rootfs, its layer directory, ROOT/containers/ID:
//     the overlay's upper, work and merged directories and its /etc files.
//
// The overlay itself is mounted by init, inside the container's own mount
// namespace, so it never appears in the host's mount table and vanishes
// with the container whatever happens to mydocker. What can outlive a
// killed mydocker is these directories; the lock, which the kernel drops
// when its holder dies, tells a live container from a stale one.
type Workspace struct {
	ID    string
	Dir   string   // ROOT/containers/ID, "" without a layer
	Image string   // the image's name, "" for --rootfs or the host's files
	state *os.File // /run/mydocker/ID, open and locked
}

func containersDir(root string) string { return filepath.Join(root, "containers") }

// RuntimeDir holds the state file of every running container, whatever
// its --root (the file says which), as /run/runc does runc's.
const RuntimeDir = "/run/mydocker"

// lockContainers takes /run/mydocker/.lock, which serialises making a container's
// directories with cleaning stale ones: without it, a cleaner could take
// the lock of a workspace in the instant between its creation and its
// locking, and remove it.
func lockContainers() (unlock func(), err error) {
	if err := os.MkdirAll(RuntimeDir, 0o700); err != nil {
		return nil, fmt.Errorf("create container directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(RuntimeDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock container directory: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock container directory: %w", err)
	}
	return func() { f.Close() }, nil
}

// NewID returns a random container ID, 12 hex digits as docker shows them.
// getrandom(2) directly: crypto/rand would bring the crypto packages'
// initialisation into every start of mydocker.
func NewID() (string, error) {
	b := make([]byte, 6)
	if n, err := unix.Getrandom(b, 0); err != nil || n != len(b) {
		return "", fmt.Errorf("container ID: getrandom: %v", err)
	}
	return hex.EncodeToString(b), nil
}

// NewWorkspace makes and locks the state file of the container s, after
// removing what containers whose mydocker was killed left; s's name must
// not be a live container's of the same root. With layer, it makes the
// overlay's directories for s.Image too. The lock is held until Remove, or
// until mydocker dies, when the kernel drops it. again is start's: the
// container s exists, exited, and runs again on its layer.
func NewWorkspace(root string, s *State, layer, again bool) (w *Workspace, err error) {
	w = &Workspace{ID: s.ID}
	if layer || s.Detached {
		// A detached container keeps its log there too.
		w.Dir = filepath.Join(containersDir(root), s.ID)
	}
	if layer {
		w.Image = s.Image
	}
	unlock, err := lockContainers()
	if err != nil {
		return nil, err
	}
	defer unlock()
	live, err := scanContainers(root)
	if err != nil {
		return nil, err
	}
	if again {
		old, err := takeOver(s.ID)
		if err != nil {
			return nil, err
		}
		s.Created = old.Created
	}
	for _, c := range live {
		if c.Root == root && c.Name == s.Name && c.ID != s.ID {
			return nil, fmt.Errorf("container name %q is in use by container %s", s.Name, c.ID)
		}
	}
	f, err := os.OpenFile(filepath.Join(RuntimeDir, s.ID), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create container state: %w", err)
	}
	w.state = f
	defer func() {
		if err != nil {
			w.Remove()
		}
	}()
	// Blocking: a ps may hold a shared lock on the new file for an instant.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("lock container state: %w", err)
	}
	// From the start the file says what a live container holds: its
	// --root, its image (for rmi's "in use") and its name (unique among
	// the live ones of its root).
	if err := w.writeState(s); err != nil {
		return nil, err
	}
	if w.Dir == "" {
		return w, nil
	}
	if err := os.MkdirAll(containersDir(root), 0o700); err != nil {
		return nil, fmt.Errorf("create container directory: %w", err)
	}
	if err := os.Mkdir(w.Dir, 0o700); err != nil && !(again && os.IsExist(err)) {
		return nil, fmt.Errorf("create container layer: %w", err)
	}
	if !layer {
		return w, nil
	}
	if again {
		// overlayfs leaves its work directory unusable for a new mount
		// (a volatile one marks it): start it afresh. upper is the
		// container's files, kept.
		if err := os.RemoveAll(w.Path("work")); err != nil {
			return nil, fmt.Errorf("container layer: %w", err)
		}
	}
	for _, sub := range []string{"upper", "work", "merged"} {
		if err := os.Mkdir(w.Path(sub), 0o755); err != nil && !(again && os.IsExist(err)) {
			return nil, fmt.Errorf("create container layer: %w", err)
		}
	}
	return w, nil
}

// takeOver removes the state file of the exited container id, which is
// about to run again under a new one. The caller holds the containers lock.
func takeOver(id string) (*State, error) {
	path := filepath.Join(RuntimeDir, id)
	s, held := readState(path)
	if held || s == nil || !s.Detached {
		return nil, fmt.Errorf("container %s cannot start: it is running or not a detached one", id)
	}
	if err := os.Remove(path); err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	return s, nil
}

// scanContainers returns the live containers (of every root) and removes
// the directories of the others: their lock is free, so their mydocker is
// gone (killed with SIGKILL, say) and the container died with it. A layer
// under root with no runtime directory at all is from before a reboot.
// The caller holds the containers lock.
func scanContainers(root string) ([]*State, error) {
	entries, err := os.ReadDir(RuntimeDir)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var live []*State
	alive := map[string]bool{}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(RuntimeDir, e.Name())
		// State files are made and locked under the containers lock, so
		// an unlocked one belongs to no live mydocker.
		s, held := readState(path)
		if held || s != nil && s.Detached {
			// A detached container stays, exited, until rm.
			if s != nil {
				live = append(live, s)
			}
			alive[e.Name()] = true
			continue
		}
		if s != nil && s.layer {
			removeStale(filepath.Join(containersDir(s.Root), e.Name()))
		}
		removeStale(path)
	}
	layers, _ := os.ReadDir(containersDir(root))
	for _, e := range layers {
		if e.IsDir() && !alive[e.Name()] {
			removeStale(filepath.Join(containersDir(root), e.Name()))
		}
	}
	return live, nil
}

func removeStale(dir string) {
	log.Infof("removing stale container directory %s", dir)
	if err := os.RemoveAll(dir); err != nil {
		log.Warnf("remove stale container directory %s: %v", dir, err)
	}
}

// Path is a file or directory in the container's layer directory.
func (w *Workspace) Path(name string) string { return filepath.Join(w.Dir, name) }

// WriteEtcFiles writes the hostname, hosts and resolv.conf that init
// bind-mounts into the container's /etc (bind mounts, as docker does, so
// that they work on a read-only root too).
func (w *Workspace) WriteEtcFiles(hostname string) error {
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		resolv = nil // no resolver on the host: an empty file
	}
	files := map[string]string{
		"hostname": hostname + "\n",
		"hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"127.0.1.1\t" + hostname + "\n",
		"resolv.conf": string(resolv),
	}
	for name, content := range files {
		if err := os.WriteFile(w.Path(name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("write container /etc/%s: %w", name, err)
		}
	}
	return nil
}

// Remove deletes the workspace's directories and releases its lock.
func (w *Workspace) Remove() error {
	var errs []error
	if w.Dir != "" {
		errs = append(errs, os.RemoveAll(w.Dir))
	}
	// The state file last: while it is there, locked, nobody takes the
	// layer for a stale one.
	if w.state != nil {
		errs = append(errs, os.Remove(w.state.Name()))
		w.state.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove container directory: %w", err)
	}
	return nil
}

// LayerPath is a file or directory in the container id's layer directory.
func LayerPath(root, id, name string) string { return filepath.Join(containersDir(root), id, name) }

// LogPath is a detached container's log: its stdout and stderr, in order.
func LogPath(root, id string) string { return filepath.Join(containersDir(root), id, "container.log") }

// RemoveExited removes what is left of a container that no longer runs:
// its layer directory and log, then its state file. It refuses a
// container whose owner still holds it.
func RemoveExited(root string, s *State) error {
	unlock, err := lockContainers()
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(RuntimeDir, s.ID)
	if _, held := readState(path); held {
		return fmt.Errorf("container %s is still running", s.Name)
	}
	if err := os.RemoveAll(filepath.Join(containersDir(root), s.ID)); err != nil {
		return fmt.Errorf("remove container %s: %w", s.Name, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove container %s: %w", s.Name, err)
	}
	return nil
}

// CleanStale removes the directories of containers whose mydocker is gone
// (killed with SIGKILL, say). It returns the images that live containers
// use.
func CleanStale(root string) (inUse map[string]bool, err error) {
	inUse = map[string]bool{}
	_, errRun := os.Stat(RuntimeDir)
	_, errLayers := os.Stat(containersDir(root))
	if errors.Is(errRun, fs.ErrNotExist) && errors.Is(errLayers, fs.ErrNotExist) {
		return inUse, nil // nothing ever ran: create nothing
	}
	unlock, err := lockContainers()
	if err != nil {
		return nil, err
	}
	defer unlock()
	live, err := scanContainers(root)
	if err != nil {
		return nil, err
	}
	for _, c := range live {
		if c.Root == root && c.Image != "" && c.layer {
			inUse[c.Image] = true
		}
	}
	return inUse, nil
}
