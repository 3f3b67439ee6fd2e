package image

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// What a registry client (mydocker-registry's pull) uses to bring an image
// into the store, the way load does: each layer it downloads is unpacked
// into tmp/ as it streams in (UnpackLayer), and the image is published,
// its layers checked against its config, under the store's lock
// (AddImage).

// Prepare removes, under the store's lock, what commands killed earlier
// left, before layers are brought in.
func (s *Store) Prepare() error { return s.beginChange() }

// HasLayers reports, for each layer of an image whose config lists
// diffIDs, whether the store has it already.
func (s *Store) HasLayers(diffIDs []string) []bool {
	has := make([]bool, len(diffIDs))
	for i, chain := range ChainIDs(diffIDs) {
		_, err := os.Stat(s.layerDir(chain))
		has[i] = err == nil
	}
	return has
}

// UnpackLayer unpacks a layer's tar (plain or gzip) into tmp/, computing
// its DiffID on the way.
func (s *Store) UnpackLayer(r io.Reader) (*StagedLayer, error) {
	return s.unpackLayer(r, false)
}

// AddImage publishes the image whose config is config: layers are its
// layers, bottom first, nil where the store has the layer; each is
// checked against the config's DiffID. names are given to it (taken from
// any image that had them, as a pull does), and digest, when set, is the
// digest of the manifest it came by from the repository repo
// (REPOSITORY@DIGEST); sources, when given, are where the registry has
// each layer's blob. It returns the image's ID. Staged layers are
// published or discarded, whatever happens.
func (s *Store) AddImage(config []byte, layers []*StagedLayer, names []Reference, repo Reference, digest string, sources []Source) (string, error) {
	discard := func() {
		for _, l := range layers {
			if l != nil && l.held != nil {
				l.Discard()
			}
		}
	}
	var cfg ImageConfig
	if err := json.Unmarshal(config, &cfg); err != nil {
		discard()
		return "", fmt.Errorf("image config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(layers) {
		discard()
		return "", fmt.Errorf("image config lists %d layers, the manifest %d", len(cfg.RootFS.DiffIDs), len(layers))
	}
	for i, l := range layers {
		if l != nil && l.DiffID != cfg.RootFS.DiffIDs[i] {
			discard()
			return "", fmt.Errorf("layer %d: its DiffID is %s, the image's config says %s: refused", i+1, l.DiffID, cfg.RootFS.DiffIDs[i])
		}
	}
	if digest != "" {
		names = append(names, Reference{Domain: repo.Domain, Path: repo.Path, Digest: digest})
	}
	id, _, err := s.finishMoving(layers, config, names, true)
	if err == nil && len(sources) == len(layers) {
		if unlock, lerr := s.lock(); lerr == nil {
			for i, src := range sources {
				s.addSource(cfg.RootFS.DiffIDs[i], src)
			}
			unlock()
		}
	}
	return id, err
}

// RawConfig is the image's config, its bytes as stored (its ID is their
// digest).
func (img *Image) RawConfig() []byte { return img.raw }

// LayerTarSize is the bytes of the layer chain's tar.
func (s *Store) LayerTarSize(chain string) int64 {
	_, n := s.layerSizes(chain)
	return n
}

// WriteLayerTar writes the layer chain's tar, byte for byte as it was
// unpacked (its digest is its DiffID).
func (s *Store) WriteLayerTar(w io.Writer, chain string) error { return s.writeLayerTar(w, chain) }
