package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
)

// Load reads an image archive and stores its images, as docker load does.
// It reads what docker save writes (docker up to 24: manifest.json and
// ID/layer.tar; docker 25 and later: an OCI layout and manifest.json side
// by side), what podman save writes, and OCI image layout tarballs
// (oci-layout, index.json, blobs/), with plain or gzip layers, the whole
// archive plain or gzip. It returns what docker prints, a line per image.
//
// The archive is read once, as a stream (standard input works): the
// layers come before the manifest that lists them in every writer's
// archives, so each layer is unpacked into tmp/ as it comes, its DiffID
// computed on the way, and only once the manifest is read are they checked
// against the configs and published, all together under the store's lock.
// From a file, the archive's headers are read first, so that layers the
// store has are skipped rather than unpacked again.
func (s *Store) Load(in *os.File, label string) (lines []string, err error) {
	if err := s.beginChange(); err != nil {
		return nil, err
	}
	a := &archive{json: map[string][]byte{}, links: map[string]string{}, layers: map[string]*StagedLayer{}, failed: map[string]error{}}
	defer a.discard()
	var total int64
	if fi, err := in.Stat(); err == nil && fi.Mode().IsRegular() {
		total = fi.Size()
		a.skip = s.layersToSkip(in)
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
	}
	r := s.cancellable(s.withProgress(in, "load "+label, total), total > 0)
	err = s.readArchive(r, a)
	s.endProgress(err == nil)
	if s.interrupted() {
		return nil, ErrInterrupted
	}
	if err != nil {
		return nil, err
	}
	images, err := a.images()
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		line, err := s.store(a, img)
		if err != nil {
			return lines, err
		}
		lines = append(lines, line...)
	}
	return lines, nil
}

// archive is what the stream brought: its JSON documents, its links
// (docker writes a layer twice as a link to the first), the layers
// unpacked, by their path in the archive, and why others could not be.
type archive struct {
	json   map[string][]byte
	links  map[string]string
	layers map[string]*StagedLayer
	failed map[string]error
	skip   map[string]bool // layers the store has: not unpacked
	kept   int64
}

func (a *archive) discard() {
	for _, l := range a.layers {
		if l != nil && l.held != nil {
			l.Discard()
		}
	}
}

// maxJSON bounds the documents kept in memory: configs and manifests are
// kilobytes.
const maxJSON = 64 << 20

// readArchive reads the archive r: documents kept, layers unpacked.
func (s *Store) readArchive(r io.Reader, a *archive) error {
	plain, err := decompressed(r)
	if err != nil {
		return fmt.Errorf("not an image archive: %w", err)
	}
	tr := tar.NewReader(plain)
	entries := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not an image archive, or a truncated one: %w", err)
		}
		entries++
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			a.links[name] = path.Join(path.Dir(name), hdr.Linkname)
			continue
		case tar.TypeLink:
			a.links[name] = path.Clean(hdr.Linkname)
			continue
		case tar.TypeReg, tar.TypeRegA:
		default:
			continue
		}
		if a.skip[name] {
			continue
		}
		br := bufio.NewReaderSize(tr, 64<<10)
		head, _ := br.Peek(1024)
		switch {
		case len(head) > 0 && (head[0] == '{' || head[0] == '[') && hdr.Size <= 4<<20:
			data, err := io.ReadAll(br)
			if err != nil {
				return fmt.Errorf("not an image archive, or a truncated one: %s: %w", name, err)
			}
			if a.kept += int64(len(data)); a.kept > maxJSON {
				return errors.New("not an image archive: too many documents")
			}
			a.json[name] = data
		case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b, len(head) == 1024:
			// A layer (a tar, or a gzip one), or another blob: which,
			// the manifest says at the end.
			// The blob's digest: a plain tar's is its DiffID, which
			// unpacking computes; a compressed one's is computed here.
			var blob *hashCounter
			var in io.Reader = br
			if head[0] == 0x1f {
				blob = newHashCounter()
				in = io.TeeReader(br, blob)
			}
			l, err := s.unpackLayer(in, false)
			if err == nil {
				// Drain what the layer's tar did not cover.
				_, err = io.Copy(io.Discard, in)
			}
			if err == nil {
				digest := l.DiffID
				if blob != nil {
					digest = blob.digest()
				}
				if want, ok := strings.CutPrefix(name, "blobs/sha256/"); ok && "sha256:"+want != digest {
					err = fmt.Errorf("blob %s: its content's digest is %s: the archive is corrupt", name, digest)
				}
			}
			if err != nil {
				if l != nil {
					l.Discard()
				}
				if s.interrupted() {
					return ErrInterrupted
				}
				a.failed[name] = err
				continue
			}
			a.layers[name] = l
		}
	}
	if entries == 0 {
		return errors.New("not an image archive: it is empty")
	}
	return nil
}

// loadedImage is one image an archive holds: its config, its layers by
// path in the archive (bottom first), its names.
type loadedImage struct {
	config []byte
	layers []string
	names  []Reference
}

// images lists the images of the archive, from docker's manifest.json, or
// else from an OCI layout's index.json.
func (a *archive) images() ([]loadedImage, error) {
	if data, ok := a.json["manifest.json"]; ok {
		var manifest []archiveManifest
		if err := json.Unmarshal(data, &manifest); err != nil {
			return nil, fmt.Errorf("manifest.json: %w", err)
		}
		var out []loadedImage
		for _, m := range manifest {
			config, err := a.blob(m.Config)
			if err != nil {
				return nil, err
			}
			img := loadedImage{config: config, layers: m.Layers}
			for _, tag := range m.RepoTags {
				r, err := ParseReference(tag)
				if err != nil {
					return nil, fmt.Errorf("manifest.json: %w", err)
				}
				img.names = append(img.names, r)
			}
			out = append(out, img)
		}
		return out, nil
	}
	if data, ok := a.json["index.json"]; ok {
		if _, ok := a.json["oci-layout"]; !ok {
			return nil, errors.New("not an image archive: index.json without oci-layout")
		}
		var index Index
		if err := json.Unmarshal(data, &index); err != nil {
			return nil, fmt.Errorf("index.json: %w", err)
		}
		return a.ociImages(index, nil, 0)
	}
	return nil, errors.New("not an image archive: no manifest.json and no index.json (import a root filesystem tarball with 'mydocker import')")
}

// ociImages follows an index to its manifests: nested indexes (a
// multi-platform image) to the host's platform.
func (a *archive) ociImages(index Index, names []Reference, depth int) ([]loadedImage, error) {
	if depth > 4 {
		return nil, errors.New("index.json: indexes nested too deep")
	}
	var out []loadedImage
	for _, d := range index.Manifests {
		refs := names
		if name := d.Annotations[annotationImageName]; name != "" {
			if r, err := ParseReference(name); err == nil {
				refs = append(refs, r)
			}
		} else if tag := d.Annotations[annotationRefName]; tag != "" {
			if r, err := ParseReference(tag); err == nil && strings.ContainsAny(tag, ":/") {
				refs = append(refs, r)
			}
		}
		data, err := a.blob(blobPath(d.Digest))
		if err != nil {
			return nil, err
		}
		switch d.MediaType {
		case mediaTypeOCIIndex, mediaTypeDockerList:
			var nested Index
			if err := json.Unmarshal(data, &nested); err != nil {
				return nil, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			var mine []Descriptor
			for _, m := range nested.Manifests {
				if m.Platform == nil || m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH {
					mine = append(mine, m)
				}
			}
			if len(mine) == 0 {
				return nil, fmt.Errorf("index %s: no image for linux/%s", d.Digest, runtime.GOARCH)
			}
			more, err := a.ociImages(Index{Manifests: mine[:1]}, refs, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		case mediaTypeOCIManifest, mediaTypeDockerManifest, "":
			var m Manifest
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
			}
			config, err := a.blob(blobPath(m.Config.Digest))
			if err != nil {
				return nil, err
			}
			img := loadedImage{config: config, names: refs}
			for _, l := range m.Layers {
				if l.MediaType == mediaTypeOCILayerZstd {
					return nil, fmt.Errorf("layer %s is zstd-compressed: not supported (gzip and plain tar are)", l.Digest)
				}
				img.layers = append(img.layers, blobPath(l.Digest))
			}
			out = append(out, img)
		default:
			// Attestations and other artefacts: not images.
		}
	}
	return out, nil
}

func blobPath(digest string) string {
	return "blobs/" + strings.Replace(digest, ":", "/", 1)
}

// blob is the document at name in the archive, checked against its digest
// when its name is one (blobs/sha256/HEX, docker's HEX.json).
func (a *archive) blob(name string) ([]byte, error) {
	name = a.resolve(path.Clean(name))
	data, ok := a.json[name]
	if !ok {
		return nil, fmt.Errorf("not a whole image archive: %s is missing", name)
	}
	hex := strings.TrimSuffix(strings.TrimPrefix(name, "blobs/sha256/"), ".json")
	if isHex(hex, 64) && digestOf(data) != "sha256:"+hex {
		return nil, fmt.Errorf("%s: its content's digest is %s: the archive is corrupt", name, digestOf(data))
	}
	return data, nil
}

func (a *archive) resolve(name string) string {
	for i := 0; i < 10; i++ {
		target, ok := a.links[name]
		if !ok {
			break
		}
		name = target
	}
	return name
}

// store checks one image's layers against its config, and publishes them
// and the image under the store's lock.
func (s *Store) store(a *archive, img loadedImage) ([]string, error) {
	var cfg ImageConfig
	if err := json.Unmarshal(img.config, &cfg); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != len(img.layers) {
		return nil, fmt.Errorf("image config lists %d layers, the manifest %d: the archive is corrupt", len(diffIDs), len(img.layers))
	}
	if len(diffIDs) > MaxLayers {
		return nil, fmt.Errorf("image has %d layers: overlayfs stacks at most %d", len(diffIDs), MaxLayers)
	}
	chains := ChainIDs(diffIDs)
	staged := make([]*StagedLayer, len(diffIDs))
	for i, p := range img.layers {
		p = a.resolve(path.Clean(p))
		if err := a.failed[p]; err != nil {
			// What was read is checked, even if the store has the layer.
			return nil, fmt.Errorf("layer %d (%s): %w", i+1, p, err)
		}
		if _, err := os.Stat(s.layerDir(chains[i])); err == nil {
			continue // in the store already
		}
		l, ok := a.layers[p]
		switch {
		case ok && l.held == nil:
			return nil, fmt.Errorf("layer %d (%s) is used twice at different depths: not supported", i+1, p)
		case !ok && a.failed[p] != nil:
			return nil, fmt.Errorf("layer %d (%s): %w", i+1, p, a.failed[p])
		case !ok:
			return nil, fmt.Errorf("not a whole image archive: layer %d (%s) is missing", i+1, p)
		case l.DiffID != diffIDs[i]:
			return nil, fmt.Errorf("layer %d (%s): its DiffID is %s, the image's config says %s: the archive is corrupt", i+1, p, l.DiffID, diffIDs[i])
		}
		staged[i] = l
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if s.interrupted() {
		return nil, ErrInterrupted
	}
	for i, l := range staged {
		if l == nil {
			if _, err := os.Stat(s.layerDir(chains[i])); err != nil {
				s.removeUnusedLayers()
				return nil, fmt.Errorf("layer %d was removed meanwhile (rmi): load again", i+1)
			}
			continue
		}
		parent := ""
		if i > 0 {
			parent = chains[i-1]
		}
		if _, err := s.publishLayer(l, parent); err != nil {
			s.removeUnusedLayers()
			return nil, err
		}
		l.held = nil // published: not the archive's to discard
	}
	id, moved, err := s.addImage(img.config, img.names, true)
	if err != nil {
		s.removeUnusedLayers()
		return nil, err
	}
	var lines []string
	for _, name := range sortedKeys(moved) {
		lines = append(lines, fmt.Sprintf("The image %s already exists, renaming the old one with ID %s to empty string", name, moved[name]))
	}
	for _, r := range img.names {
		lines = append(lines, "Loaded image: "+r.Familiar())
	}
	if len(img.names) == 0 {
		lines = append(lines, "Loaded image ID: "+id)
	}
	return lines, nil
}

// layersToSkip reads the archive's headers and documents (seeking over
// the layers) and returns the paths of the layers the store has already.
func (s *Store) layersToSkip(f *os.File) map[string]bool {
	skip := map[string]bool{}
	head := make([]byte, 2)
	if n, _ := f.ReadAt(head, 0); n == 2 && head[0] == 0x1f && head[1] == 0x8b {
		return skip // compressed as a whole: no seeking
	}
	a := &archive{json: map[string][]byte{}, links: map[string]string{}}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		switch {
		case hdr.Typeflag == tar.TypeSymlink:
			a.links[name] = path.Join(path.Dir(name), hdr.Linkname)
		case hdr.Typeflag == tar.TypeLink:
			a.links[name] = path.Clean(hdr.Linkname)
		case (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA) && hdr.Size <= 4<<20:
			data := make([]byte, hdr.Size)
			if _, err := io.ReadFull(tr, data); err == nil && (bytes.HasPrefix(data, []byte("{")) || bytes.HasPrefix(data, []byte("["))) {
				a.json[name] = data
			}
		}
	}
	images, err := a.images()
	if err != nil {
		return skip // the real pass says what is wrong
	}
	for _, img := range images {
		var cfg ImageConfig
		if json.Unmarshal(img.config, &cfg) != nil || len(cfg.RootFS.DiffIDs) != len(img.layers) {
			continue
		}
		for i, chain := range ChainIDs(cfg.RootFS.DiffIDs) {
			if _, err := os.Stat(s.layerDir(chain)); err == nil {
				skip[a.resolve(path.Clean(img.layers[i]))] = true
			}
		}
	}
	return skip
}
