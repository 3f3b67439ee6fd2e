package image

import (
	"io"
	"strings"
)

// Commit makes the image ref of a container: its image base, and on top
// one new layer, the container's own upper directory (the overlay's upper
// layer) with its whiteouts, as docker commit does. The book's 4.4 tarred
// the merged mount into a new flat image; here the new image shares every
// layer of base, and only what the container changed is stored again.
// The upper directory is read, not the mount, so an exited container
// (whose overlay went with its mount namespace) can be committed too. cfg
// is the new image's config (base's, with commit --change applied). skip
// are paths (relative to /) that are not the container's own, such as the
// /etc files mydocker bind-mounts.
func (s *Store) Commit(base *Image, upper, ref string, cfg Config, skip []string) (string, error) {
	r, err := s.CheckNewName(ref)
	if err != nil {
		return "", err
	}
	if err := s.beginChange(); err != nil {
		return "", err
	}
	skipped := map[string]bool{}
	for _, p := range skip {
		skipped[strings.TrimPrefix(p, "/")] = true
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(layerTar(pw, upper, skipped)) }()
	// The pipe never goes quiet: layerTar writes until it is done.
	in := s.cancellable(s.withProgress(pr, "commit "+r.Familiar(), 0), true)
	layer, err := s.unpackLayer(in, false)
	s.endProgress(err == nil)
	pr.CloseWithError(io.ErrClosedPipe)
	if s.interrupted() {
		if layer != nil {
			layer.Discard()
		}
		return "", ErrInterrupted
	}
	if err != nil {
		return "", err
	}
	diffIDs := append(append([]string{}, base.DiffIDs...), layer.DiffID)
	parsed := base.parsed
	raw, err := newConfig(&parsed, cfg, diffIDs, "mydocker commit", "")
	if err != nil {
		layer.Discard()
		return "", err
	}
	// The base's layers are there: the container uses them, and rmi
	// keeps an image in use. Only the new one is published.
	unlock, err := s.lock()
	if err != nil {
		layer.Discard()
		return "", err
	}
	defer unlock()
	if s.interrupted() {
		layer.Discard()
		return "", ErrInterrupted
	}
	parent := ""
	if len(base.Layers) > 0 {
		parent = base.Layers[len(base.Layers)-1]
	}
	if _, err := s.publishLayer(layer, parent); err != nil {
		layer.Discard()
		return "", err
	}
	id, _, err := s.addImage(raw, []Reference{r}, false)
	if err != nil {
		s.removeUnusedLayers()
		return "", err
	}
	return id, nil
}
