package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/mydocker/mydocker/image"
)

// Parallel is how many layers a pull downloads at once, as docker's
// default (max-concurrent-downloads is 3).
const Parallel = 3

// maxManifest is the size a manifest or an index may have: docker's limit
// (4 MiB). A real one is a few kilobytes.
const maxManifest = 4 << 20

// Pull brings the image ref (docker's NAME[:TAG|@DIGEST]) from its
// registry into the store, as docker pull does, and says so on o.Out:
//
//  1. the manifest (or the index, and from it the platform's manifest);
//  2. the config, whose DiffIDs say which layers the store has already
//     ("Already exists");
//  3. the other layers, a few at a time, each unpacked as it streams in:
//     its compressed digest checked as it ends (go-containerregistry's
//     reader), its DiffID as it is unpacked (the store's);
//  4. the image, its name and the digest it came by, published together
//     under the store's lock: nothing of it is visible before.
//
// A layer whose download fails is tried again, from its start, twice.
func Pull(ctx context.Context, store *image.Store, ref string, platform string, o Options) error {
	r, err := image.ParseReference(ref)
	if err != nil {
		return err
	}
	p := newProgress(o)
	if !strings.ContainsAny(ref[strings.LastIndexByte(ref, '/')+1:], ":@") {
		p.line("Using default tag: %s", r.Tag)
	}
	plat, err := ParsePlatform(platform)
	if err != nil {
		return err
	}
	nref, err := o.reference(r)
	if err != nil {
		return err
	}
	opts := remoteOptions(ctx, plat, o.insecure(r.Domain))
	desc, err := remote.Get(nref, opts...)
	if err != nil {
		return explain(r, err)
	}
	if len(desc.Manifest) > maxManifest {
		return fmt.Errorf("%s: its manifest is %d bytes, more than the %d a manifest may be (docker's limit)", r.Familiar(), len(desc.Manifest), maxManifest)
	}
	img, err := chooseImage(desc, plat, platform != "")
	if err != nil {
		return err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return explain(r, err)
	}
	var cfg image.ImageConfig
	if err := json.Unmarshal(config, &cfg); err != nil {
		return fmt.Errorf("%s: the image's config: %w", r.Familiar(), err)
	}
	layers, err := img.Layers()
	if err != nil {
		return explain(r, err)
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return fmt.Errorf("%s: the manifest lists %d layers, the config %d", r.Familiar(), len(layers), len(cfg.RootFS.DiffIDs))
	}
	if len(layers) > image.MaxLayers {
		return fmt.Errorf("%s has %d layers: overlayfs stacks at most %d", r.Familiar(), len(layers), image.MaxLayers)
	}
	shown := r.Tag
	if shown == "" {
		shown = r.Digest
	}
	p.line("%s: Pulling from %s", shown, r.Path)
	if err := store.Prepare(); err != nil {
		return err
	}
	before, _ := store.Resolve(r.String())
	staged, err := download(ctx, store, layers, cfg.RootFS.DiffIDs, p)
	if err != nil {
		return err
	}
	var names []image.Reference
	if r.Tag != "" {
		names = append(names, image.Reference{Domain: r.Domain, Path: r.Path, Tag: r.Tag})
	}
	sources := make([]image.Source, len(layers))
	for i, l := range layers {
		d, _ := l.Digest()
		mt, _ := l.MediaType()
		size, _ := l.Size()
		sources[i] = image.Source{Registry: r.Domain, Repository: r.Path, Digest: d.String(), MediaType: string(mt), Size: size}
	}
	id, err := store.AddImage(config, staged, names, r, desc.Digest.String(), sources)
	if err != nil {
		return err
	}
	p.line("Digest: %s", desc.Digest)
	if before != nil && before.ID == id {
		p.line("Status: Image is up to date for %s", r.Familiar())
	} else {
		p.line("Status: Downloaded newer image for %s", r.Familiar())
	}
	fmt.Fprintln(o.Out, r.String())
	return nil
}

// chooseImage is desc's image: itself, or from an index (a multi-platform
// image) the one for plat. Schema 1 manifests are refused.
func chooseImage(desc *remote.Descriptor, plat *v1.Platform, asked bool) (v1.Image, error) {
	switch desc.MediaType {
	case types.DockerManifestSchema1, types.DockerManifestSchema1Signed:
		return nil, errors.New("this image's manifest is docker's schema 1, which registries stopped serving in 2019: not supported (push it again with a newer client)")
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, err
		}
		if asked {
			if cf, err := img.ConfigFile(); err == nil && (cf.OS != plat.OS || cf.Architecture != plat.Architecture) {
				return nil, fmt.Errorf("the image is for %s/%s only, not %s", cf.OS, cf.Architecture, platformString(*plat))
			}
		}
		return img, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var have []string
	for _, m := range manifest.Manifests {
		if m.Platform == nil {
			continue
		}
		if m.Platform.Satisfies(*plat) {
			return idx.Image(m.Digest)
		}
		if m.Platform.OS != "unknown" {
			have = append(have, platformString(*m.Platform))
		}
	}
	return nil, fmt.Errorf("no image for %s in the index: it has %s", platformString(*plat), strings.Join(have, ", "))
}

// download unpacks the layers the store does not have, Parallel at a time,
// and returns them staged (nil for those it has). On an error, every
// staged one is discarded.
func download(ctx context.Context, store *image.Store, layers []v1.Layer, diffIDs []string, p *progress) ([]*image.StagedLayer, error) {
	has := store.HasLayers(diffIDs)
	staged := make([]*image.StagedLayer, len(layers))
	ids := make([]string, len(layers))
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		ids[i] = d.Hex[:12]
		if has[i] {
			p.set(ids[i], "Already exists", false)
		} else {
			p.set(ids[i], "Pulling fs layer", false)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(layers))
	slots := make(chan struct{}, Parallel)
	for i := range layers {
		if has[i] {
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-slots }()
			staged[i], errs[i] = fetchLayer(ctx, store, layers[i], ids[i], p)
			if errs[i] != nil {
				cancel() // the others stop: the image cannot be whole
			}
		}(i)
	}
	wg.Wait()
	// The first failure that is not another's consequence (cancel).
	var first error
	firstID := ""
	for i, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first, firstID = err, ids[i]
		}
	}
	if first != nil {
		discardAll(staged)
		if errors.Is(first, context.Canceled) {
			return nil, first
		}
		return nil, fmt.Errorf("layer %s: %w", firstID, first)
	}
	return staged, nil
}

func discardAll(staged []*image.StagedLayer) {
	for _, l := range staged {
		if l != nil {
			l.Discard()
		}
	}
}

// fetchLayer downloads and unpacks one layer, trying again twice if the
// download breaks.
func fetchLayer(ctx context.Context, store *image.Store, layer v1.Layer, id string, p *progress) (*image.StagedLayer, error) {
	total, _ := layer.Size()
	var err error
	for try := 0; try < 3; try++ {
		if try > 0 {
			wait := time.Duration(try*2) * time.Second
			p.set(id, fmt.Sprintf("Retrying in %d seconds (%v)", int(wait.Seconds()), err), false)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var staged *image.StagedLayer
		staged, err = fetchOnce(ctx, store, layer, id, total, p)
		if err == nil {
			p.set(id, "Pull complete", false)
			return staged, nil
		}
		if ctx.Err() != nil || !transient(err) {
			return nil, err
		}
	}
	return nil, err
}

func fetchOnce(ctx context.Context, store *image.Store, layer v1.Layer, id string, total int64, p *progress) (*image.StagedLayer, error) {
	rc, err := layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	in := &counter{r: rc, report: func(n int64) { p.set(id, bytesState("Downloading", n, total), true) }}
	staged, err := store.UnpackLayer(readerWithContext{ctx, in})
	if err != nil {
		return nil, err
	}
	// To the end of the blob: its digest is checked there.
	if _, err := io.Copy(io.Discard, in); err != nil {
		staged.Discard()
		return nil, err
	}
	return staged, nil
}

// readerWithContext stops reading when ctx is done (Ctrl-C, another
// layer's failure).
type readerWithContext struct {
	ctx context.Context
	r   io.Reader
}

func (r readerWithContext) Read(b []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(b)
}

// transient reports whether a download that failed with err may succeed
// when tried again: a broken connection, not a refusal or a wrong digest.
func transient(err error) bool {
	s := err.Error()
	for _, word := range []string{"connection reset", "unexpected EOF", "broken pipe", "timeout", "connection refused", "EOF"} {
		if strings.Contains(s, word) && !strings.Contains(s, "digest") && !strings.Contains(s, "refused: entry") {
			return true
		}
	}
	return false
}
