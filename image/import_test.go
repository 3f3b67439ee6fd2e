package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// entry is one tar entry for a test archive.
type entry struct {
	name, link, body string
	typ              byte
	mode             int64
}

func makeTar(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: mode, Size: int64(len(e.body)),
			Uid: os.Getuid(), Gid: os.Getgid()}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if e.typ == tar.TypeChar {
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportGoodTarballPlainAndGzip(t *testing.T) {
	dir := t.TempDir()
	data := makeTar(t, []entry{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "./bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "./bin/busybox", typ: tar.TypeReg, body: "#!/bin/true\n", mode: 0o4755},
		{name: "./bin/sh", typ: tar.TypeSymlink, link: "/bin/busybox"},
		{name: "./bin/ash", typ: tar.TypeLink, link: "./bin/busybox"},
		{name: "./etc/motd", typ: tar.TypeReg, body: "hello\n"}, // no directory entry for etc
		{name: "./tmp/", typ: tar.TypeDir, mode: 0o1777},
	})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()

	store := NewStore(filepath.Join(dir, "root"))
	for name, content := range map[string][]byte{"plain": data, "zipped": gz.Bytes()} {
		if _, err := store.Import(writeFile(t, dir, name+".tar", content), name, Config{}); err != nil {
			t.Fatalf("import %s: %v", name, err)
		}
		img, err := store.Resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		store.WithSize(img)
		rootfs := store.topLayer(img)
		if link, _ := os.Readlink(filepath.Join(rootfs, "bin/sh")); link != "/bin/busybox" {
			t.Errorf("%s: bin/sh -> %q", name, link)
		}
		fi, err := os.Stat(filepath.Join(rootfs, "bin/busybox"))
		if err != nil || fi.Mode()&os.ModeSetuid == 0 || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: bin/busybox mode %v (%v)", name, fi.Mode(), err)
		}
		if fi, _ := os.Stat(filepath.Join(rootfs, "tmp")); fi == nil || fi.Mode()&os.ModeSticky == 0 {
			t.Errorf("%s: tmp lost its sticky bit", name)
		}
		if b, _ := os.ReadFile(filepath.Join(rootfs, "etc/motd")); string(b) != "hello\n" {
			t.Errorf("%s: etc/motd = %q", name, b)
		}
		if img.Size != int64(len("#!/bin/true\n")+len("hello\n")) {
			t.Errorf("%s: size %d", name, img.Size)
		}
	}
	images, _ := store.List()
	if len(images) != 1 || len(images[0].Names) != 2 {
		// One tar, one layer, one config... but two names: the config's
		// history says when, so two imports are two images.
		if len(images) != 2 {
			t.Errorf("List: %+v", images)
		}
	}
	if _, err := store.Import(writeFile(t, dir, "again.tar", data), "plain", Config{}); err == nil {
		t.Error("importing over an existing image should fail")
	}
	none := func(string) string { return "" }
	if _, err := store.Remove("plain", none); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if _, err := store.Resolve("plain"); err == nil {
		t.Error("a removed image is still there")
	}
	if _, err := store.Remove("plain", none); err == nil {
		t.Error("removing a missing image should fail")
	}
}

func TestImportRefusesHostileTarballs(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	os.Mkdir(outside, 0o755)
	victim := writeFile(t, outside, "victim", []byte("original"))

	cases := map[string][]entry{
		"dot-dot":        {{name: "../escaped", typ: tar.TypeReg, body: "x"}},
		"dot-dot inside": {{name: "a/../../escaped", typ: tar.TypeReg, body: "x"}},
		"absolute":       {{name: filepath.Join(outside, "abs"), typ: tar.TypeReg, body: "x"}},
		"hard link out":  {{name: "hl", typ: tar.TypeLink, link: "../outside/victim"}},
		"hard link abs":  {{name: "hl", typ: tar.TypeLink, link: victim}},
		// A file's contents given twice: the tar could not be written
		// again (docker's tar-split refuses it too).
		"a file twice": {{name: "twice", typ: tar.TypeReg, body: "x"}, {name: "twice", typ: tar.TypeReg, body: "y"}},
	}
	store := NewStore(filepath.Join(dir, "root"))
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			tarball := writeFile(t, dir, "hostile.tar", makeTar(t, entries))
			_, err := store.Import(tarball, "hostile", Config{})
			if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), entries[len(entries)-1].name) {
				t.Errorf("want a refusal naming the entry, got %v", err)
			}
			checkNothingLeft(t, store, outside, victim)
		})
	}
}

// TestSymlinksFollowedInsideTheLayer: an entry written through a symbolic
// link (an absolute one, as /lib -> /usr/lib, or one whose ".." climbs
// past the root) lands inside the layer, where the link leads when the
// layer is the root, never on the host.
func TestSymlinksFollowedInsideTheLayer(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	os.Mkdir(outside, 0o755)
	victim := writeFile(t, outside, "victim", []byte("original"))
	cases := map[string]struct {
		entries []entry
		landed  string // where the last entry is, in the layer
	}{
		"write through an absolute dir link": {[]entry{
			{name: "evil", typ: tar.TypeSymlink, link: outside},
			{name: "evil/planted", typ: tar.TypeReg, body: "x"},
		}, strings.TrimPrefix(outside, "/") + "/planted"},
		"write through a relative dir link": {[]entry{
			{name: "evil", typ: tar.TypeSymlink, link: "../../../../../../../../" + outside},
			{name: "evil/planted", typ: tar.TypeReg, body: "x"},
		}, strings.TrimPrefix(outside, "/") + "/planted"},
		"a file over a link to a file": {[]entry{
			{name: "evil", typ: tar.TypeSymlink, link: victim},
			{name: "evil", typ: tar.TypeReg, body: "x"},
		}, "evil"},
		"mkdir through a link": {[]entry{
			{name: "evil", typ: tar.TypeSymlink, link: outside},
			{name: "evil/newdir/", typ: tar.TypeDir},
		}, strings.TrimPrefix(outside, "/") + "/newdir"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			store := NewStore(filepath.Join(t.TempDir(), "root"))
			if _, err := store.Import(writeFile(t, dir, "links.tar", makeTar(t, tc.entries)), "links", Config{}); err != nil {
				t.Fatal(err)
			}
			img, err := store.Resolve("links")
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(filepath.Join(store.topLayer(img), tc.landed))
			if err != nil || fi.Mode()&os.ModeSymlink != 0 {
				t.Errorf("%s is not in the layer: %v", tc.landed, err)
			}
			files, _ := os.ReadDir(outside)
			if len(files) != 1 {
				t.Errorf("something was written outside: %v", files)
			}
			if b, _ := os.ReadFile(victim); string(b) != "original" {
				t.Errorf("victim file changed: %q", b)
			}
		})
	}
}

func TestImportRefusesCorruptArchives(t *testing.T) {
	dir := t.TempDir()
	good := makeTar(t, []entry{{name: "big", typ: tar.TypeReg, body: strings.Repeat("x", 5000)}})
	cases := map[string][]byte{
		"garbage":   []byte(strings.Repeat("not a tar file ", 100)),
		"truncated": good[:1024],
		"bad gzip":  append([]byte{0x1f, 0x8b}, []byte("garbage garbage garbage")...),
		"empty":     {},
	}
	store := NewStore(filepath.Join(dir, "root"))
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := store.Import(writeFile(t, dir, "corrupt.tar", data), "corrupt", Config{})
			if err == nil {
				t.Fatal("want an error")
			}
			checkNothingLeft(t, store, "", "")
		})
	}
	if _, err := store.Import(filepath.Join(dir, "missing.tar"), "x", Config{}); err == nil {
		t.Error("a missing tarball should fail")
	}
	if _, err := store.Import(writeFile(t, dir, "ok.tar", good), "Bad/Name", Config{}); err == nil || !strings.Contains(err.Error(), "lowercase") {
		t.Error("an invalid name should fail")
	}
}

// checkNothingLeft: no image, no layer, no staging directory, nothing
// outside.
func checkNothingLeft(t *testing.T, store *Store, outside, victim string) {
	t.Helper()
	for _, sub := range []string{"configs", "layers", "tmp", "l"} {
		entries, _ := os.ReadDir(store.path(sub))
		for _, e := range entries {
			t.Errorf("left in the store: %s/%s", sub, e.Name())
		}
	}
	if outside != "" {
		files, _ := os.ReadDir(outside)
		if len(files) != 1 {
			t.Errorf("something was written outside: %v", files)
		}
		if b, _ := os.ReadFile(victim); string(b) != "original" {
			t.Errorf("victim file changed: %q", b)
		}
	}
}

func TestApplyChange(t *testing.T) {
	var c Config
	for _, ch := range []string{`CMD ["sh", "-c", "echo hi"]`, "ENV A=1 B=2", "ENV GREETING hello world", "WORKDIR /srv/app"} {
		if err := c.ApplyChange(ch); err != nil {
			t.Fatalf("%q: %v", ch, err)
		}
	}
	want := Config{Cmd: []string{"sh", "-c", "echo hi"}, Env: []string{"A=1", "B=2", "GREETING=hello world"}, WorkingDir: "/srv/app"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if err := c.ApplyChange("CMD echo $HOME"); err != nil || !reflect.DeepEqual(c.Cmd, []string{"/bin/sh", "-c", "echo $HOME"}) {
		t.Errorf("shell form: %v %q", err, c.Cmd)
	}
	for ch, want := range map[string]Config{
		`ENTRYPOINT ["echo", "x"]`: {Entrypoint: []string{"echo", "x"}},
		"ENTRYPOINT top -b":        {Entrypoint: []string{"/bin/sh", "-c", "top -b"}},
		"USER nobody:nogroup":      {User: "nobody:nogroup"},
		"STOPSIGNAL SIGUSR1":       {StopSignal: "SIGUSR1"},
	} {
		var got Config
		if err := got.ApplyChange(ch); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %+v, %v; want %+v", ch, got, err, want)
		}
	}
	for _, bad := range []string{"CMD", `CMD ["sh"`, "CMD []", "WORKDIR relative", "ENV =x", "EXPOSE 80/icmp", "LABEL x", "VOLUME rel", "ONBUILD RUN x", "USER a:", "USER :b", "STOPSIGNAL NOPE", "ENTRYPOINT []"} {
		if err := c.ApplyChange(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestConfigCommand(t *testing.T) {
	c := Config{Entrypoint: []string{"ep"}, Cmd: []string{"cmd"}}
	for _, tc := range []struct {
		args []string
		ep   string
		set  bool
		want []string
	}{
		{nil, "", false, []string{"ep", "cmd"}},
		{[]string{"a"}, "", false, []string{"ep", "a"}},
		{nil, "other", true, []string{"other"}},
		{[]string{"a"}, "other", true, []string{"other", "a"}},
		{nil, "", true, []string{}},
		{[]string{"a"}, "", true, []string{"a"}},
	} {
		if got := c.Command(tc.args, tc.ep, tc.set); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Command(%q, %q, %v) = %q, want %q", tc.args, tc.ep, tc.set, got, tc.want)
		}
	}
}

// TestImportDevicesFIFOsAndFileCapabilities: what docker's layers carry is
// unpacked as docker does: device nodes and FIFOs made (the runtime is
// root), file capabilities and user.* attributes kept after the owner is
// set, overlayfs's own trusted.* attributes never taken from an archive.
func TestImportDevicesFIFOsAndFileCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but not root: device nodes need root")
		}
		t.Skip("device nodes need root")
	}
	// cap_net_raw+ep, as setcap writes it (VFS_CAP_REVISION_2).
	netRaw := string([]byte{0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, hdr := range []*tar.Header{
		{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Name: "dev/loopish", Typeflag: tar.TypeBlock, Mode: 0o660, Devmajor: 7, Devminor: 200},
		{Name: "run-fifo", Typeflag: tar.TypeFifo, Mode: 0o600},
		{Name: "bin/ping", Typeflag: tar.TypeReg, Mode: 0o755, Uid: 0, Gid: 0, Size: 1, PAXRecords: map[string]string{
			"SCHILY.xattr.security.capability": netRaw, "SCHILY.xattr.user.note": "kept",
			"SCHILY.xattr.trusted.overlay.opaque": "y"}},
	} {
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			tw.Write([]byte("x"))
		}
	}
	tw.Close()
	dir := t.TempDir()
	store := NewStore(filepath.Join(dir, "root"))
	if _, err := store.Import(writeFile(t, dir, "devices.tar", buf.Bytes()), "devices", Config{}); err != nil {
		t.Fatal(err)
	}
	img, err := store.Resolve("devices")
	if err != nil {
		t.Fatal(err)
	}
	rootfs := store.topLayer(img)
	for name, want := range map[string]uint32{"dev/null": unix.S_IFCHR, "dev/loopish": unix.S_IFBLK, "run-fifo": unix.S_IFIFO} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(rootfs, name), &st); err != nil || st.Mode&unix.S_IFMT != want {
			t.Errorf("%s: %v, mode %o; want type %o", name, err, st.Mode, want)
		}
		if name == "dev/null" && st.Rdev != unix.Mkdev(1, 3) {
			t.Errorf("dev/null is device %d:%d, want 1:3", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
	}
	ping := filepath.Join(rootfs, "bin", "ping")
	for attr, want := range map[string]string{"security.capability": netRaw, "user.note": "kept"} {
		got := make([]byte, 64)
		n, err := unix.Getxattr(ping, attr, got)
		if err != nil || string(got[:n]) != want {
			t.Errorf("bin/ping's %s: %q, %v; want it kept", attr, got[:max(n, 0)], err)
		}
	}
	if _, err := unix.Getxattr(ping, "trusted.overlay.opaque", make([]byte, 8)); err == nil {
		t.Error("trusted.overlay.opaque was taken from the archive")
	}
}

// TestImportRefusesImageArchives: docker save's archives (before docker 25
// and after) and OCI layouts are not root filesystems: import says so,
// instead of making an "image" of their manifest and layer tarballs.
func TestImportRefusesImageArchives(t *testing.T) {
	id := strings.Repeat("ab", 32)
	dir := t.TempDir()
	store := NewStore(filepath.Join(dir, "root"))
	for name, entries := range map[string][]entry{
		"docker save, docker 24": {{name: "manifest.json", typ: tar.TypeReg, body: "[]"}, {name: id + "/layer.tar", typ: tar.TypeReg, body: "x"}},
		"docker save, docker 25": {{name: "blobs/sha256/" + id, typ: tar.TypeReg, body: "x"}, {name: "index.json", typ: tar.TypeReg, body: "{}"},
			{name: "manifest.json", typ: tar.TypeReg, body: "[]"}, {name: "oci-layout", typ: tar.TypeReg, body: "{}"}},
		"OCI layout": {{name: "oci-layout", typ: tar.TypeReg, body: "{}"}, {name: "blobs/sha256/" + id, typ: tar.TypeReg, body: "x"}},
	} {
		_, err := store.Import(writeFile(t, dir, "saved.tar", makeTar(t, entries)), "saved", Config{})
		if err == nil || !strings.Contains(err.Error(), "image archive") {
			t.Errorf("%s: imported (%v), want it refused as an image archive", name, err)
		}
		if _, err := store.Resolve("saved"); err == nil {
			t.Fatalf("%s: an image was left", name)
		}
	}
	// A root filesystem that happens to have a manifest.json stays one.
	if _, err := store.Import(writeFile(t, dir, "rootfs.tar", makeTar(t, []entry{{name: "manifest.json", typ: tar.TypeReg, body: "{}"}})), "plain-rootfs", Config{}); err != nil {
		t.Errorf("a root filesystem with a manifest.json: %v", err)
	}
}
