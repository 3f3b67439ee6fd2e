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
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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

// storeLayers lists the layers in the store under root.
func storeLayers(t *testing.T, root string) []string {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(root, "image", "layers"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// checkStoreClean: nothing half-made in the store under root, and every
// layer listed by some image.
func checkStoreClean(t *testing.T, root string) {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(root, "image", "tmp", "*")); len(left) > 0 {
		t.Errorf("staging left in the store: %q", left)
	}
	used := map[string]bool{}
	configs, _ := filepath.Glob(filepath.Join(root, "image", "configs", "*"))
	for _, c := range configs {
		var cfg struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		data, _ := os.ReadFile(c)
		if err := json.Unmarshal(data, &cfg); err != nil {
			t.Errorf("config %s: %v", c, err)
		}
		chain := ""
		for _, d := range cfg.RootFS.DiffIDs {
			if chain == "" {
				chain = d
			} else {
				chain = "sha256:" + sha256hex([]byte(chain+" "+d))
			}
			used[strings.TrimPrefix(chain, "sha256:")] = true
		}
	}
	for _, l := range storeLayers(t, root) {
		if !used[l] {
			t.Errorf("layer %s is in the store, no image uses it", l[:12])
		}
		if _, err := os.Stat(filepath.Join(root, "image", "layers", l, "diff")); err != nil {
			t.Errorf("layer %s is half there: %v", l[:12], err)
		}
	}
	for u := range used {
		if _, err := os.Stat(filepath.Join(root, "image", "layers", u)); err != nil {
			t.Errorf("an image uses layer %s, which is not there", u[:12])
		}
	}
}

// TestSaveAndLoadAgain: save writes an archive load reads back as the same
// image (same ID, same layers, same files), both as docker 25 and as an
// OCI layout; the archive's layer blobs are the very tars that were
// loaded (their digests are the config's DiffIDs).
func TestSaveAndLoadAgain(t *testing.T) {
	outside := "/mydocker-e2e-nowhere-" + fmt.Sprint(rand.Int63())
	img := featureImage(t, "roundtrip:1", outside)
	check := strings.ReplaceAll(featureCheck, "OUTSIDE", outside)
	first := layerRoot(t)
	mustRun(t, "--root", first, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "docker24", false, img)))
	mustRun(t, "--root", first, "tag", "roundtrip:1", "localhost:5000/team/roundtrip:2")
	saved := filepath.Join(t.TempDir(), "saved.tar")
	// What a save to the same file killed with SIGKILL left: removed; what
	// a live one is writing: left alone.
	dead := filepath.Join(filepath.Dir(saved), ".saved.tar.saving-1")
	live := filepath.Join(filepath.Dir(saved), ".saved.tar.saving-2")
	os.WriteFile(dead, []byte("half"), 0o600)
	os.WriteFile(live, []byte("half"), 0o600)
	held, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	unix.Flock(int(held.Fd()), unix.LOCK_EX)
	mustRun(t, "--root", first, "save", "-o", saved, "roundtrip:1", "localhost:5000/team/roundtrip:2")
	if _, err := os.Stat(dead); err == nil {
		t.Error("a killed save's temporary file was left")
	}
	if _, err := os.Stat(live); err != nil {
		t.Error("a live save's temporary file was removed")
	}
	idOf := func(root, name string) string {
		return strings.TrimSpace(mustRun(t, "--root", root, "images", "-q", "--no-trunc", name))
	}
	// The archive: an OCI layout and docker's manifest.json, the same blobs.
	list, err := exec.Command("tar", "tf", saved).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"oci-layout", "index.json", "manifest.json", "blobs/sha256/" + sha256hex(img.layers[1])} {
		if !strings.Contains(string(list), want+"\n") {
			t.Errorf("the saved archive has no %s:\n%s", want, list)
		}
	}
	second := layerRoot(t)
	r := run(t, nil, "--root", second, "load", "-i", saved)
	if r.status != 0 || r.stdout != "Loaded image: roundtrip:1\nLoaded image: localhost:5000/team/roundtrip:2\n" {
		t.Fatalf("load of the saved archive: %d %q %q", r.status, r.stdout, r.stderr)
	}
	if a, b := idOf(first, "roundtrip:1"), idOf(second, "localhost:5000/team/roundtrip:2"); a == "" || a != b {
		t.Errorf("the image's ID changed through save and load: %q, %q", a, b)
	}
	if out := mustRun(t, "--root", second, "run", "roundtrip:1", "sh", "-c", check); out != featureWant(outside) {
		t.Errorf("the loaded-again image's files:\n%s", out)
	}
	// An OCI layout alone (index.json's names) loads as well: save's
	// archive without manifest.json.
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", saved, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	os.Remove(filepath.Join(dir, "manifest.json"))
	ociOnly := filepath.Join(t.TempDir(), "oci.tar")
	if out, err := exec.Command("tar", "-cf", ociOnly, "-C", dir, ".").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	third := layerRoot(t)
	r = run(t, nil, "--root", third, "load", "-i", ociOnly)
	if r.status != 0 || !strings.Contains(r.stdout, "Loaded image: roundtrip:1\n") {
		t.Errorf("load of the OCI layout alone: %d %q %q", r.status, r.stdout, r.stderr)
	}
	if a, b := idOf(first, "roundtrip:1"), idOf(third, "roundtrip:1"); a != b {
		t.Errorf("the image's ID changed through an OCI layout: %q, %q", a, b)
	}
	// From standard input, and once more: nothing unpacked again.
	in, _ := os.Open(saved)
	defer in.Close()
	if r := run(t, in, "--root", second, "load"); r.status != 0 || !strings.Contains(r.stdout, "Loaded image: roundtrip:1") {
		t.Errorf("load from standard input: %d %q %q", r.status, r.stdout, r.stderr)
	}
	expectFailure(t, run(t, nil, "--root", first, "save", "nosuch"), 125, "no such image")
	checkStoreClean(t, second)
}

// TestImagesShareTheirBase: two images over one base keep it once, on
// disk; removing one keeps the base for the other, removing both leaves
// no layer.
func TestImagesShareTheirBase(t *testing.T) {
	base := busyboxLayer(t)
	a := testImage{layers: [][]byte{base, makeLayer(t, []layerEntry{{name: "a", typ: tar.TypeReg, body: "a\n"}})}, tag: "share-a"}
	b := testImage{layers: [][]byte{base, makeLayer(t, []layerEntry{{name: "b", typ: tar.TypeReg, body: "b\n"}})}, tag: "share-b"}
	root := layerRoot(t)
	mustRun(t, "--root", root, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "docker25", false, a)))
	before := diskUsage(t, filepath.Join(root, "image", "layers"))
	mustRun(t, "--root", root, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "docker25", false, b)))
	after := diskUsage(t, filepath.Join(root, "image", "layers"))
	if n := len(storeLayers(t, root)); n != 3 {
		t.Errorf("%d layers in the store, want 3 (one base, two tops)", n)
	}
	if grown := after - before; grown > 64<<10 {
		t.Errorf("the second image over the same base took %d more bytes (the base is %d): the base is stored twice", grown, len(base))
	}
	if out := mustRun(t, "--root", root, "run", "share-b", "sh", "-c", "cat /b; test -e /a || echo no-a"); out != "b\nno-a\n" {
		t.Errorf("share-b's files: %q", out)
	}
	// A layer the store has is not unpacked again from a file: an
	// archive whose base blob is garbage loads, since the base is never
	// read. From standard input, which cannot be read twice, every blob
	// is read, and the garbage is found.
	c := testImage{layers: [][]byte{base, makeLayer(t, []layerEntry{{name: "c", typ: tar.TypeReg, body: "c\n"}})}, tag: "share-c"}
	entries := archiveOf(t, "docker25", false, c)
	for i, e := range entries {
		if strings.HasSuffix(e.name, sha256hex(base)) {
			entries[i].data = bytes.Repeat([]byte("garbage!"), len(base)/8)
		}
	}
	damaged := writeArchive(t, t.TempDir(), entries)
	data, err := os.ReadFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	expectFailure(t, run(t, bytes.NewReader(data), "--root", root, "load"), 125, "corrupt") // a pipe
	if r := run(t, nil, "--root", root, "load", "-i", damaged); r.status != 0 || r.stdout != "Loaded image: share-c:latest\n" {
		t.Errorf("load of an archive whose base the store has: %d %q %q; want the base skipped, not read", r.status, r.stdout, r.stderr)
	}
	mustRun(t, "--root", root, "rmi", "share-c")
	mustRun(t, "--root", root, "rmi", "share-a")
	if n := len(storeLayers(t, root)); n != 2 {
		t.Errorf("after rmi share-a: %d layers, want 2 (the base, share-b's top)", n)
	}
	if out := mustRun(t, "--root", root, "run", "share-b", "cat", "/b"); out != "b\n" {
		t.Errorf("share-b after rmi share-a: %q", out)
	}
	// By an ID prefix, as docker takes one.
	id := strings.TrimSpace(mustRun(t, "--root", root, "images", "-q", "share-b"))
	if out := mustRun(t, "--root", root, "rmi", id[:5]); !strings.HasPrefix(out, "Untagged: share-b:latest\nDeleted: sha256:"+id) {
		t.Errorf("rmi by an ID prefix: %q", out)
	}
	if left := storeLayers(t, root); len(left) != 0 {
		t.Errorf("layers left after every image went: %q", left)
	}
	if links, _ := os.ReadDir(filepath.Join(root, "image", "l")); len(links) != 0 {
		t.Errorf("short names left after every image went: %d", len(links))
	}
}

// diskUsage is the bytes of blocks the files under dir take.
func diskUsage(t *testing.T, dir string) int64 {
	t.Helper()
	out, err := exec.Command("du", "-s", "-B1", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	fmt.Sscan(string(out), &n)
	return n
}

// deepImage is busybox and n-1 layers over it, layer i adding /layers/i.
func deepImage(t *testing.T, n int, tag string) testImage {
	img := testImage{layers: [][]byte{busyboxLayer(t)}, tag: tag}
	for i := 1; i < n; i++ {
		img.layers = append(img.layers, makeLayer(t, []layerEntry{{name: "layers/", typ: tar.TypeDir}, {name: fmt.Sprintf("layers/%d", i), typ: tar.TypeReg, body: fmt.Sprint(i)}}))
	}
	return img
}

// TestDeepImages: 125 layers (docker's limit is 128) and overlayfs's own
// limit, 500, run; the lowerdir option of 500 layers fits in the page a
// mount takes because layers are named by short names. 501 is refused
// with one line, and nothing is left.
func TestDeepImages(t *testing.T) {
	root := layerRoot(t)
	for _, n := range []int{125, 500} {
		tag := fmt.Sprintf("deep:%d", n)
		r := run(t, nil, "--root", root, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "oci", false, deepImage(t, n, tag))))
		if r.status != 0 {
			t.Fatalf("load of %d layers: %s", n, r.stderr)
		}
		want := fmt.Sprintf("%d\n1%d\n", n-1, n-1)
		if out := mustRun(t, "--root", root, "run", tag, "sh", "-c", fmt.Sprintf("ls /layers | wc -l; cat /layers/1 /layers/%d; echo", n-1)); out != want {
			t.Errorf("a container of %d layers sees %q, want %q", n, out, want)
		}
	}
	layersBefore := len(storeLayers(t, root))
	r := run(t, nil, "--root", root, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "oci", false, deepImage(t, 501, "deep:501"))))
	expectFailure(t, r, 125, "overlayfs stacks at most 500")
	if n := len(storeLayers(t, root)); n != layersBefore {
		t.Errorf("the refused image left %d layers", n-layersBefore)
	}
	checkStoreClean(t, root)
}

// TestLoadBadInput: each archive that is not a whole, true image is
// refused with one line and status 125, and leaves nothing in the store.
func TestLoadBadInput(t *testing.T) {
	good := testImage{layers: [][]byte{busyboxLayer(t), makeLayer(t, []layerEntry{{name: "x", typ: tar.TypeReg, body: "x"}})}, tag: "bad:1"}
	entries := archiveOf(t, "docker25", false, good)
	dir := t.TempDir()
	without := func(name string) []archiveEntry {
		var out []archiveEntry
		for _, e := range entries {
			if !strings.HasSuffix(e.name, name) {
				out = append(out, e)
			}
		}
		return out
	}
	// A layer whose content is not what the config's DiffID says.
	wrongDiffID := good
	wrongDiffID.layers = [][]byte{good.layers[0], good.layers[1]}
	lying := archiveOf(t, "docker24", false, wrongDiffID)
	for i, e := range lying {
		if strings.HasSuffix(e.name, "/layer.tar") && len(e.data) < 1<<16 {
			lying[i].data = makeLayer(t, []layerEntry{{name: "x", typ: tar.TypeReg, body: "not x"}})
		}
	}
	escaping := testImage{layers: [][]byte{busyboxLayer(t), makeLayer(t, []layerEntry{{name: "../escaped", typ: tar.TypeReg, body: "x"}})}, tag: "bad:2"}
	hardOut := testImage{layers: [][]byte{busyboxLayer(t), makeLayer(t, []layerEntry{{name: "hl", typ: tar.TypeLink, link: "../../etc/passwd"}})}, tag: "bad:3"}
	full, _ := os.ReadFile(writeArchive(t, dir, entries))
	for _, tc := range []struct {
		name string
		file string
		want string
	}{
		{"not a tar", writeFileIn(t, dir, []byte(strings.Repeat("not an archive ", 200))), "not an image archive"},
		{"truncated", writeFileIn(t, dir, full[:len(full)/2]), "truncated"},
		{"empty", writeFileIn(t, dir, nil), "not an image archive"},
		{"a root filesystem", imageTarball(), "no manifest.json and no index.json"},
		{"a missing layer", writeArchive(t, dir, without(sha256hex(good.layers[1]))), "is missing"},
		{"a missing config", writeArchive(t, dir, without(sha256hex(good.configJSON()))), "is missing"},
		{"a DiffID mismatch", writeArchive(t, dir, lying), "DiffID"},
		{"a ../ entry", writeArchive(t, dir, archiveOf(t, "oci", false, escaping)), `"../escaped"`},
		{"a hard link out", writeArchive(t, dir, archiveOf(t, "oci", false, hardOut)), `"hl"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := layerRoot(t)
			expectFailure(t, run(t, nil, "--root", root, "load", "-i", tc.file), 125, tc.want)
			if out := mustRun(t, "--root", root, "images", "-q"); out != "" {
				t.Errorf("a refused load left images: %q", out)
			}
			checkStoreClean(t, root)
			if n := len(storeLayers(t, root)); n != 0 {
				t.Errorf("a refused load left %d layers", n)
			}
		})
	}
	expectFailure(t, run(t, nil, "load", "-i", filepath.Join(dir, "nosuch.tar")), 125, "no such file")
	expectFailure(t, run(t, nil, "import", writeArchive(t, dir, entries), "archive"), 125, "mydocker load")
}

func writeFileIn(t *testing.T, dir string, data []byte) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "bad-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	f.Close()
	return f.Name()
}

// TestLoadKilledAtAnyMoment: load killed with SIGKILL at random moments
// never leaves a half image visible; the next load (which first removes
// what the killed ones left) succeeds and leaves the store clean.
func TestLoadKilledAtAnyMoment(t *testing.T) {
	img := testImage{layers: [][]byte{busyboxLayer(t)}, tag: "killed:1"}
	for i := 0; i < 4; i++ {
		big := make([]byte, 8<<20)
		rand.Read(big)
		img.layers = append(img.layers, makeLayer(t, []layerEntry{{name: fmt.Sprintf("big%d", i), typ: tar.TypeReg, body: string(big)}}))
	}
	archive := writeArchive(t, t.TempDir(), archiveOf(t, "docker25", false, img))
	root := layerRoot(t)
	for round := 0; round < 12; round++ {
		cmd := exec.Command(mydocker, "--root", root, "load", "-i", archive)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.Intn(200)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		// What a reader sees now is an image whole or none (whole and
		// nameless, when the kill came between its config and its name).
		if out := strings.Fields(mustRun(t, "--root", root, "images", "-q")); len(out) > 0 {
			mustRun(t, "--root", root, "run", out[0], "true")
			mustRun(t, "--root", root, "rmi", out[0])
		}
	}
	mustRun(t, "--root", root, "load", "-i", archive)
	if out := mustRun(t, "--root", root, "run", "killed:1", "sh", "-c", "ls /big*"); out != "/big0\n/big1\n/big2\n/big3\n" {
		t.Errorf("the image loaded after the killed loads: %q", out)
	}
	checkStoreClean(t, root)
}

// TestStoreOfAnEarlierMydocker: a store written before layers (each image
// flat in ROOT/images/NAME: rootfs/, size, config.json) is read by this
// one: its images are listed and run with their config, their files
// become one layer each without a copy, and two of the same files share
// it.
func TestStoreOfAnEarlierMydocker(t *testing.T) {
	needImage(t)
	root := layerRoot(t)
	for name, config := range map[string]string{"old": `{"Cmd":["sh","-c","echo old $GREETING"],"Env":["GREETING=kept"]}`, "older": ""} {
		dir := filepath.Join(root, "images", name)
		if err := os.MkdirAll(filepath.Join(dir, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("tar", "-xf", imageTarball(), "-C", filepath.Join(dir, "rootfs")).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if config != "" {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644)
		}
		os.WriteFile(filepath.Join(dir, "size"), []byte("2000000\n"), 0o644)
	}
	// An import an earlier mydocker was killed in: not an image.
	os.MkdirAll(filepath.Join(root, "images", ".import-half-123", "rootfs"), 0o755)
	out := mustRun(t, "--root", root, "images")
	for _, name := range []string{"old", "older"} {
		if !regexp.MustCompile(`\n` + name + ` +latest +[0-9a-f]{12} `).MatchString(out) {
			t.Errorf("the earlier store's image %s is not listed:\n%s", name, out)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "images")); err == nil {
		t.Error("the earlier store's directory is still there after its images were taken over")
	}
	if got := mustRun(t, "--root", root, "run", "old"); got != "old kept\n" {
		t.Errorf("run of the earlier store's image, with its CMD and ENV: %q", got)
	}
	if n := len(storeLayers(t, root)); n != 1 {
		t.Errorf("%d layers for two earlier images of the same files, want 1", n)
	}
	checkStoreClean(t, root)
}

// TestLoadedImageConfig: a loaded image's own config is run as docker
// runs it: Entrypoint + Cmd, Env (unless -e sets the key), WorkingDir,
// User (unless -u), and kept in inspect (Labels, ExposedPorts).
func TestLoadedImageConfig(t *testing.T) {
	img := testImage{layers: [][]byte{busyboxLayer(t)}, tag: "configured:1", config: map[string]any{
		"Entrypoint": []string{"sh", "-c", `echo "$0 $* in $PWD as $(id -u) with $MODE"`}, "Cmd": []string{"default"},
		"Env": []string{"PATH=/bin", "MODE=image"}, "WorkingDir": "/srv/app", "User": "nobody",
		"Labels": map[string]string{"team": "tests"}, "ExposedPorts": map[string]any{"8080/tcp": map[string]any{}}, "StopSignal": "SIGUSR1",
	}}
	root := layerRoot(t)
	mustRun(t, "--root", root, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "oci", true, img)))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"configured:1"}, "default  in /srv/app as 65534 with image\n"},
		{[]string{"-e", "MODE=given", "-w", "/tmp", "-u", "0", "configured:1", "a", "b"}, "a b in /tmp as 0 with given\n"},
		{[]string{"--entrypoint", "echo", "configured:1", "plain"}, "plain\n"},
	} {
		if out := mustRun(t, append([]string{"--root", root, "run"}, tc.args...)...); out != tc.want {
			t.Errorf("run %q: %q, want %q", tc.args, out, tc.want)
		}
	}
	out := mustRun(t, "--root", root, "inspect", "configured:1")
	for _, want := range []string{`"team": "tests"`, `"8080/tcp": {}`, `"StopSignal": "SIGUSR1"`, `"RepoTags": [
            "configured:1"
        ]`} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect of the image has no %s:\n%s", want, out)
		}
	}
	// save to a terminal is refused; load from one too.
	for _, args := range [][]string{{"--root", root, "save", "configured:1"}, {"--root", root, "load"}} {
		s := startSession(t, 24, 80, args...)
		if status := s.wait(); status != 125 || !strings.Contains(s.output(), "terminal") {
			t.Errorf("%q on a terminal: status %d, %q; want 125, refused", args, status, s.output())
		}
	}
}

// TestArchivesOfContainersImage: skopeo (containers/image, the library
// podman load and podman save use) reads what save writes, as a docker
// archive and as an OCI archive, checking every digest; and load reads
// what skopeo writes in both forms.
func TestArchivesOfContainersImage(t *testing.T) {
	skopeo := needDebianPackage(t, "skopeo", "skopeo")
	outside := "/mydocker-e2e-nowhere-" + fmt.Sprint(rand.Int63())
	root := layerRoot(t)
	mustRun(t, "--root", root, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "docker24", false, featureImage(t, "shared:1", outside))))
	saved := filepath.Join(t.TempDir(), "saved.tar")
	mustRun(t, "--root", root, "save", "-o", saved, "shared:1")
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644)
	sk := func(args ...string) {
		t.Helper()
		cmd := exec.Command(skopeo, append([]string{"--policy", policy}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo %q: %v\n%s", args, err, out)
		}
	}
	// save's archive read as docker's and as an OCI archive, and written
	// again by skopeo in both forms.
	sk("copy", "docker-archive:"+saved, "docker-archive:"+filepath.Join(dir, "again-docker.tar")+":again:docker")
	sk("copy", "oci-archive:"+saved+":1", // the tag, as docker 25 writes ref.name
		"oci-archive:"+filepath.Join(dir, "again-oci.tar")+":again-oci")
	want := strings.TrimSpace(mustRun(t, "--root", root, "images", "-q", "--no-trunc", "shared:1"))
	for _, tc := range []struct{ file, name string }{{"again-docker.tar", "again:docker"}, {"again-oci.tar", ""}} {
		other := layerRoot(t)
		r := run(t, nil, "--root", other, "load", "-i", filepath.Join(dir, tc.file))
		if r.status != 0 {
			t.Fatalf("load of skopeo's %s: %s", tc.file, r.stderr)
		}
		if got := strings.TrimSpace(mustRun(t, "--root", other, "images", "-q", "--no-trunc")); got != want {
			t.Errorf("skopeo's %s loaded as image %q, want %q (the same config)", tc.file, got, want)
		}
		if out := mustRun(t, "--root", other, "run", want[7:19], "cat", "/top"); out != "top layer\n" {
			t.Errorf("a container of skopeo's %s: %q", tc.file, out)
		}
	}
}

// needDebianPackage is the path of command, installed with apt-get from
// Debian's package pkg when it is missing, as the busybox image's script
// installs busybox-static. Where it cannot be had, the test is skipped
// with the reason, or fails under CI=true.
func needDebianPackage(t *testing.T, command, pkg string) string {
	t.Helper()
	if path, err := exec.LookPath(command); err == nil {
		return path
	}
	packageMu.Lock()
	if !packageTried[pkg] {
		packageTried[pkg] = true
		install := exec.Command("sh", "-c", "apt-get update -qq && apt-get install -y -qq "+pkg)
		install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := install.CombinedOutput(); err != nil {
			t.Logf("apt-get install %s: %v\n%s", pkg, err, out)
		}
	}
	packageMu.Unlock()
	path, err := exec.LookPath(command)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s could not be installed (apt-get install %s)", command, pkg)
		}
		t.Skipf("%s is missing and could not be installed (apt-get install %s)", command, pkg)
	}
	return path
}

// packageTried: each package is installed at most once a run.
var (
	packageMu    sync.Mutex
	packageTried = map[string]bool{}
)

// TestContainerKeepsItsImageWhenTheNameMoves: a container is made of an
// image, not of a name: after the name goes to another image (a load of
// the same name, as docker's), start runs it on its own image's layers,
// and the image it was made of cannot be removed while it is kept.
func TestContainerKeepsItsImageWhenTheNameMoves(t *testing.T) {
	base := busyboxLayer(t)
	first := testImage{layers: [][]byte{base, makeLayer(t, []layerEntry{{name: "which", typ: tar.TypeReg, body: "first\n"}})}, tag: "moving:1"}
	second := testImage{layers: [][]byte{base, makeLayer(t, []layerEntry{{name: "which", typ: tar.TypeReg, body: "second\n"}})}, tag: "moving:1"}
	root := layerRoot(t)
	mustRun(t, "--root", root, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "oci", false, first)))
	firstID := strings.TrimSpace(mustRun(t, "--root", root, "images", "-q", "--no-trunc", "moving:1"))
	id := strings.TrimSpace(mustRun(t, "--root", root, "run", "-d", "--name", "keeper", "moving:1", "cat", "/which"))
	t.Cleanup(func() { run(t, nil, "--root", root, "rm", "-f", id) })
	waitStatusIn(t, root, id, `Exited \(0\)`)
	r := run(t, nil, "--root", root, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "oci", false, second)))
	if r.status != 0 || !strings.Contains(r.stdout, "The image moving:1 already exists, renaming the old one with ID "+firstID+" to empty string\n") {
		t.Errorf("load of a name another image has: %d %q %q", r.status, r.stdout, r.stderr)
	}
	mustRun(t, "--root", root, "start", "keeper")
	waitStatusIn(t, root, id, `Exited \(0\)`)
	if out := mustRun(t, "--root", root, "logs", "keeper"); out != "first\nfirst\n" {
		t.Errorf("the container's output, run and started again after its image's name moved: %q", out)
	}
	expectFailure(t, run(t, nil, "--root", root, "rmi", firstID[7:19]), 125, "in use by container keeper")
	mustRun(t, "--root", root, "rm", id)
	if out := mustRun(t, "--root", root, "rmi", firstID[7:19]); out != "Deleted: "+firstID+"\n" {
		t.Errorf("rmi of the nameless image: %q", out)
	}
}

// waitStatusIn waits (boundedly) until ps -a shows the container id of
// the store root in a status matching pattern.
func waitStatusIn(t *testing.T, root, id, pattern string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	var out string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(mustRun(t, "--root", root, "ps", "-a"), "\n") {
			if strings.HasPrefix(line, id[:12]) {
				out = line
				if re.MatchString(line) {
					return
				}
			}
		}
	}
	t.Fatalf("container %s never became %s: %q", id, pattern, out)
}
