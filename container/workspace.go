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

// Workspace is one container's directory on the host,
// ROOT/containers/ID, holding its overlay layer (upper, work, merged),
// its /etc files and a lock. The book's NewWorkSpace/DeleteWorkSpace.
//
// The overlay itself is mounted by init, inside the container's own mount
// namespace, so it never appears in the host's mount table and vanishes
// with the container whatever happens to mydocker. What can outlive a
// killed mydocker is this directory; the lock tells a live one from a
// stale one.
type Workspace struct {
	ID    string
	Dir   string
	Image string // the image's name, "" for --rootfs
	lock  *os.File
}

const lockFile = "lock"

func containersDir(root string) string { return filepath.Join(root, "containers") }

// lockContainers takes ROOT/containers/.lock, which serialises creating a
// workspace with cleaning stale ones: without it, a cleaner could take the
// lock of a workspace in the instant between its creation and its locking,
// and remove it.
func lockContainers(root string) (unlock func(), err error) {
	if err := os.MkdirAll(containersDir(root), 0o700); err != nil {
		return nil, fmt.Errorf("create container directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(containersDir(root), ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
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

// NewWorkspace creates and locks ROOT/containers/ID. The lock is held until
// Remove, or until mydocker dies, when the kernel drops it.
func NewWorkspace(root, id, imageName string) (*Workspace, error) {
	w := &Workspace{ID: id, Dir: filepath.Join(containersDir(root), id), Image: imageName}
	unlock, err := lockContainers(root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := os.Mkdir(w.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create container directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(w.Dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		os.RemoveAll(w.Dir)
		return nil, fmt.Errorf("lock container directory: %w", err)
	}
	w.lock = lock
	// The image name is in the lock file, for rmi's "in use" check.
	if _, err := lock.WriteString(imageName); err != nil {
		w.Remove()
		return nil, fmt.Errorf("write container directory: %w", err)
	}
	for _, sub := range []string{"upper", "work", "merged"} {
		if err := os.Mkdir(w.Path(sub), 0o755); err != nil {
			w.Remove()
			return nil, fmt.Errorf("create container layer: %w", err)
		}
	}
	return w, nil
}

// Path is a file or directory inside the workspace.
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

// Remove deletes the workspace and releases its lock.
func (w *Workspace) Remove() error {
	err := os.RemoveAll(w.Dir)
	if w.lock != nil {
		w.lock.Close()
	}
	if err != nil {
		return fmt.Errorf("remove container directory: %w", err)
	}
	return nil
}

// CleanStale removes the workspaces of containers whose mydocker is gone
// (killed with SIGKILL, say): their lock is free. It returns the images
// that live containers use.
func CleanStale(root string) (inUse map[string]bool, err error) {
	inUse = map[string]bool{}
	if _, err := os.Stat(containersDir(root)); errors.Is(err, fs.ErrNotExist) {
		return inUse, nil // nothing ever ran: create nothing
	}
	unlock, err := lockContainers(root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	entries, err := os.ReadDir(containersDir(root))
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(containersDir(root), e.Name())
		// Workspaces are created with their lock under the global lock, so
		// one without a lock file was abandoned half-made (or is being
		// removed by its owner): either way it goes.
		lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR, 0)
		if err == nil && unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			// Held: a live container.
			data, _ := os.ReadFile(filepath.Join(dir, lockFile))
			if name := strings.TrimSpace(string(data)); name != "" {
				inUse[name] = true
			}
			lock.Close()
			continue
		}
		log.Infof("removing stale container directory %s", dir)
		if err := os.RemoveAll(dir); err != nil {
			log.Warnf("remove stale container directory %s: %v", dir, err)
		}
		if lock != nil {
			lock.Close()
		}
	}
	return inUse, nil
}
