package image

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// Source is a registry's blob of a layer, as a pull brought it
// (compressed): push asks for it first, and mounts it from its repository
// into another of the same registry instead of sending the layer again.
// docker keeps the same (its distribution metadata, by DiffID).
type Source struct {
	Registry   string `json:"registry"`   // localhost:5000, docker.io
	Repository string `json:"repository"` // team/app
	Digest     string `json:"digest"`     // the blob's
	MediaType  string `json:"mediaType"`
	Size       int64  `json:"size"`
}

// sourcesPath is where the sources of the layer whose DiffID is diffID
// are kept: ROOT/image/sources/HEX.json.
func (s *Store) sourcesPath(diffID string) string {
	return s.path("sources", strings.TrimPrefix(diffID, "sha256:")+".json")
}

// Sources are the registries' blobs known to hold the layer diffID.
func (s *Store) Sources(diffID string) []Source {
	var list []Source
	if data, err := os.ReadFile(s.sourcesPath(diffID)); err == nil {
		json.Unmarshal(data, &list)
	}
	return list
}

// addSource records that src holds the layer diffID. The caller holds the
// store's lock. A source is a hint (push checks it), so a failure to keep
// one is no failure of the pull.
func (s *Store) addSource(diffID string, src Source) {
	list := s.Sources(diffID)
	for _, known := range list {
		if known == src {
			return
		}
	}
	data, err := json.Marshal(append(list, src))
	if err != nil || os.MkdirAll(s.path("sources"), 0o700) != nil {
		return
	}
	writeFileAtomic(s.sourcesPath(diffID), data)
}

// removeUnusedSources removes the sources of layers no image has. The
// caller holds the store's lock; used are the DiffIDs of every image.
func (s *Store) removeUnusedSources(used map[string]bool) {
	entries, _ := os.ReadDir(s.path("sources"))
	for _, e := range entries {
		if !used["sha256:"+strings.TrimSuffix(e.Name(), ".json")] {
			os.Remove(filepath.Join(s.path("sources"), e.Name()))
		}
	}
}
