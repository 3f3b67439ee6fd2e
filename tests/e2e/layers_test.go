package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests of images as layers build their own archives, in each format
// docker and podman write, from the busybox tarball and layers made here.

// layerEntry is one entry of a test layer.
type layerEntry struct {
	name, body, link string
	typ              byte
	mode             int64
	pax              map[string]string
}

// makeLayer is a layer's tar.
func makeLayer(t *testing.T, entries []layerEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if e.typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: mode, PAXRecords: e.pax, ModTime: time.Unix(1700000000, 0)}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	return buf.Bytes()
}

func sha256hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func gzipped(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

// testImage is an image to write as an archive: its layers (tars), its
// config's "config", its name.
type testImage struct {
	layers [][]byte
	config map[string]any
	tag    string
}

// configOf is the image's config JSON, its DiffIDs the layers' digests.
func (img testImage) configJSON() []byte {
	var diffIDs []string
	for _, l := range img.layers {
		diffIDs = append(diffIDs, "sha256:"+sha256hex(l))
	}
	cfg := img.config
	if cfg == nil {
		cfg = map[string]any{"Cmd": []string{"sh"}}
	}
	data, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05Z",
		"config": cfg, "rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	return data
}

// archiveEntry is one file of an archive.
type archiveEntry struct {
	name string
	data []byte
	link string // a symbolic link instead
}

// writeArchive writes entries as a tar file in dir.
func writeArchive(t *testing.T, dir string, entries []archiveEntry) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg}
		if e.link != "" {
			hdr = &tar.Header{Name: e.name, Linkname: e.link, Typeflag: tar.TypeSymlink, Mode: 0o777}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.data)
	}
	tw.Close()
	f, err := os.CreateTemp(dir, "archive-*.tar")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(buf.Bytes())
	f.Close()
	return f.Name()
}

// archiveOf writes images in one of the formats: "docker24" (docker save
// before docker 25: ID/layer.tar, a repeated layer as a link to the
// first, CONFIG.json, manifest.json), "docker25" (an OCI layout with
// manifest.json beside it) or "oci" (an OCI layout alone, names in
// index.json's annotations); gzipLayers compresses the layers (OCI only).
func archiveOf(t *testing.T, format string, gzipLayers bool, images ...testImage) []archiveEntry {
	t.Helper()
	var entries []archiveEntry
	written := map[string]bool{}
	firstPath := map[string]string{}
	add := func(e archiveEntry) {
		if !written[e.name] {
			entries = append(entries, e)
			written[e.name] = true
		}
	}
	var manifest []map[string]any
	var index []map[string]any
	for _, img := range images {
		cfg := img.configJSON()
		var layerPaths []string
		var descriptors []map[string]any
		for _, l := range img.layers {
			blob := l
			mediaType := "application/vnd.oci.image.layer.v1.tar"
			if gzipLayers {
				blob, mediaType = gzipped(l), mediaType+"+gzip"
			}
			if format == "docker24" {
				diffID := sha256hex(l)
				if first, ok := firstPath[diffID]; ok {
					// docker writes a layer it has written already as a
					// link to the first.
					again := sha256hex([]byte("again"+first+fmt.Sprint(len(entries)))) + "/layer.tar"
					add(archiveEntry{name: again, link: "../" + first})
					layerPaths = append(layerPaths, again)
					continue
				}
				id := sha256hex([]byte("v1id" + diffID))
				firstPath[diffID] = id + "/layer.tar"
				add(archiveEntry{name: id + "/layer.tar", data: blob})
				add(archiveEntry{name: id + "/VERSION", data: []byte("1.0")})
				layerPaths = append(layerPaths, id+"/layer.tar")
				continue
			}
			p := "blobs/sha256/" + sha256hex(blob)
			add(archiveEntry{name: p, data: blob})
			layerPaths = append(layerPaths, p)
			descriptors = append(descriptors, map[string]any{"mediaType": mediaType, "digest": "sha256:" + sha256hex(blob), "size": len(blob)})
		}
		configPath := "blobs/sha256/" + sha256hex(cfg)
		if format == "docker24" {
			configPath = sha256hex(cfg) + ".json"
		}
		add(archiveEntry{name: configPath, data: cfg})
		var tags []string
		if img.tag != "" {
			tags = []string{img.tag}
		}
		manifest = append(manifest, map[string]any{"Config": configPath, "RepoTags": tags, "Layers": layerPaths})
		if format != "docker24" {
			m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
				"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + sha256hex(cfg), "size": len(cfg)},
				"layers": descriptors})
			add(archiveEntry{name: "blobs/sha256/" + sha256hex(m), data: m})
			d := map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + sha256hex(m), "size": len(m)}
			if img.tag != "" {
				full := img.tag
				if !strings.Contains(full, "/") {
					full = "docker.io/library/" + full
				}
				d["annotations"] = map[string]string{"io.containerd.image.name": full, "org.opencontainers.image.ref.name": full[strings.LastIndex(full, ":")+1:]}
			}
			index = append(index, d)
		}
	}
	if format != "docker24" {
		data, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index})
		add(archiveEntry{name: "index.json", data: data})
		add(archiveEntry{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)})
	}
	if format != "oci" {
		data, _ := json.Marshal(manifest)
		add(archiveEntry{name: "manifest.json", data: data})
	}
	return entries
}

// busyboxLayer is the busybox tarball, the bottom layer of the tests'
// images.
func busyboxLayer(t *testing.T) []byte {
	t.Helper()
	needImage(t)
	data, err := os.ReadFile(imageTarball())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// netRawCapability is cap_net_raw+ep, as setcap writes it.
var netRawCapability = string([]byte{0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})

// featureImage is busybox and two layers over it with what a layer can
// hold: a file the top layer deletes (whiteout), a directory it replaces
// (opaque), a hard link, a set-user-ID file, a file capability, and an
// absolute symbolic link an entry of the same layer is written through.
func featureImage(t *testing.T, tag, outside string) testImage {
	middle := makeLayer(t, []layerEntry{
		{name: "etc/", typ: tar.TypeDir},
		{name: "etc/gone", typ: tar.TypeReg, body: "deleted above\n"},
		{name: "data/", typ: tar.TypeDir},
		{name: "data/old1", typ: tar.TypeReg, body: "old\n"},
		{name: "data/old2", typ: tar.TypeReg, body: "old\n"},
		{name: "files/", typ: tar.TypeDir},
		{name: "files/original", typ: tar.TypeReg, body: "one inode\n"},
		{name: "files/hardlink", typ: tar.TypeLink, link: "files/original"},
		{name: "files/suid", typ: tar.TypeReg, body: "#!/bin/sh\n", mode: 0o4755},
		{name: "files/capped", typ: tar.TypeReg, body: "ping\n", mode: 0o755, pax: map[string]string{"SCHILY.xattr.security.capability": netRawCapability}},
		// Absolute, and leading where the host has nothing: an entry
		// written through it must land in the layer.
		{name: "shortcut", typ: tar.TypeSymlink, link: outside},
		{name: "shortcut/through-link", typ: tar.TypeReg, body: "inside\n"},
	})
	top := makeLayer(t, []layerEntry{
		{name: "etc/", typ: tar.TypeDir},
		{name: "etc/.wh.gone", typ: tar.TypeReg},
		{name: "data/", typ: tar.TypeDir},
		{name: "data/.wh..wh..opq", typ: tar.TypeReg},
		{name: "data/new", typ: tar.TypeReg, body: "new\n"},
		{name: "top", typ: tar.TypeReg, body: "top layer\n"},
	})
	return testImage{layers: [][]byte{busyboxLayer(t), middle, top}, tag: tag,
		config: map[string]any{"Cmd": []string{"sh"}, "Env": []string{"PATH=/bin:/usr/bin", "FROM_IMAGE=yes"}, "Labels": map[string]string{"made-by": "the tests"}}}
}

// featureCheck is what a container of featureImage must see.
const featureCheck = `ls /data; test -e /etc/gone && echo gone-is-there; ` +
	`stat -c '%i' /files/original /files/hardlink | uniq | wc -l; stat -c '%a' /files/suid; ` +
	`cat OUTSIDE/through-link; cat /top; echo $FROM_IMAGE`

func featureWant(outside string) string {
	return "new\n1\n4755\ninside\ntop layer\nyes\n"
}

func layerRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	t.Cleanup(func() { checkNoContainerDirs(t, root) })
	return root
}

// TestLoadEveryArchiveFormat: a three-layer image with whiteouts, an
// opaque directory, a hard link, set-user-ID and capability bits and an
// absolute link walked through, in each format docker and podman write,
// plain and gzip layers, loads and runs as it should.
func TestLoadEveryArchiveFormat(t *testing.T) {
	outside := "/mydocker-e2e-nowhere-" + fmt.Sprint(rand.Int63())
	img := featureImage(t, "layered:v1", outside)
	check := strings.ReplaceAll(featureCheck, "OUTSIDE", outside)
	for _, tc := range []struct {
		format string
		gzip   bool
	}{{"docker24", false}, {"docker25", false}, {"oci", false}, {"oci", true}, {"docker25", true}} {
		t.Run(fmt.Sprintf("%s gzip=%v", tc.format, tc.gzip), func(t *testing.T) {
			root := layerRoot(t)
			archive := writeArchive(t, t.TempDir(), archiveOf(t, tc.format, tc.gzip, img))
			r := run(t, nil, "--root", root, "load", "-i", archive)
			if r.status != 0 || r.stdout != "Loaded image: layered:v1\n" {
				t.Fatalf("load: status %d, stdout %q, stderr %q", r.status, r.stdout, r.stderr)
			}
			r = run(t, nil, "--root", root, "run", "layered:v1", "sh", "-c", check)
			if r.status != 0 || r.stdout != featureWant(outside) {
				t.Errorf("the image's files as a container sees them:\n%s\nwant:\n%s\nstderr: %s", r.stdout, featureWant(outside), r.stderr)
			}
			if _, err := os.Lstat(outside); err == nil {
				t.Fatalf("%s was made on the host", outside)
			}
			// The capability, as the host sees the running container's file.
			r = run(t, nil, "--root", root, "run", "-d", "--name", "capcheck", "layered:v1", "sleep", "100")
			if r.status != 0 {
				t.Fatalf("run -d: %s", r.stderr)
			}
			defer run(t, nil, "--root", root, "rm", "-f", "capcheck")
			if got := capabilityOf(t, root, "capcheck", "/files/capped"); got != netRawCapability {
				t.Errorf("files/capped's capability: %q, want cap_net_raw+ep", got)
			}
		})
	}
}

// capabilityOf reads a file's security.capability in a running container,
// from the host.
func capabilityOf(t *testing.T, root, name, path string) string {
	t.Helper()
	var state []map[string]any
	out := run(t, nil, "--root", root, "inspect", "--type", "container", name).stdout
	if err := json.Unmarshal([]byte(out), &state); err != nil || len(state) != 1 {
		t.Fatalf("inspect %s: %v\n%s", name, err, out)
	}
	pid := int(state[0]["State"].(map[string]any)["Pid"].(float64))
	buf := make([]byte, 64)
	n, err := unix.Getxattr(fmt.Sprintf("/proc/%d/root%s", pid, path), "security.capability", buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}
