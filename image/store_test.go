package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// topLayer is the directory of the image's top layer's files.
func (s *Store) topLayer(img *Image) string {
	return filepath.Join(s.layerDir(img.Layers[len(img.Layers)-1]), "diff")
}

func TestParseReference(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	for ref, want := range map[string]string{
		"busybox":                             "docker.io/library/busybox:latest",
		"busybox:1.36":                        "docker.io/library/busybox:1.36",
		"library/busybox":                     "docker.io/library/busybox:latest",
		"docker.io/busybox":                   "docker.io/library/busybox:latest",
		"index.docker.io/library/busybox":     "docker.io/library/busybox:latest",
		"team/app":                            "docker.io/team/app:latest",
		"localhost/app":                       "localhost/app:latest",
		"localhost:5000/team/app:v2":          "localhost:5000/team/app:v2",
		"registry.example.com/a/b/c:1.0-rc_1": "registry.example.com/a/b/c:1.0-rc_1",
		"[::1]:5000/app":                      "[::1]:5000/app:latest",
		"busybox@sha256:" + hex64:             "docker.io/library/busybox@sha256:" + hex64,
		"busybox:1@sha256:" + hex64:           "docker.io/library/busybox:1@sha256:" + hex64,
		"a__b.c-d---e":                        "docker.io/library/a__b.c-d---e:latest",
	} {
		r, err := ParseReference(ref)
		if err != nil || r.String() != want {
			t.Errorf("ParseReference(%q) = %q, %v; want %q", ref, r.String(), err, want)
		}
	}
	for ref, familiar := range map[string]string{"busybox": "busybox:latest", "docker.io/team/app:v1": "team/app:v1", "localhost:5000/x": "localhost:5000/x:latest"} {
		if r, _ := ParseReference(ref); r.Familiar() != familiar {
			t.Errorf("Familiar(%q) = %q, want %q", ref, r.Familiar(), familiar)
		}
	}
	for _, ref := range []string{"", "Busybox", "busybox:", ":latest", "busybox:-x", "a//b", "a/", "-a", "a_", "a___b",
		"busybox@sha256:abc", "busybox@md5:" + hex64, "host:port/app", strings.Repeat("a", 256), "busybox:" + strings.Repeat("t", 129), "UPPER.example.com:x/a"} {
		if r, err := ParseReference(ref); err == nil {
			t.Errorf("ParseReference(%q) = %q: want an error", ref, r.String())
		}
	}
}

func TestChainIDs(t *testing.T) {
	a, b := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	sum := sha256.Sum256([]byte(a + " " + b))
	want := []string{a, "sha256:" + hex.EncodeToString(sum[:])}
	if got := ChainIDs([]string{a, b}); got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ChainIDs = %q, want %q", got, want)
	}
}

// TestLayerWhiteoutsAndTheSameTarAgain: a layer's .wh. entries become
// overlayfs's whiteouts and opaque directories, its DiffID is the sha256
// of its tar, and the tar written again from the layer's files (save) is
// the same bytes; a layer written from a directory (commit) turns
// overlayfs's whiteouts back into .wh. entries.
func TestLayerWhiteoutsAndTheSameTarAgain(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but not root: whiteouts need root")
		}
		t.Skip("whiteouts need root")
	}
	data := makeTar(t, []entry{
		{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/.wh.gone", typ: tar.TypeReg},
		{name: "dir/", typ: tar.TypeDir, mode: 0o755},
		{name: "dir/.wh..wh..opq", typ: tar.TypeReg},
		{name: "dir/kept", typ: tar.TypeReg, body: "kept\n"},
		{name: "dir/hard", typ: tar.TypeLink, link: "dir/kept"},
		{name: ".wh..wh.plnk/", typ: tar.TypeDir, mode: 0o700},
	})
	store := NewStore(filepath.Join(t.TempDir(), "root"))
	l, err := store.unpackLayer(bytes.NewReader(data), false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Discard()
	diff := filepath.Join(l.dir, "diff")
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(diff, "etc/gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("etc/gone is not a whiteout: %v, mode %o, rdev %d", err, st.Mode, st.Rdev)
	}
	if !isOpaque(filepath.Join(diff, "dir")) {
		t.Error("dir is not opaque")
	}
	for _, name := range []string{"etc/.wh.gone", "dir/.wh..wh..opq", ".wh..wh.plnk"} {
		if _, err := os.Lstat(filepath.Join(diff, name)); err == nil {
			t.Errorf("%s was written as a file", name)
		}
	}
	var a, b unix.Stat_t
	unix.Lstat(filepath.Join(diff, "dir/kept"), &a)
	unix.Lstat(filepath.Join(diff, "dir/hard"), &b)
	if a.Ino != b.Ino {
		t.Error("dir/hard is not a hard link of dir/kept")
	}
	if want := digestOf(data); l.DiffID != want || l.TarSize != int64(len(data)) {
		t.Errorf("DiffID %s (%d bytes), want %s (%d)", l.DiffID, l.TarSize, want, len(data))
	}
	chain, err := store.publishLayer(l, "")
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := store.writeLayerTar(&again, chain); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), data) {
		t.Errorf("the tar written again differs: %d bytes, was %d", again.Len(), len(data))
	}
	// From the directory: whiteouts and opaque directories as entries.
	var fromDir bytes.Buffer
	if err := layerTar(&fromDir, filepath.Join(store.layerDir(chain), "diff"), nil); err != nil {
		t.Fatal(err)
	}
	names := map[string]byte{}
	tr := tar.NewReader(&fromDir)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names[hdr.Name] = hdr.Typeflag
	}
	if names["dir/kept"]+names["dir/hard"] != tar.TypeReg+tar.TypeLink {
		t.Errorf("dir/kept and dir/hard are not a file and a hard link to it: %v", names)
	}
	for name, typ := range map[string]byte{"etc/.wh.gone": tar.TypeReg, "dir/.wh..wh..opq": tar.TypeReg} {
		if got, ok := names[name]; !ok || got != typ {
			t.Errorf("layer tar from the directory: %s is %q (%v), want type %q; all: %v", name, got, ok, typ, names)
		}
	}
	if _, ok := names["etc/gone"]; ok {
		t.Error("the whiteout was written as etc/gone")
	}
}
