package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Save writes the images refs as one tar that docker load and podman load
// both take, as docker 25 writes it: an OCI image layout (oci-layout,
// index.json, blobs/sha256/...) and docker's manifest.json beside it,
// naming the same blobs. Each layer is written once, however many of the
// images share it, byte for byte the tar it was unpacked from (tar-split),
// so that its digest is still the DiffID the config lists.
func (s *Store) Save(w io.Writer, refs []string) error {
	var images []*Image
	var names [][]Reference
	for _, ref := range refs {
		img, err := s.Resolve(ref)
		if err != nil {
			return err
		}
		images = append(images, img)
		// A name saves that name; an ID saves every name of the image.
		var these []Reference
		if r, err := ParseReference(ref); err == nil && r.Digest == "" && contains(img.Names, r.String()) {
			these = []Reference{r}
		} else {
			for _, n := range img.Names {
				if r, err := ParseReference(n); err == nil {
					these = append(these, r)
				}
			}
		}
		names = append(names, these)
	}
	tw := tar.NewWriter(w)
	now := time.Unix(0, 0)
	written := map[string]bool{}
	file := func(name string, data []byte) error {
		if written[name] {
			return nil
		}
		written[name] = true
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/", Mode: 0o755, ModTime: now, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/sha256/", Mode: 0o755, ModTime: now, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	var index Index
	index.SchemaVersion, index.MediaType = 2, mediaTypeOCIIndex
	var manifest []archiveManifest
	for i, img := range images {
		m := Manifest{SchemaVersion: 2, MediaType: mediaTypeOCIManifest,
			Config: Descriptor{MediaType: mediaTypeOCIConfig, Digest: img.ID, Size: int64(len(img.raw))}}
		entry := archiveManifest{Config: blobPath(img.ID)}
		for j, chain := range img.Layers {
			diffID := img.DiffIDs[j]
			_, tarSize := s.layerSizes(chain)
			m.Layers = append(m.Layers, Descriptor{MediaType: mediaTypeOCILayer, Digest: diffID, Size: tarSize})
			entry.Layers = append(entry.Layers, blobPath(diffID))
			if written[blobPath(diffID)] {
				continue
			}
			written[blobPath(diffID)] = true
			if err := tw.WriteHeader(&tar.Header{Name: blobPath(diffID), Mode: 0o644, Size: tarSize, ModTime: now, Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			sum := newHashCounter()
			if err := s.writeLayerTar(io.MultiWriter(tw, sum), chain); err != nil {
				return err
			}
			if sum.n != tarSize || sum.digest() != diffID {
				return fmt.Errorf("layer %s: written again, its digest is %s, not %s: the store is damaged", shortID(chain), sum.digest(), diffID)
			}
		}
		if err := file(blobPath(img.ID), img.raw); err != nil {
			return err
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		digest := digestOf(data)
		if err := file(blobPath(digest), data); err != nil {
			return err
		}
		desc := Descriptor{MediaType: mediaTypeOCIManifest, Digest: digest, Size: int64(len(data))}
		if len(names[i]) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		for _, r := range names[i] {
			d := desc
			d.Annotations = map[string]string{annotationImageName: r.String(), annotationRefName: r.Tag}
			index.Manifests = append(index.Manifests, d)
			entry.RepoTags = append(entry.RepoTags, r.Familiar())
		}
		manifest = append(manifest, entry)
	}
	for _, doc := range []struct {
		name string
		v    any
	}{{"index.json", index}, {"manifest.json", manifest}, {"oci-layout", map[string]string{"imageLayoutVersion": "1.0.0"}}} {
		data, err := json.Marshal(doc.v)
		if err != nil {
			return err
		}
		if err := file(doc.name, data); err != nil {
			return err
		}
	}
	return tw.Close()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
