// Package image is mydocker's image store, the book's chapter 4 carried to
// where docker keeps images: an image is its config (JSON, the OCI image
// config; its ID is the sha256 of those bytes) and an ordered list of
// layers; each layer is unpacked once, under its ChainID, and shared by
// every image and container above it. A container's root is an overlay of
// its image's layers and its own upper directory (docs/images.md).
//
// On disk, under ROOT/image:
//
//	repositories.json        names: {"docker.io/library/busybox:latest": "sha256:..."}
//	configs/HEX              each image's config, as its bytes were (ID = sha256:HEX)
//	layers/HEX/diff/         a layer's files, whiteouts as overlayfs keeps them (HEX: its ChainID)
//	layers/HEX/diff-id       the sha256 of its tar, as the config lists it
//	layers/HEX/parent        the ChainID of the layer below (none for the bottom one)
//	layers/HEX/link          its short name in l/
//	layers/HEX/size          bytes of its files; tar-size, bytes of its tar
//	layers/HEX/tar-split.gz  the tar's headers, to write it again byte for byte (save)
//	l/NAME -> ../layers/HEX/diff  short names, so that 500 layers fit in one mount option
//	sources/DIFFID.json      the registries' blobs a pull brought each layer from (push mounts them)
//	tmp/                     layers being unpacked (held with flock while they are)
//	.lock                    held while the store changes
//
// Readers (run, images) take no lock: every change is made visible by one
// rename, in an order that never shows a name without its config nor a
// config without its layers.
package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultRoot is where images and container layers live unless --root or
// MYDOCKER_ROOT says otherwise.
const DefaultRoot = "/var/lib/mydocker"

// MaxLayers is overlayfs's limit on lower layers (OVL_MAX_STACK).
const MaxLayers = 500

// Store is the image store under a mydocker root.
type Store struct {
	root string // ROOT
	dir  string // ROOT/image
	// Progress, when set (a terminal), is where import, load and commit
	// say how far they are.
	Progress io.Writer
	// Cancel, when set, is closed to stop an import, load or commit
	// half-way (the user's Ctrl-C): it then fails with ErrInterrupted,
	// and leaves nothing.
	Cancel  <-chan struct{}
	current *progress
}

// ErrInterrupted is an import, load or commit stopped by Cancel.
var ErrInterrupted = errors.New("interrupted: nothing was imported")

// ErrNotFound is returned for a name or ID that is not in the store.
var ErrNotFound = errors.New("no such image")

// Image is one image of the store.
type Image struct {
	ID      string   // sha256:HEX of its config
	Names   []string // its references, as the store keeps them (docker.io/library/busybox:latest)
	Digests []string // the manifests it came by: docker.io/library/busybox@sha256:... (a pull)
	Name    string   // how it was asked for (familiar), or its first name
	Created time.Time
	Size    int64 // bytes of its layers' files (List, WithSize)
	Config  Config
	Layers  []string // ChainIDs, bottom first
	DiffIDs []string
	raw     []byte // the config's bytes
	parsed  ImageConfig
}

// Architecture is the one the image's config names.
func (img *Image) Architecture() string { return img.parsed.Architecture }

// ShortID is the ID as docker shows it: 12 hexadecimal digits.
func (img *Image) ShortID() string { return shortID(img.ID) }

func shortID(id string) string {
	hex := strings.TrimPrefix(id, "sha256:")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// NewStore opens the store under root (it need not exist yet).
func NewStore(root string) *Store {
	return &Store{root: root, dir: filepath.Join(root, "image")}
}

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}
func (s *Store) configPath(id string) string {
	return s.path("configs", strings.TrimPrefix(id, "sha256:"))
}
func (s *Store) layerDir(chain string) string {
	return s.path("layers", strings.TrimPrefix(chain, "sha256:"))
}

// LinkDir is where the layers' short names are: a container's overlay is
// mounted from there, lowerdir=NAME:NAME:... (container/rootfs.go).
func (s *Store) LinkDir() string { return s.path("l") }

// lock takes the store's lock, which every change holds: a change is
// made whole before another starts, and the removal of unused layers
// never meets a layer an import is about to use.
func (s *Store) lock() (unlock func(), err error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create image store: %w", err)
	}
	f, err := os.OpenFile(s.path(".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("lock image store: %w", err)
	}
	return func() { f.Close() }, nil
}

// repositories reads the names: reference -> image ID.
func (s *Store) repositories() (map[string]string, error) {
	repos := map[string]string{}
	data, err := os.ReadFile(s.path("repositories.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return repos, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &repos)
	}
	if err != nil {
		return nil, fmt.Errorf("image names (%s): %w", s.path("repositories.json"), err)
	}
	return repos, nil
}

// writeRepositories replaces the names, in one rename. The caller holds
// the lock.
func (s *Store) writeRepositories(repos map[string]string) error {
	data, err := json.MarshalIndent(repos, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path("repositories.json"), append(data, '\n'))
}

// writeFileAtomic writes path whole or not at all: a reader never sees
// half of it, a SIGKILL leaves the old one.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Resolve finds the image ref names: a reference (busybox, busybox:1.36,
// localhost:5000/app@sha256:...), a full image ID (sha256:HEX or HEX) or
// an unambiguous prefix of one, as docker's commands take them.
func (s *Store) Resolve(ref string) (*Image, error) {
	if err := s.migrate(); err != nil {
		return nil, err
	}
	repos, err := s.repositories()
	if err != nil {
		return nil, err
	}
	id, name := "", ""
	if r, err := ParseReference(ref); err == nil {
		if found, ok := repos[r.String()]; ok {
			id, name = found, r.Familiar()
		} else if r.Digest != "" && r.Tag == "" {
			// NAME@sha256:...: the image whose manifest that is (a
			// pull's), or whose config (docker accepts both).
			id = s.idOfDigest(r, repos)
		}
	}
	if id == "" {
		id = s.idOfPrefix(ref)
	}
	if id == "" {
		return nil, fmt.Errorf("image %q: %w", ref, ErrNotFound)
	}
	img, err := s.get(id, repos)
	if err != nil {
		return nil, err
	}
	if name != "" {
		img.Name = name
	}
	return img, nil
}

// idOfDigest is the image whose config digest is r's, if one of r's name
// is known.
func (s *Store) idOfDigest(r Reference, repos map[string]string) string {
	if _, err := os.Stat(s.configPath(r.Digest)); err != nil {
		return ""
	}
	for name, id := range repos {
		if id == r.Digest && strings.HasPrefix(name, r.Name()+":") {
			return id
		}
	}
	return ""
}

// idOfPrefix is the image whose ID is id or starts with it (at least one
// hexadecimal digit), if exactly one does.
func (s *Store) idOfPrefix(id string) string {
	hex := strings.TrimPrefix(id, "sha256:")
	if hex == "" || strings.Trim(hex, "0123456789abcdef") != "" || len(hex) > 64 {
		return ""
	}
	if len(hex) == 64 {
		if _, err := os.Stat(s.configPath(hex)); err == nil {
			return "sha256:" + hex
		}
		return ""
	}
	entries, _ := os.ReadDir(s.path("configs"))
	found := ""
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), hex) && isHex(e.Name(), 64) {
			if found != "" {
				return "" // ambiguous: docker says no such image too
			}
			found = "sha256:" + e.Name()
		}
	}
	return found
}

// get reads the image id.
func (s *Store) get(id string, repos map[string]string) (*Image, error) {
	raw, err := os.ReadFile(s.configPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image %s: %w", shortID(id), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", shortID(id), err)
	}
	img := &Image{ID: id, raw: raw}
	if err := json.Unmarshal(raw, &img.parsed); err != nil {
		return nil, fmt.Errorf("image %s: config: %w", shortID(id), err)
	}
	img.Config = img.parsed.Config
	img.DiffIDs = img.parsed.RootFS.DiffIDs
	if img.parsed.Created != nil {
		img.Created = *img.parsed.Created
	}
	img.Layers = ChainIDs(img.DiffIDs)
	for name, other := range repos {
		switch {
		case other != id:
		case strings.Contains(name, "@"):
			img.Digests = append(img.Digests, name)
		default:
			img.Names = append(img.Names, name)
		}
	}
	sort.Strings(img.Names)
	sort.Strings(img.Digests)
	if len(img.Names) > 0 {
		img.Name = FamiliarString(img.Names[0])
	} else {
		img.Name = img.ShortID()
	}
	return img, nil
}

// WithSize fills in img.Size: the bytes of its layers' files (run, which
// needs none of it, reads no layer's size).
func (s *Store) WithSize(img *Image) *Image {
	img.Size = 0
	for _, chain := range img.Layers {
		size, _ := s.layerSizes(chain)
		img.Size += size
	}
	return img
}

// List returns every image, newest first, as docker lists them.
func (s *Store) List() ([]*Image, error) {
	if err := s.migrate(); err != nil {
		return nil, err
	}
	repos, err := s.repositories()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.path("configs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var images []*Image
	for _, e := range entries {
		if !isHex(e.Name(), 64) {
			continue
		}
		img, err := s.get("sha256:"+e.Name(), repos)
		if err != nil {
			return nil, err
		}
		images = append(images, s.WithSize(img))
	}
	sort.SliceStable(images, func(i, j int) bool { return images[i].Created.After(images[j].Created) })
	return images, nil
}

// ChainIDs are the layers' IDs in the store, from their DiffIDs (bottom
// first), as the OCI image spec defines them: a layer's ChainID names it
// together with every layer below it, so that one set of files is one
// layer whatever image it is in.
//
//	ChainID(L0) = DiffID(L0)
//	ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln))
func ChainIDs(diffIDs []string) []string {
	chains := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			chains[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(chains[i-1] + " " + d))
		chains[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return chains
}

// Lower is how a container mounts the image: from LinkDir, the layers'
// short names, top first, joined by ':' (overlayfs's lowerdir).
func (s *Store) Lower(img *Image) (string, error) {
	if len(img.Layers) == 0 {
		return "", fmt.Errorf("image %s has no layers: nothing to run", img.Name)
	}
	if len(img.Layers) > MaxLayers {
		return "", fmt.Errorf("image %s has %d layers: overlayfs stacks at most %d", img.Name, len(img.Layers), MaxLayers)
	}
	links := make([]string, 0, len(img.Layers))
	for i := len(img.Layers) - 1; i >= 0; i-- {
		link, err := os.ReadFile(filepath.Join(s.layerDir(img.Layers[i]), "link"))
		if err != nil {
			return "", fmt.Errorf("image %s: layer %s: %w", img.Name, shortID(img.Layers[i]), err)
		}
		links = append(links, strings.TrimSpace(string(link)))
	}
	return strings.Join(links, ":"), nil
}

// ConfigPath is the file whose presence says the image is still in the
// store: a container is made only while it is (container.NewWorkspace).
func (s *Store) ConfigPath(img *Image) string { return s.configPath(img.ID) }

// Tag gives the image ref the name target, taking it from any image that
// had it, as docker tag does.
func (s *Store) Tag(ref, target string) error {
	r, err := ParseReference(target)
	if err != nil {
		return err
	}
	if r.Digest != "" {
		return fmt.Errorf("tag %q: a new name takes a tag, not a digest", target)
	}
	img, err := s.Resolve(ref)
	if err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(s.configPath(img.ID)); err != nil {
		return fmt.Errorf("image %q: %w", ref, ErrNotFound) // removed meanwhile
	}
	repos, err := s.repositories()
	if err != nil {
		return err
	}
	repos[r.String()] = img.ID
	return s.writeRepositories(repos)
}

// Removal is what an rmi did: the names it took away, and the image it
// deleted with them ("" if the image had other names and stays).
type Removal struct {
	Untagged []string
	Deleted  string
}

// Remove is rmi of ref: by name, the name goes, and the image with it if
// it was its last; by ID, the image and all its names (docker's rule: an
// image with several names is removed by ID only with force, which
// mydocker has not). inUse says whether a container uses the image (then
// only a name that is not its last can go). Layers no other image uses go
// with the image.
func (s *Store) Remove(ref string, inUse func(id string) string) (*Removal, error) {
	img, err := s.Resolve(ref)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	repos, err := s.repositories()
	if err != nil {
		return nil, err
	}
	byName := ""
	if r, err := ParseReference(ref); err == nil && repos[r.String()] == img.ID {
		byName = r.String()
	}
	names := 0
	for name, id := range repos {
		if id == img.ID && !strings.Contains(name, "@") {
			names++
		}
	}
	removal := &Removal{}
	if byName != "" && names > 1 && !strings.Contains(byName, "@") {
		// One name of several: only the name goes.
		delete(repos, byName)
		removal.Untagged = []string{FamiliarString(byName)}
		return removal, s.writeRepositories(repos)
	}
	if byName == "" && names > 1 {
		return nil, fmt.Errorf("image %s has %d names (%s): remove them one by one", img.ShortID(), names, strings.Join(familiar(img.Names), ", "))
	}
	if user := inUse(img.ID); user != "" {
		return nil, fmt.Errorf("image %q is in use by container %s (rm it first)", ref, user)
	}
	for name, id := range repos {
		if id == img.ID {
			delete(repos, name)
			removal.Untagged = append(removal.Untagged, FamiliarString(name))
		}
	}
	sort.Strings(removal.Untagged)
	// Names first, then the config: what is left for a moment is a config
	// nobody names, never a name without its image.
	if err := s.writeRepositories(repos); err != nil {
		return nil, err
	}
	if err := os.Remove(s.configPath(img.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove image %s: %w", img.ShortID(), err)
	}
	removal.Deleted = img.ID
	return removal, s.removeUnusedLayers()
}

func familiar(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = FamiliarString(n)
	}
	return out
}

// removeUnusedLayers removes every layer no image's config lists, and
// short names whose layer is gone: what an rmi leaves, and what a load,
// commit or rmi killed half-way left. The caller holds the lock, so no
// import is between publishing a layer and writing the config that uses
// it.
func (s *Store) removeUnusedLayers() error {
	used := map[string]bool{}
	usedDiffIDs := map[string]bool{}
	configs, _ := os.ReadDir(s.path("configs"))
	for _, e := range configs {
		if !isHex(e.Name(), 64) {
			continue
		}
		raw, err := os.ReadFile(s.path("configs", e.Name()))
		var cfg ImageConfig
		if err == nil {
			err = json.Unmarshal(raw, &cfg)
		}
		if err != nil {
			return fmt.Errorf("image %s: config: %w", e.Name()[:12], err) // keep every layer
		}
		for _, chain := range ChainIDs(cfg.RootFS.DiffIDs) {
			used[strings.TrimPrefix(chain, "sha256:")] = true
		}
		for _, d := range cfg.RootFS.DiffIDs {
			usedDiffIDs[d] = true
		}
	}
	s.removeUnusedSources(usedDiffIDs)
	layers, _ := os.ReadDir(s.path("layers"))
	for _, e := range layers {
		if used[e.Name()] {
			continue
		}
		// Renamed out of layers/ first: a layer is there whole or not at
		// all, even if this removal is killed half-way.
		trash, held, err := s.newStaging("remove", true)
		if err != nil {
			return err
		}
		err = os.Rename(s.path("layers", e.Name()), filepath.Join(trash, e.Name()))
		if err == nil {
			err = removeAll(trash)
		}
		held.Close()
		if err != nil {
			return fmt.Errorf("remove layer %s: %w", e.Name()[:12], err)
		}
	}
	links, _ := os.ReadDir(s.LinkDir())
	for _, e := range links {
		if _, err := os.Stat(filepath.Join(s.LinkDir(), e.Name())); errors.Is(err, fs.ErrNotExist) {
			os.Remove(filepath.Join(s.LinkDir(), e.Name()))
		}
	}
	return nil
}

// removeAll removes a layer's tree, whose opaque directories and whiteouts
// RemoveAll handles like any other file.
func removeAll(path string) error { return os.RemoveAll(path) }

// newStaging makes a directory in tmp/ for a layer being unpacked ("layer")
// or removed ("remove"), held: made under a ".new-" name, locked, and only
// then renamed to the name removeDeadStaging looks at (a rename keeps the
// lock), all under the store's lock (locked says the caller holds it), so
// that a ".new-" directory the next holder of the lock sees is a dead
// maker's. Who removes it: its maker, on success (a rename into layers/)
// or failure; if its maker is killed, the next command that changes the
// store (removeDeadStaging).
func (s *Store) newStaging(kind string, locked bool) (string, *os.File, error) {
	if !locked {
		unlock, err := s.lock()
		if err != nil {
			return "", nil, err
		}
		defer unlock()
	}
	tmp := s.path("tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return "", nil, fmt.Errorf("staging directory: %w", err)
	}
	made, err := os.MkdirTemp(tmp, ".new-"+kind+"-")
	if err != nil {
		return "", nil, fmt.Errorf("staging directory: %w", err)
	}
	held, err := os.Open(made)
	if err == nil {
		err = unix.Flock(int(held.Fd()), unix.LOCK_EX)
	}
	staging := filepath.Join(tmp, strings.TrimPrefix(filepath.Base(made), ".new-"))
	if err == nil {
		err = os.Rename(made, staging)
	}
	if err != nil {
		if held != nil {
			held.Close()
		}
		os.RemoveAll(made)
		return "", nil, fmt.Errorf("staging directory: %w", err)
	}
	return staging, held, nil
}

// removeDeadStaging removes what imports, loads, commits and rmi's killed
// with SIGKILL left in tmp/: directories nobody holds, and ".new-" ones
// (killed in the instant before they held theirs: newStaging makes them
// under the lock the caller holds now).
func (s *Store) removeDeadStaging() {
	entries, _ := os.ReadDir(s.path("tmp"))
	for _, e := range entries {
		path := s.path("tmp", e.Name())
		if strings.HasPrefix(e.Name(), ".new-") {
			os.RemoveAll(path)
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			os.RemoveAll(path)
		}
		f.Close()
	}
}

// Prune is what every command that changes the store does first, under
// its lock: it removes what killed ones left (staging directories, layers
// and short names no image uses).
func (s *Store) prune() error {
	s.removeDeadStaging()
	return s.removeUnusedLayers()
}
