package container

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mydocker/mydocker/trace"
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
//   - with an image or --rootfs, its run files, /run/mydocker/.work/ID:
//     the overlay's merged directory (a mount point only) and the /etc
//     files init binds over the image's. They die with the run, and on a
//     tmpfs they cost no disk work;
//   - with an image, its layer directory, ROOT/containers/ID: the
//     overlay's upper and work directories, the container's own files
//     (and a detached container's log). A foreground container's layer,
//     thrown away at its end, is not on disk: init makes it on a tmpfs of
//     the container's own mount namespace (Config.LayerInMemory).
//
// The overlay itself is mounted by init, inside the container's own mount
// namespace, so it never appears in the host's mount table and vanishes
// with the container whatever happens to mydocker. What can outlive a
// killed mydocker is these directories; the lock, which the kernel drops
// when its holder dies, tells a live container from a stale one.
type Workspace struct {
	ID     string
	Dir    string // ROOT/containers/ID, "" without a layer on disk
	RunDir string // /run/mydocker/.work/ID, "" on the host's files
	Image  string // the image's name, "" for --rootfs or the host's files
	// LayerInMemory: the container's layer is a tmpfs of its own mount
	// namespace, not a directory on disk (a foreground container's).
	LayerInMemory bool
	state         *os.File // /run/mydocker/ID, open and locked
	name          *os.File // its name file, open and locked (reserveName)
}

// publish makes the file path: made under a temporary name (".new-..."
// beside it), locked, filled by write, then put in place by place
// (os.Rename, or os.Link where path must not exist yet). So a file at path
// is always whole, and locked for as long as its maker lives; a killed
// maker leaves only a ".new-" file, which scanContainers removes.
func publish(path string, write func(*os.File) error, place func(old, new string) error) (*os.File, error) {
	tmp := filepath.Join(filepath.Dir(path), ".new-"+filepath.Base(path))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if err = unix.Flock(int(f.Fd()), unix.LOCK_EX); err == nil {
		if err = write(f); err == nil {
			err = place(tmp, path)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// nameFile is where a container's name is reserved: a file of its own per
// root and name, made with O_EXCL, so that no lock or scan of every
// container is needed to keep names unique.
func nameFile(root, name string) string {
	h := fnv.New64a()
	h.Write([]byte(root))
	return filepath.Join(RuntimeDir, ".names", fmt.Sprintf("%016x-%s", h.Sum64(), name))
}

// reserveName takes the name for the container id: its name file, locked,
// holding the ID. A name file whose owner is gone (its lock free) names a
// container that is gone too, unless it is a detached one kept until rm;
// such a stale one is replaced, under the containers lock (which the
// caller may hold already: locked).
func reserveName(root, name, id string, locked bool) (*os.File, error) {
	path := nameFile(root, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("reserve container name: %w", err)
	}
	create := func() (*os.File, error) {
		// Written and locked under a name of its own, then linked into
		// place, which fails if the name is taken: a name file is never
		// seen unlocked or half-written while its owner lives.
		f, err := publish(path, func(f *os.File) error {
			_, err := f.WriteString(id)
			return err
		}, os.Link)
		if err != nil && !os.IsExist(err) {
			return nil, fmt.Errorf("reserve container name: %w", err)
		}
		return f, err
	}
	f, err := create()
	if !os.IsExist(err) {
		return f, err
	}
	if !locked {
		unlock, err := lockContainers()
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	owner, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return create() // removed meanwhile
	}
	if unix.Flock(int(owner.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		// Held: a live container's. The file says which.
		data, _ := os.ReadFile(path)
		owner.Close()
		if len(data) > 0 {
			return nil, fmt.Errorf("container name %q is in use by container %s", name, data)
		}
		return nil, fmt.Errorf("container name %q is in use", name)
	}
	data, _ := os.ReadFile(path)
	other := string(data)
	if other == id {
		return owner, nil // start: the container takes its own name again
	}
	s, held := readState(statePath(other))
	if other == "" || s != nil && (s.Detached || held) {
		owner.Close()
		return nil, fmt.Errorf("container name %q is in use by container %s", name, other)
	}
	// The name's container is gone (its mydocker was killed): what it
	// left goes with its name.
	if s != nil {
		removeStale(s)
	}
	owner.Close()
	os.Remove(path)
	return create()
}

func containersDir(root string) string { return filepath.Join(root, "containers") }

// RuntimeDir holds the state file of every running container, whatever
// its --root (the file says which), as /run/runc does runc's.
// MYDOCKER_RUNTIME_DIR (an absolute path) puts it elsewhere: the tests use
// it to show what a reboot, which clears /run, leaves.
var RuntimeDir = runtimeDir()

func runtimeDir() string {
	if dir := os.Getenv("MYDOCKER_RUNTIME_DIR"); filepath.IsAbs(dir) {
		return filepath.Clean(dir)
	}
	return "/run/mydocker"
}

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
// not be a live container's of the same root. With imageConfig (the
// image's config file, there while the image is), it makes the overlay's
// directories for s.Image too, and with
// runFiles (image or --rootfs) the run files' directory. The lock is held
// until the container's teardown, or until mydocker dies, when the kernel
// drops it. again is start's: the container s exists, exited, and runs
// again on its layer.
func NewWorkspace(root string, s *State, imageConfig string, runFiles, again, layerInMemory bool) (w *Workspace, err error) {
	layer := imageConfig != ""
	w = &Workspace{ID: s.ID}
	// A layer in memory is on the tmpfs init mounts (Config.LayerInMemory),
	// with what would be its run files; a detached container's is on
	// disk, for commit and start, with its log.
	w.LayerInMemory = layer && layerInMemory
	if runFiles && !w.LayerInMemory {
		w.RunDir = runDir(s.ID)
	}
	if s.Detached || layer && !layerInMemory {
		w.Dir = filepath.Join(containersDir(root), s.ID)
	}
	if layer {
		w.Image = s.Image
	}
	locked := layer || w.Dir != ""
	if locked {
		// A container with an image or a directory on disk: under the
		// containers lock, first remove what killed ones left there. A
		// foreground one on the host's files has nothing on disk, and
		// goes without the lock (fifty started at once would queue on
		// it).
		unlock, err := lockContainers()
		if err != nil {
			return nil, err
		}
		defer unlock()
		restoreAfterReboot(root, true)
		if _, err := scanContainers(root, false); err != nil {
			return nil, err
		}
		// rmi takes an image away under this same lock, once it has seen
		// that no container uses it (WithImageUsers): the image is either
		// still there, and this container's state makes it in use from
		// now on, or it is gone, and the container cannot be.
		if layer {
			if _, err := os.Stat(imageConfig); err != nil {
				return nil, fmt.Errorf("image %q: removed (rmi)", s.Image)
			}
		}
	} else if err := os.MkdirAll(RuntimeDir, 0o700); err != nil {
		return nil, fmt.Errorf("create container state: %w", err)
	}
	place := os.Link // a new container's state file must not exist yet
	if again {
		old, err := startable(s.ID)
		if err != nil {
			return nil, err
		}
		s.Created = old.Created
		place = os.Rename // over the exited one's, in one step
	}
	if w.name, err = reserveName(root, s.Name, s.ID, locked); err != nil {
		return nil, err
	}
	defer func() {
		switch {
		case err == nil:
		case again && w.state != nil:
			// start could not run it: it stays, exited, with its layer.
			w.Ended(s, StatusRuntimeError)
		case again:
			w.close() // its old state file is untouched
		default:
			remove(s, nil)
			w.close()
		}
	}()
	// From the start the file says what a live container holds: its
	// --root, its image (for rmi's "in use") and its name.
	w.state, err = publish(statePath(s.ID), func(f *os.File) error {
		w.state = f
		return w.writeState(s)
	}, place)
	trace.Step("5.2", "the book's config.json, as records, locked by the container's owner while it lives", err, "write %s", statePath(s.ID))
	if err != nil {
		return nil, fmt.Errorf("create container state: %w", err)
	}
	if w.RunDir != "" {
		if err := os.MkdirAll(w.RunDir, 0o700); err != nil {
			return nil, fmt.Errorf("create container run files: %w", err)
		}
		if err := os.Mkdir(w.RunPath("merged"), 0o755); err != nil && !os.IsExist(err) {
			return nil, fmt.Errorf("create container run files: %w", err)
		}
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
		return w, w.saveDurable(s) // a detached one on the host's files: its log and state
	}
	if again {
		// overlayfs leaves its work directory unusable for a new mount
		// (a volatile one marks it): start it afresh. upper is the
		// container's files, kept.
		if err := os.RemoveAll(w.Path("work")); err != nil {
			return nil, fmt.Errorf("container layer: %w", err)
		}
	}
	for _, sub := range []string{"upper", "work"} {
		if err := os.Mkdir(w.Path(sub), 0o755); err != nil && !(again && os.IsExist(err)) {
			return nil, fmt.Errorf("create container layer: %w", err)
		}
	}
	if !s.Detached {
		return w, nil // its layer goes with the run: nothing to restore
	}
	return w, w.saveDurable(s)
}

// restoreAfterReboot puts back the detached containers a reboot took out
// of RuntimeDir: /run is a tmpfs a reboot clears, but their layers, logs
// and states are on disk (saveDurable). A container directory with no
// state file in RuntimeDir can only be from before a reboot (a state file
// is made before the directory and removed after it); each comes back
// exited, as docker shows them: with its own status if it had ended, else
// 255 (the reboot ended it). What is not a detached container's is left to
// scanContainers, which removes it. locked says the caller holds the
// containers lock.
func restoreAfterReboot(root string, locked bool) {
	layers, err := os.ReadDir(containersDir(root))
	if err != nil {
		return
	}
	var lost []os.DirEntry
	for _, e := range layers {
		if _, err := os.Lstat(statePath(e.Name())); e.IsDir() && os.IsNotExist(err) {
			lost = append(lost, e)
		}
	}
	if len(lost) == 0 {
		return
	}
	if !locked {
		unlock, err := lockContainers()
		if err != nil {
			return
		}
		defer unlock()
	}
	for _, e := range lost {
		if _, err := os.Lstat(statePath(e.Name())); err == nil {
			continue // put back meanwhile
		}
		s, _ := readState(LayerPath(root, e.Name(), durableState))
		if s == nil || !s.Detached || s.ID != e.Name() || s.Root != root {
			continue // the next scan removes it
		}
		if !s.Exited {
			s.Exited, s.ExitCode, s.FinishedAt = true, 255, time.Now()
		}
		s.Pid, s.PidStart, s.IPAddress = 0, 0, ""
		data, err := s.encode()
		if err != nil {
			continue
		}
		write := func(data []byte) func(*os.File) error {
			return func(f *os.File) error { _, err := f.Write(data); return err }
		}
		f, err := publish(statePath(s.ID), write(data), os.Link)
		if err != nil {
			continue
		}
		f.Close()
		if err := os.MkdirAll(filepath.Dir(nameFile(root, s.Name)), 0o700); err == nil {
			if f, err := publish(nameFile(root, s.Name), write([]byte(s.ID)), os.Link); err == nil {
				f.Close()
			}
		}
		log.Infof("restored container %s (%s), kept on disk across a reboot", s.Name, s.ID)
	}
}

// startable returns the state of the exited detached container id, which
// is about to run again. The caller holds the containers lock.
func startable(id string) (*State, error) {
	s, held := readState(statePath(id))
	if held || s == nil || !s.Detached {
		return nil, fmt.Errorf("container %s cannot start: it is running or not a detached one", id)
	}
	return s, nil
}

// scanContainers returns the live containers (of every root) and removes
// the directories of the others: their lock is free, so their mydocker is
// gone (killed with SIGKILL, say) and the container died with it. A layer
// under root with no runtime directory at all is from before a reboot.
// The caller holds the containers lock. With states false it returns no
// states, and reads none that a live mydocker holds: what every new
// container pays for each one running beside it is a lock test, not the
// reading of its state.
func scanContainers(root string, states bool) ([]*State, error) {
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
		if !states && lockHeldOn(path) {
			alive[e.Name()] = true
			continue
		}
		// A state file is whole and locked from the moment it is there
		// (publish): unlocked, it belongs to no live mydocker.
		s, held := readState(path)
		if s == nil && !held {
			if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
				continue // removed by its owner this very moment
			}
		}
		if held || s != nil && s.Detached {
			// A detached container stays, exited, until rm.
			if s != nil {
				live = append(live, s)
			}
			alive[e.Name()] = true
			continue
		}
		if s != nil && s.ID == e.Name() {
			removeStale(s)
		} else {
			removeStalePath(path)
		}
	}
	// What a maker killed in the middle of publish left, and names whose
	// owner is gone and whose container is gone or not a kept one.
	for _, dir := range []string{RuntimeDir, filepath.Join(RuntimeDir, ".names")} {
		files, _ := os.ReadDir(dir)
		for _, e := range files {
			made := strings.HasPrefix(e.Name(), ".new-")
			if !e.Type().IsRegular() || e.Name() == ".lock" || dir == RuntimeDir && !made {
				continue // state files: the loop above
			}
			path := filepath.Join(dir, e.Name())
			if lockHeldOn(path) {
				continue
			}
			if made {
				removeStalePath(path)
				continue
			}
			id, _ := os.ReadFile(path)
			if alive[string(id)] {
				continue // a detached container's, seen above
			}
			if s, _ := readState(statePath(string(id))); s == nil || !s.Detached {
				removeStalePath(path)
			}
		}
	}
	runs, _ := os.ReadDir(filepath.Join(RuntimeDir, ".work"))
	for _, e := range runs {
		if _, err := os.Lstat(statePath(e.Name())); os.IsNotExist(err) {
			removeStalePath(runDir(e.Name()))
		}
	}
	layers, _ := os.ReadDir(containersDir(root))
	for _, e := range layers {
		if e.IsDir() && !alive[e.Name()] {
			removeStalePath(filepath.Join(containersDir(root), e.Name()))
		}
	}
	return live, nil
}

// lockHeldOn reports whether a live process holds an flock on path. A
// bare descriptor: os.Open would also try the file in Go's poller (five
// more system calls, for a file that cannot be polled), and every new
// container asks this of each one beside it.
func lockHeldOn(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true // gone meanwhile: not ours to remove
	}
	defer unix.Close(fd)
	return unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB) != nil
}

// removeStale removes what the container s, whose owner was killed, left.
func removeStale(s *State) {
	log.Infof("removing what container %s left", s.ID)
	if err := remove(s, nil); err != nil {
		log.Warnf("%v", err)
	}
}

// removeStalePath removes a file or directory no container owns any more.
func removeStalePath(path string) {
	log.Infof("removing stale %s", path)
	if err := os.RemoveAll(path); err != nil {
		log.Warnf("remove stale %s: %v", path, err)
	}
}

// Path is a file or directory in the container's layer directory.
func (w *Workspace) Path(name string) string { return filepath.Join(w.Dir, name) }

// RunPath is a file or directory among the container's run files.
func (w *Workspace) RunPath(name string) string { return filepath.Join(w.RunDir, name) }

func runDir(id string) string { return filepath.Join(workDir(), id) }

// workDir holds every container's run files (runDir).
func workDir() string { return filepath.Join(RuntimeDir, ".work") }

// EtcFiles are the hostname, hosts and resolv.conf that init binds over
// the image's: the container's name and address (ip, "" without a
// network), and the host's resolver.
func EtcFiles(hostname, ip string) []EtcFile {
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		resolv = nil // no resolver on the host: an empty file
	}
	ownAddress := "127.0.1.1" // Debian's line for a host without one
	if ip != "" {
		ownAddress = ip
	}
	return []EtcFile{
		{"hostname", hostname + "\n"},
		{"hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" + ownAddress + "\t" + hostname + "\n"},
		{"resolv.conf", string(resolv)},
	}
}

// WriteEtcFiles writes files into the run files, where init binds them
// into the container's /etc (bind mounts, as docker does, so that they
// work on a read-only root too).
func (w *Workspace) WriteEtcFiles(files []EtcFile) error {
	for _, f := range files {
		if err := os.WriteFile(w.RunPath(f.Name), []byte(f.Content), 0o644); err != nil {
			return fmt.Errorf("write container /etc/%s: %w", f.Name, err)
		}
	}
	return nil
}

// close lets go of the workspace's locks (its files are remove's).
func (w *Workspace) close() {
	if w.name != nil {
		w.name.Close()
	}
	if w.state != nil {
		w.state.Close()
	}
}

// LayerPath is a file or directory in the container id's layer directory.
func LayerPath(root, id, name string) string { return filepath.Join(containersDir(root), id, name) }

// LogPath is a detached container's log: its stdout and stderr, in order.
func LogPath(root, id string) string { return LayerPath(root, id, logFile) }

const logFile = "container.log"

// WithImageUsers calls fn with the images that containers of root use (by
// image ID; by name for a container made before layers), each with the
// name of one of them (a running container, or a detached
// one kept until rm), after removing what containers whose mydocker is gone
// (killed with SIGKILL, say) left. fn runs under the containers lock: no
// container is made meanwhile (NewWorkspace), so an image fn takes away
// cannot become a new container's lower layer.
func WithImageUsers(root string, fn func(users map[string]string) error) error {
	unlock, err := lockContainers()
	if _, statErr := os.Stat(RuntimeDir); err != nil && errors.Is(statErr, fs.ErrNotExist) {
		// No container was ever made, and this user may not make the
		// directory (rmi as non-root, on a store of its own): no image
		// is in use.
		return fn(map[string]string{})
	}
	if err != nil {
		return err
	}
	defer unlock()
	restoreAfterReboot(root, true)
	live, err := scanContainers(root, true)
	if err != nil {
		return err
	}
	users := map[string]string{}
	for _, c := range live {
		key := c.ImageID
		if key == "" {
			key = c.Image // a container of a mydocker before layers: by name
		}
		if _, seen := users[key]; !seen && c.Root == root && key != "" && c.layer {
			users[key] = c.Name
		}
	}
	return fn(users)
}
