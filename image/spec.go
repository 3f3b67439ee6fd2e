package image

import "time"

// The JSON documents of the OCI image specification (v1.1) and docker's
// archives, the fields mydocker reads and writes. They are written out here
// rather than taken from github.com/opencontainers/image-spec: that module
// brings github.com/opencontainers/go-digest, whose regular expressions are
// compiled when any program linking it starts, and every container start
// would pay for them (docs/images.md).

// Media types of the documents and blobs of an image.
const (
	mediaTypeOCIIndex        = "application/vnd.oci.image.index.v1+json"
	mediaTypeOCIManifest     = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeOCIConfig       = "application/vnd.oci.image.config.v1+json"
	mediaTypeOCILayer        = "application/vnd.oci.image.layer.v1.tar"
	mediaTypeOCILayerGzip    = "application/vnd.oci.image.layer.v1.tar+gzip"
	mediaTypeOCILayerZstd    = "application/vnd.oci.image.layer.v1.tar+zstd"
	mediaTypeDockerList      = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerManifest  = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	mediaTypeDockerForeign   = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

	// The annotations naming an image in an OCI layout: containerd's full
	// name, and the spec's tag.
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// ImageConfig is the image's config (the OCI "image config", docker's
// image JSON): the image ID is the sha256 of its bytes as stored.
type ImageConfig struct {
	Created      *time.Time `json:"created,omitempty"`
	Author       string     `json:"author,omitempty"`
	Architecture string     `json:"architecture"`
	Variant      string     `json:"variant,omitempty"`
	OS           string     `json:"os"`
	Config       Config     `json:"config,omitempty"`
	RootFS       RootFS     `json:"rootfs"`
	History      []History  `json:"history,omitempty"`
}

// RootFS lists the image's layers by DiffID (the sha256 of each layer's
// uncompressed tar), bottom first.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// History is one step that made the image (a Dockerfile line, an import).
type History struct {
	Created    *time.Time `json:"created,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	Comment    string     `json:"comment,omitempty"`
	EmptyLayer bool       `json:"empty_layer,omitempty"`
}

// Descriptor points at a blob by digest.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Platform is what an index entry runs on.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// Manifest is one image: its config and its layers, bottom first (an OCI
// manifest or docker's schema 2, which share this shape).
type Manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// Index lists manifests (an OCI layout's index.json, a multi-platform
// image's index or docker's manifest list).
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Manifests     []Descriptor `json:"manifests"`
}

// archiveManifest is one image in a docker save archive's manifest.json.
type archiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}
