package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

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
//  1. each layer is asked for first (HEAD), as the blob a pull brought it
//     as and as its plain tar: one the repository has is skipped ("Layer
//     already exists");
//  2. one a pull brought from another repository of the same registry is
//     mounted from there ("Mounted from team/app"), nothing sent;
//  3. the others are sent as the store keeps them, each its tar written
//     again from the layer's files, byte for byte (its digest is its
//     DiffID: an OCI layer, uncompressed);
//  4. the config, then the manifest (an OCI manifest), under the tag.
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
	p := newProgress(o)
	p.line("The push refers to repository [%s]", r.Name())
	opts := remoteOptions(ctx, nil, o.insecure(r.Domain))
	// Top layer first, as docker lists them.
	for i := len(img.Layers) - 1; i >= 0; i-- {
		p.set(shortHex(img.DiffIDs[i]), "Preparing", false)
	}
	core := &storeImage{store: store, img: img, layers: make([]pushLayerOf, len(img.Layers))}
	for i := len(img.Layers) - 1; i >= 0; i-- {
		h, err := v1.NewHash(img.DiffIDs[i])
		if err != nil {
			return err
		}
		plain := &storeLayer{store: store, chain: img.Layers[i], digest: h, size: store.LayerTarSize(img.Layers[i])}
		l, err := placeLayer(ctx, nref.Context(), r.Domain, plain, store.Sources(img.DiffIDs[i]), opts, p)
		if err != nil {
			return explain(r, fmt.Errorf("layer %s: %w", plain.id(), err))
		}
		core.layers[i] = l
	}
	if err := core.makeManifest(); err != nil {
		return err
	}
	vimg, err := partial.CompressedToImage(core)
	if err != nil {
		return err
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

// placeLayer makes the repository have the layer, the cheapest way: a
// blob of it the repository has already (the one a pull brought, or the
// plain tar), else one mounted from another repository of the registry
// that a pull brought it from, else the plain tar sent.
func placeLayer(ctx context.Context, repo name.Repository, registry string, plain *storeLayer, sources []image.Source, opts []remote.Option, p *progress) (pushLayerOf, error) {
	var mine []*sourceLayer
	for _, src := range sources {
		if src.Registry == registry {
			if h, err := v1.NewHash(src.Digest); err == nil {
				mine = append(mine, &sourceLayer{src: src, digest: h})
			}
		}
	}
	for _, l := range mine {
		if exists(repo, l.digest, opts) {
			p.set(plain.id(), "Layer already exists", false)
			return l, nil
		}
	}
	if exists(repo, plain.digest, opts) {
		p.set(plain.id(), "Layer already exists", false)
		return plain, nil
	}
	for _, l := range mine {
		if l.src.Repository == repo.RepositoryStr() {
			continue
		}
		from, err := name.NewRepository(registry+"/"+l.src.Repository, name.WeakValidation)
		if err != nil {
			continue
		}
		// A mount the registry declines falls back to an upload, which a
		// layer kept unpacked cannot give: the plain tar goes instead.
		layer, err := partial.CompressedToLayer(l)
		if err == nil && remote.WriteLayer(repo, &remote.MountableLayer{Layer: layer, Reference: from.Digest(l.digest.String())}, opts...) == nil {
			p.set(plain.id(), "Mounted from "+l.src.Repository, false)
			return l, nil
		}
	}
	if err := pushLayer(ctx, repo, plain, opts, p); err != nil {
		return nil, err
	}
	p.set(plain.id(), "Pushed", false)
	return plain, nil
}

// pushLayerOf is a layer as the pushed manifest lists it.
type pushLayerOf interface {
	partial.CompressedLayer
	descriptor() image.Descriptor
}

// storeImage is an image of the store as go-containerregistry reads one:
// its config as it is, an OCI manifest made for it, its layers as placed.
type storeImage struct {
	store    *image.Store
	img      *image.Image
	layers   []pushLayerOf
	manifest []byte
}

func (si *storeImage) makeManifest() error {
	config := si.img.RawConfig()
	m := image.Manifest{SchemaVersion: 2, MediaType: string(types.OCIManifestSchema1),
		Config: image.Descriptor{MediaType: string(types.OCIConfigJSON), Digest: si.img.ID, Size: int64(len(config))}}
	for _, l := range si.layers {
		m.Layers = append(m.Layers, l.descriptor())
	}
	var err error
	si.manifest, err = json.Marshal(m)
	return err
}

func (si *storeImage) RawConfigFile() ([]byte, error)      { return si.img.RawConfig(), nil }
func (si *storeImage) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (si *storeImage) RawManifest() ([]byte, error)        { return si.manifest, nil }

func (si *storeImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h.String() == si.img.ID {
		return partial.ConfigLayer(si)
	}
	for _, l := range si.layers {
		if d, _ := l.Digest(); d == h {
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
func (l *storeLayer) descriptor() image.Descriptor {
	return image.Descriptor{MediaType: string(types.OCIUncompressedLayer), Digest: l.digest.String(), Size: l.size}
}

// sourceLayer is a registry's blob of a layer (as a pull brought it):
// there already, or mounted; its bytes are not kept.
type sourceLayer struct {
	src    image.Source
	digest v1.Hash
}

func (l *sourceLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *sourceLayer) Size() (int64, error)     { return l.src.Size, nil }
func (l *sourceLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.src.MediaType), nil
}
func (l *sourceLayer) Compressed() (io.ReadCloser, error) {
	return nil, fmt.Errorf("the blob %s is kept unpacked, not as it was pulled", l.digest)
}
func (l *sourceLayer) descriptor() image.Descriptor {
	return image.Descriptor{MediaType: l.src.MediaType, Digest: l.src.Digest, Size: l.src.Size}
}

func shortHex(digest string) string {
	hex := strings.TrimPrefix(digest, "sha256:")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}
