package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Import makes a one-layer image of the root filesystem tarball at
// tarball (plain or gzip; "-" is standard input, as for docker import -),
// named ref. cfg is import --change's. It is all or nothing: the layer is
// unpacked into a held directory of tmp/ and made visible, with the
// image's config and name, only when every entry has been checked and
// written.
//
// Hostile entries are refused, not skipped: absolute names, names with a
// ".." component, hard links whose target leaves the layer; a symbolic
// link is followed inside the layer, never out of it (resolveIn).
func (s *Store) Import(tarball, ref string, cfg Config) (id string, err error) {
	r, err := s.CheckNewName(ref)
	if err != nil {
		return "", err
	}
	f := os.Stdin
	if tarball != "-" {
		if f, err = os.Open(tarball); err != nil {
			return "", fmt.Errorf("import: %w", err)
		}
		defer f.Close()
	} else {
		tarball = "standard input"
	}
	var total int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		total = fi.Size()
	}
	if err := s.beginChange(); err != nil {
		return "", err
	}
	in := s.cancellable(s.withProgress(f, "import "+r.Familiar(), total), total > 0)
	layer, err := s.unpackLayer(in, true)
	s.endProgress(err == nil)
	if s.interrupted() {
		if layer != nil {
			layer.Discard()
		}
		return "", ErrInterrupted
	}
	if err != nil {
		return "", fmt.Errorf("import %s: %w", tarball, err)
	}
	if err := addEtcMountPoints(layer.dir + "/diff"); err != nil {
		layer.Discard()
		return "", err
	}
	raw, err := newConfig(nil, cfg, []string{layer.DiffID}, "mydocker import", "imported from "+tarball)
	if err != nil {
		layer.Discard()
		return "", err
	}
	id, _, err = s.finishMoving([]*StagedLayer{layer}, raw, []Reference{r}, false)
	return id, err
}

// beginChange removes, under the store's lock, what commands killed
// earlier left, before a new image is made.
func (s *Store) beginChange() error {
	if err := s.migrate(); err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return s.prune()
}

// finishMoving publishes the staged layers (bottom first) and the image
// whose config is raw, under the store's lock, unless a signal came
// meanwhile. It returns the image's ID and the names it took from others.
func (s *Store) finishMoving(layers []*StagedLayer, raw []byte, names []Reference, move bool) (string, map[string]string, error) {
	discard := func() {
		for _, l := range layers {
			if l != nil {
				l.Discard()
			}
		}
	}
	unlock, err := s.lock()
	if err != nil {
		discard()
		return "", nil, err
	}
	defer unlock()
	if s.interrupted() {
		discard()
		return "", nil, ErrInterrupted
	}
	parent := ""
	for i, l := range layers {
		if l == nil {
			// The store has it: still there, under the lock?
			if i >= len(chainsOf(raw)) {
				return "", nil, fmt.Errorf("image config: fewer layers than given")
			}
			parent = chainsOf(raw)[i]
			if _, err := os.Stat(s.layerDir(parent)); err != nil {
				s.removeUnusedLayers()
				return "", nil, fmt.Errorf("layer %d was removed meanwhile (rmi): try again", i+1)
			}
			continue
		}
		chain, err := s.publishLayer(l, parent)
		if err != nil {
			for _, rest := range layers[i:] {
				if rest != nil {
					rest.Discard()
				}
			}
			s.removeUnusedLayers()
			return "", nil, err
		}
		layers[i], parent = nil, chain
	}
	id, moved, err := s.addImage(raw, names, move)
	if err != nil {
		s.removeUnusedLayers()
		return "", nil, err
	}
	return id, moved, nil
}

// chainsOf is the ChainIDs of the image whose config is raw (none if it
// cannot be read: addImage says why).
func chainsOf(raw []byte) []string {
	var cfg ImageConfig
	if json.Unmarshal(raw, &cfg) != nil {
		return nil
	}
	return ChainIDs(cfg.RootFS.DiffIDs)
}

// CheckNewName checks that ref can name a new image: a valid reference
// with a tag, and not an image's name already.
func (s *Store) CheckNewName(ref string) (Reference, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return r, fmt.Errorf("invalid image name %q: %v", ref, strings.TrimPrefix(err.Error(), ErrBadReference.Error()+": "))
	}
	if r.Digest != "" {
		return r, fmt.Errorf("invalid image name %q: a new image is named with a tag, not a digest", ref)
	}
	if repos, err := s.repositories(); err == nil && repos[r.String()] != "" {
		return r, fmt.Errorf("image %q already exists (remove it with 'mydocker rmi %s')", ref, ref)
	}
	return r, nil
}

// withProgress is r, counted on s.Progress when that is set.
func (s *Store) withProgress(r io.Reader, label string, total int64) io.Reader {
	if s.Progress == nil {
		return r
	}
	s.current = &progress{r: r, w: s.Progress, label: label, total: total}
	return s.current
}

func (s *Store) endProgress(ok bool) {
	if s.current != nil {
		s.current.finish(ok)
		s.current = nil
	}
}

func (s *Store) interrupted() bool {
	select {
	case <-s.Cancel:
		return true
	default:
		return false
	}
}

// cancellable reads r until s.Cancel is closed. A regular file's reads
// never block: Cancel is looked at before each. Any other input is read by
// a goroutine of its own, so that a read blocked on a quiet pipe (import -
// with nothing coming) does not keep the import from cleaning up.
func (s *Store) cancellable(r io.Reader, regular bool) io.Reader {
	if s.Cancel == nil {
		return r
	}
	if regular {
		return checkedReader{r, s.Cancel}
	}
	return cancellable(r, s.Cancel)
}

// checkedReader reads r until cancel is closed.
type checkedReader struct {
	r      io.Reader
	cancel <-chan struct{}
}

func (c checkedReader) Read(p []byte) (int, error) {
	select {
	case <-c.cancel:
		return 0, ErrInterrupted
	default:
		return c.r.Read(p)
	}
}

func cancellable(r io.Reader, cancel <-chan struct{}) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, r)
		pw.CloseWithError(err)
	}()
	go func() {
		<-cancel
		pr.CloseWithError(ErrInterrupted)
	}()
	return pr
}

// archiveNames notes the entries that tell an image archive (docker save,
// an OCI layout) from a root filesystem, which import would otherwise
// take as one: an "image" of manifest.json and layer tarballs.
type archiveNames struct{ manifest, ociLayout, layerTar, blobs bool }

func (a *archiveNames) note(name string) {
	switch dir, base := path.Split(name); {
	case name == "manifest.json":
		a.manifest = true
	case name == "oci-layout":
		a.ociLayout = true
	case strings.HasPrefix(name, "blobs/sha256/"):
		a.blobs = true
	case base == "layer.tar" && len(dir) == 65:
		a.layerTar = true
	}
}

func (a *archiveNames) imageArchive() string {
	switch {
	case a.ociLayout && a.blobs:
		return "an OCI image layout"
	case a.manifest && (a.layerTar || a.blobs):
		return "docker save"
	}
	return ""
}

// addEtcMountPoints makes /etc/hostname, /etc/hosts and /etc/resolv.conf
// (empty) where the image has none, as docker's images have them: each run
// binds its own over them, and a missing one would be made in every
// container's layer, copying /etc up, and deleted again at its end.
func addEtcMountPoints(rootfs string) error {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	if fi, err := root.Lstat("etc"); errors.Is(err, fs.ErrNotExist) {
		if err := root.Mkdir("etc", 0o755); err != nil {
			return fmt.Errorf("image /etc: %w", err)
		}
	} else if err != nil || !fi.IsDir() {
		return nil // not a plain directory: left to run, as it is
	}
	for _, name := range []string{"hostname", "hosts", "resolv.conf"} {
		if _, err := root.Lstat("etc/" + name); !errors.Is(err, fs.ErrNotExist) {
			continue // there already (a link too: run resolves it in the root)
		}
		f, err := root.OpenFile("etc/"+name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("image /etc/%s: %w", name, err)
		}
		f.Close()
	}
	return nil
}
