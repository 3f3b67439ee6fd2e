package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/mydocker/mydocker/image"
)

// Push sends the image ref (a name of the store's, with its tag) to the
// registry its name says, as docker push does:
//
//  1. each layer is asked for first (HEAD): one the repository has is
//     skipped ("Layer already exists");
//  2. the others are sent as the store keeps them, each its tar written
//     again from the layer's files, byte for byte (its digest is its
//     DiffID: an OCI layer, uncompressed);
//  3. the config, then the manifest (an OCI manifest), under the tag.
func Push(ctx context.Context, store *image.Store, ref string, o Options) error {
	r, err := image.ParseReference(ref)
	if err != nil {
		return err
	}
	if r.Digest != "" {
		return fmt.Errorf("push %s: push a name with a tag (mydocker tag IMAGE NAME:TAG first)", ref)
	}
	img, err := store.Resolve(r.String())
	if err != nil {
		return fmt.Errorf("push %s: %w (mydocker tag IMAGE %s first)", r.Familiar(), err, r.Familiar())
	}
	nref, err := o.reference(r)
	if err != nil {
		return err
	}
	core, err := newStoreImage(store, img)
	if err != nil {
		return err
	}
	vimg, err := partial.CompressedToImage(core)
	if err != nil {
		return err
	}
	p := newProgress(o)
	p.line("The push refers to repository [%s]", r.Name())
	opts := remoteOptions(ctx, nil)
	// Top layer first, as docker lists them.
	for i := len(core.layers) - 1; i >= 0; i-- {
		p.set(core.layers[i].id(), "Preparing", false)
	}
	for i := len(core.layers) - 1; i >= 0; i-- {
		l := core.layers[i]
		if exists(nref.Context(), l.digest, opts) {
			p.set(l.id(), "Layer already exists", false)
			continue
		}
		if err := pushLayer(ctx, nref.Context(), l, opts, p); err != nil {
			return explain(r, fmt.Errorf("layer %s: %w", l.id(), err))
		}
		p.set(l.id(), "Pushed", false)
	}
	if err := remote.Write(nref, vimg, opts...); err != nil {
		return explain(r, err)
	}
	digest, _ := vimg.Digest()
	size, _ := vimg.Size()
	p.line("%s: digest: %s size: %d", r.Tag, digest, size)
	return nil
}

// exists asks the repository whether it has the blob (HEAD).
func exists(repo name.Repository, digest v1.Hash, opts []remote.Option) bool {
	l, err := remote.Layer(repo.Digest(digest.String()), opts...)
	if err != nil {
		return false
	}
	_, err = l.Size()
	return err == nil
}

// pushLayer sends one layer, its bytes counted on the progress line.
func pushLayer(ctx context.Context, repo name.Repository, l *storeLayer, opts []remote.Option, p *progress) error {
	updates := make(chan v1.Update, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range updates {
			p.set(l.id(), bytesState("Pushing", u.Complete, u.Total), true)
		}
	}()
	layer, err := partial.CompressedToLayer(l)
	if err == nil {
		err = remote.WriteLayer(repo, layer, append(opts, remote.WithProgress(updates))...)
	} else {
		close(updates)
	}
	<-done
	return err
}

// storeImage is an image of the store as go-containerregistry reads one:
// its config as it is, an OCI manifest made for it, its layers.
type storeImage struct {
	store    *image.Store
	img      *image.Image
	layers   []*storeLayer
	manifest []byte
}

func newStoreImage(store *image.Store, img *image.Image) (*storeImage, error) {
	si := &storeImage{store: store, img: img}
	config := img.RawConfig()
	m := image.Manifest{SchemaVersion: 2, MediaType: string(types.OCIManifestSchema1),
		Config: image.Descriptor{MediaType: string(types.OCIConfigJSON), Digest: img.ID, Size: int64(len(config))}}
	for i, chain := range img.Layers {
		h, err := v1.NewHash(img.DiffIDs[i])
		if err != nil {
			return nil, err
		}
		size := store.LayerTarSize(chain)
		si.layers = append(si.layers, &storeLayer{store: store, chain: chain, digest: h, size: size})
		m.Layers = append(m.Layers, image.Descriptor{MediaType: string(types.OCIUncompressedLayer), Digest: img.DiffIDs[i], Size: size})
	}
	var err error
	si.manifest, err = json.Marshal(m)
	return si, err
}

func (si *storeImage) RawConfigFile() ([]byte, error)      { return si.img.RawConfig(), nil }
func (si *storeImage) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (si *storeImage) RawManifest() ([]byte, error)        { return si.manifest, nil }

func (si *storeImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h.String() == si.img.ID {
		return partial.ConfigLayer(si)
	}
	for _, l := range si.layers {
		if l.digest == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("blob %s is not the image's", h)
}

// storeLayer is a layer of the store, sent as its uncompressed tar.
type storeLayer struct {
	store  *image.Store
	chain  string
	digest v1.Hash
	size   int64
}

func (l *storeLayer) id() string                          { return l.digest.Hex[:12] }
func (l *storeLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *storeLayer) Size() (int64, error)                { return l.size, nil }
func (l *storeLayer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }
func (l *storeLayer) Compressed() (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(l.store.WriteLayerTar(pw, l.chain)) }()
	return pr, nil
}
