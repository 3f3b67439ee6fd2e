package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"
)

// newConfig is the config of an image mydocker makes (import, commit):
// cfg over the layers diffIDs, with one more line of history.
func newConfig(base *ImageConfig, cfg Config, diffIDs []string, createdBy, comment string) ([]byte, error) {
	now := time.Now().UTC()
	c := ImageConfig{Architecture: runtime.GOARCH, OS: "linux"}
	if base != nil {
		c = *base
	}
	c.Created, c.Config = &now, cfg
	c.RootFS = RootFS{Type: "layers", DiffIDs: diffIDs}
	c.History = append(append([]History{}, c.History...), History{Created: &now, CreatedBy: createdBy, Comment: comment})
	return json.Marshal(c)
}

// digestOf is the sha256 digest of data, as the OCI spec writes one.
func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// addImage stores the image whose config is raw (its layers published
// already) and gives it names. A name another image has is taken from it
// when move is set (load, as docker's), else refused (import, commit).
// It returns the images that lost a name, by name. The caller holds the
// store's lock.
func (s *Store) addImage(raw []byte, names []Reference, move bool) (id string, moved map[string]string, err error) {
	var cfg ImageConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return "", nil, fmt.Errorf("image config: %w", err)
	}
	if cfg.RootFS.Type != "layers" {
		return "", nil, fmt.Errorf("image config: rootfs type %q, not \"layers\"", cfg.RootFS.Type)
	}
	if len(cfg.RootFS.DiffIDs) > MaxLayers {
		return "", nil, fmt.Errorf("image has %d layers: overlayfs stacks at most %d", len(cfg.RootFS.DiffIDs), MaxLayers)
	}
	for _, chain := range ChainIDs(cfg.RootFS.DiffIDs) {
		if _, err := os.Stat(s.layerDir(chain)); err != nil {
			return "", nil, fmt.Errorf("image config: layer %s is not in the store", shortID(chain))
		}
	}
	repos, err := s.repositories()
	if err != nil {
		return "", nil, err
	}
	id = digestOf(raw)
	moved = map[string]string{}
	for _, r := range names {
		if other, ok := repos[r.String()]; ok && other != id {
			if !move {
				return "", nil, fmt.Errorf("image %q already exists (remove it with 'mydocker rmi %s')", r.Familiar(), r.Familiar())
			}
			moved[r.Familiar()] = other
		}
	}
	// The config first, then the names that lead to it: a reader never
	// finds a name without its image.
	if err := os.MkdirAll(s.path("configs"), 0o700); err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(s.configPath(id)); err != nil {
		if err := writeFileAtomic(s.configPath(id), raw); err != nil {
			return "", nil, fmt.Errorf("store image config: %w", err)
		}
	}
	for _, r := range names {
		repos[r.String()] = id
	}
	if len(names) > 0 {
		if err := s.writeRepositories(repos); err != nil {
			return "", nil, err
		}
	}
	return id, moved, nil
}

// sortedKeys is m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
