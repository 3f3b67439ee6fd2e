// Package image is mydocker's image store, the book's chapter 4: an image is
// a plain root filesystem unpacked from a tarball (`docker export`, or the
// busybox image `make image` builds) into ROOT/images/NAME/rootfs, used
// read-only as the lower layer of each container's overlay.
package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultRoot is where images and container layers live unless --root or
// MYDOCKER_ROOT says otherwise.
const DefaultRoot = "/var/lib/mydocker"

// Store is the image directory under a mydocker root.
type Store struct {
	dir string // ROOT/images
	// Progress, when set (a terminal), is where import and commit say how
	// far they are.
	Progress io.Writer
	// Cancel, when set, is closed to stop an import or commit half-way
	// (the user's Ctrl-C): it then fails with ErrInterrupted, and leaves
	// nothing.
	Cancel  <-chan struct{}
	current *progress
}

// ErrInterrupted is an import or commit stopped by Cancel.
var ErrInterrupted = errors.New("interrupted: nothing was imported")

// Image is one imported image.
type Image struct {
	Name    string
	Rootfs  string // the unpacked root filesystem
	Size    int64  // bytes, as unpacked
	Created time.Time
	Config  Config // import --change
}

// ErrNotFound is returned for a name that is not in the store.
var ErrNotFound = errors.New("no such image")

// ValidName reports whether name can name an image: docker's rule for a
// repository name component, [a-z0-9][a-z0-9_.-]* up to 128 characters,
// without slashes, so that an image name can never be mistaken for a path.
// (Written out rather than as a regexp: run asks it for every command, and
// compiling a regexp at start-up costs half a millisecond in each process.)
func ValidName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		lowerOrDigit := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !lowerOrDigit && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// StoreName is the name under which the store keeps the image docker's
// reference ref means, when it is one of the store's: docker writes one
// image as busybox, busybox:latest, library/busybox or
// docker.io/library/busybox:latest (Docker Hub's official images, the
// tag latest). Other references (another tag, registry or path, a digest)
// name no image of this store: ok is false.
func StoreName(ref string) (name string, ok bool) {
	if strings.Contains(ref, "@") {
		return "", false // a digest
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		if ref[i+1:] != "latest" {
			return "", false
		}
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) > 1 && (parts[0] == "docker.io" || parts[0] == "index.docker.io") {
		parts = parts[1:]
	}
	if len(parts) == 2 && parts[0] == "library" {
		parts = parts[1:]
	}
	if len(parts) != 1 || !ValidName(parts[0]) {
		return "", false
	}
	return parts[0], true
}

// NewStore opens the store under root (it need not exist yet).
func NewStore(root string) *Store { return &Store{dir: filepath.Join(root, "images")} }

func (s *Store) imageDir(name string) string { return filepath.Join(s.dir, name) }

// Exists reports whether name is an imported image. It is cheap (one stat),
// because run asks it for every COMMAND that could be an image name.
func (s *Store) Exists(ref string) bool {
	name, ok := StoreName(ref)
	if !ok {
		return false
	}
	fi, err := os.Stat(filepath.Join(s.imageDir(name), "rootfs"))
	return err == nil && fi.IsDir()
}

// Get returns the image called name.
func (s *Store) Get(ref string) (*Image, error) {
	if !s.Exists(ref) {
		return nil, fmt.Errorf("image %q: %w", ref, ErrNotFound)
	}
	name, _ := StoreName(ref)
	dir := s.imageDir(name)
	img := &Image{Name: name, Rootfs: filepath.Join(dir, "rootfs")}
	if data, err := os.ReadFile(filepath.Join(dir, "size")); err == nil {
		img.Size, _ = strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	}
	if fi, err := os.Stat(filepath.Join(dir, "size")); err == nil {
		img.Created = fi.ModTime()
	}
	cfg, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	img.Config = cfg
	return img, nil
}

// List returns every image, by name.
func (s *Store) List() ([]*Image, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var images []*Image
	for _, e := range entries {
		if img, err := s.Get(e.Name()); err == nil {
			images = append(images, img)
		}
	}
	sort.Slice(images, func(i, j int) bool { return images[i].Name < images[j].Name })
	return images, nil
}

// Remove deletes the image called name. The caller checks that no running
// container uses it.
func (s *Store) Remove(ref string) error {
	if !s.Exists(ref) {
		return fmt.Errorf("image %q: %w", ref, ErrNotFound)
	}
	name, _ := StoreName(ref)
	// Rename first: a half-removed image must never look like an image.
	// The trash is held until it is gone: an rmi killed half-way leaves
	// it to the next import or rmi (removeDeadStaging).
	s.removeDeadStaging()
	trash, held, err := s.newStaging("remove", name)
	if err != nil {
		return fmt.Errorf("remove image %q: %w", name, err)
	}
	defer held.Close()
	if err := os.Rename(s.imageDir(name), filepath.Join(trash, name)); err != nil {
		os.Remove(trash)
		return fmt.Errorf("remove image %q: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove image %q: %w", name, err)
	}
	return nil
}
