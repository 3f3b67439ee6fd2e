package image

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Import unpacks the root filesystem tarball at tarball (plain or gzip)
// into the store as name. It is all or nothing: the tarball is unpacked
// into a hidden directory that is renamed into place only when every entry
// has been checked and written, and removed on any failure.
//
// Hostile entries are refused, not skipped: absolute names, names with a
// ".." component, anything written through a symbolic link (os.Root
// refuses to leave the unpack directory), links whose target leaves it,
// and device nodes.
//
// tarball "-" is standard input, as for `docker import -`. cfg, when not
// empty, is stored beside the root filesystem (import --change).
func (s *Store) Import(tarball, name string, cfg Config) (err error) {
	if err := s.CheckNewName(name); err != nil {
		return err
	}
	f := os.Stdin
	if tarball != "-" {
		if f, err = os.Open(tarball); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
	} else {
		tarball = "standard input"
	}

	var total int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		total = fi.Size()
	}
	err = s.unpackAs(name, s.withProgress(f, "import "+name, total), cfg)
	s.endProgress(err == nil)
	if err != nil {
		return fmt.Errorf("import %s: %w", tarball, err)
	}
	return nil
}

// CheckNewName checks that name can name a new image: valid, and not one
// already.
func (s *Store) CheckNewName(ref string) error {
	if _, ok := StoreName(ref); !ok {
		return fmt.Errorf("invalid image name %q: use NAME or NAME:latest, NAME of lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", ref)
	}
	if s.Exists(ref) {
		return fmt.Errorf("image %q already exists (remove it with 'mydocker rmi %s')", ref, ref)
	}
	return nil
}

// withProgress is r, counted on s.Progress when that is set.
func (s *Store) withProgress(r io.Reader, label string, total int64) io.Reader {
	if s.Progress == nil {
		return r
	}
	s.current = &progress{r: r, w: s.Progress, label: label, total: total}
	return s.current
}

func (s *Store) endProgress(ok bool) {
	if s.current != nil {
		s.current.finish(ok)
		s.current = nil
	}
}

// unpackAs makes the image name from the tarball r, all or nothing: it is
// unpacked into a hidden staging directory that is renamed into place only
// when every entry has been checked and written, and removed on any
// failure. Who removes a staging directory:
//   - this function, on an error or on Cancel (a signal);
//   - if mydocker is killed with SIGKILL, the next import or commit: a
//     staging directory is held (flock) by its import from the moment it
//     has its name, so one that nobody holds is a dead import's
//     (removeDeadStaging).
func (s *Store) unpackAs(ref string, r io.Reader, cfg Config) (err error) {
	name, ok := StoreName(ref)
	if !ok {
		return s.CheckNewName(ref)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create image store: %w", err)
	}
	s.removeDeadStaging()
	staging, held, err := s.newStaging("import", name)
	if err != nil {
		return err
	}
	defer held.Close()
	defer func() {
		if err != nil {
			os.RemoveAll(staging)
		}
	}()
	if s.Cancel != nil {
		r = cancellable(r, s.Cancel)
	}
	rootfs := filepath.Join(staging, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return err
	}
	size, err := unpack(r, rootfs)
	if s.interrupted() {
		return ErrInterrupted
	}
	if err != nil {
		return err
	}
	if err := addEtcMountPoints(rootfs); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(staging, "size"), []byte(strconv.FormatInt(size, 10)+"\n"), 0o644); err != nil {
		return err
	}
	if !cfg.Empty() {
		if err := writeConfig(staging, cfg); err != nil {
			return err
		}
	}
	if s.interrupted() {
		return ErrInterrupted
	}
	if err := os.Rename(staging, s.imageDir(name)); err != nil {
		if s.Exists(name) {
			// Another import of the same name finished first.
			return fmt.Errorf("image %q already exists (remove it with 'mydocker rmi %s')", name, name)
		}
		return err
	}
	return nil
}

func (s *Store) interrupted() bool {
	select {
	case <-s.Cancel:
		return true
	default:
		return false
	}
}

// newStaging makes a hidden directory for an import ("import") or an rmi
// ("remove") of name, held: it is made under a ".new-" name, locked, and
// only then renamed to the ".import-" or ".remove-" name removeDeadStaging
// looks at (a rename keeps the lock).
func (s *Store) newStaging(kind, name string) (string, *os.File, error) {
	made, err := os.MkdirTemp(s.dir, ".new-"+kind+"-"+name+"-")
	if err != nil {
		return "", nil, err
	}
	held, err := os.Open(made)
	if err == nil {
		err = unix.Flock(int(held.Fd()), unix.LOCK_EX)
	}
	staging := filepath.Join(s.dir, "."+strings.TrimPrefix(filepath.Base(made), ".new-"))
	if err == nil {
		err = os.Rename(made, staging)
	}
	if err != nil {
		if held != nil {
			held.Close()
		}
		os.RemoveAll(made)
		return "", nil, fmt.Errorf("staging directory: %w", err)
	}
	return staging, held, nil
}

// removeDeadStaging removes what imports, commits and rmi's killed with
// SIGKILL left: ".import-" and ".remove-" directories nobody holds, and
// ".new-" ones older than a minute (killed in the instant before they held
// their directory).
func (s *Store) removeDeadStaging() {
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		path := filepath.Join(s.dir, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), ".import-"), strings.HasPrefix(e.Name(), ".remove-"):
			f, err := os.Open(path)
			if err != nil {
				continue
			}
			if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
				os.RemoveAll(path)
			}
			f.Close()
		case strings.HasPrefix(e.Name(), ".new-"):
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
				os.RemoveAll(path)
			}
		}
	}
}

// cancellable reads r until cancel is closed. r is read by a goroutine of
// its own, so that a read blocked on a quiet pipe (import - with nothing
// coming) does not keep the import from cleaning up.
func cancellable(r io.Reader, cancel <-chan struct{}) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, r)
		pw.CloseWithError(err)
	}()
	go func() {
		<-cancel
		pr.CloseWithError(ErrInterrupted)
	}()
	return pr
}

// archiveNames notes the entries that tell an image archive (docker save,
// an OCI layout) from a root filesystem, which import would otherwise
// take as one: an "image" of manifest.json and layer tarballs.
type archiveNames struct{ manifest, ociLayout, layerTar, blobs bool }

func (a *archiveNames) note(name string) {
	switch dir, base := path.Split(name); {
	case name == "manifest.json":
		a.manifest = true
	case name == "oci-layout":
		a.ociLayout = true
	case strings.HasPrefix(name, "blobs/sha256/"):
		a.blobs = true
	case base == "layer.tar" && len(dir) == 65:
		a.layerTar = true
	}
}

func (a *archiveNames) imageArchive() string {
	switch {
	case a.ociLayout && a.blobs:
		return "an OCI image layout"
	case a.manifest && (a.layerTar || a.blobs):
		return "docker save"
	}
	return ""
}

// addEtcMountPoints makes /etc/hostname, /etc/hosts and /etc/resolv.conf
// (empty) where the image has none, as docker's images have them: each run
// binds its own over them, and a missing one would be made in every
// container's layer, copying /etc up, and deleted again at its end.
func addEtcMountPoints(rootfs string) error {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	if fi, err := root.Lstat("etc"); errors.Is(err, fs.ErrNotExist) {
		if err := root.Mkdir("etc", 0o755); err != nil {
			return fmt.Errorf("image /etc: %w", err)
		}
	} else if err != nil || !fi.IsDir() {
		return nil // not a plain directory: left to run, as it is
	}
	for _, name := range []string{"hostname", "hosts", "resolv.conf"} {
		if _, err := root.Lstat("etc/" + name); !errors.Is(err, fs.ErrNotExist) {
			continue // there already (a link too: run resolves it in the root)
		}
		f, err := root.OpenFile("etc/"+name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("image /etc/%s: %w", name, err)
		}
		f.Close()
	}
	return nil
}

// decompressed returns r itself, or a gzip reader when r starts with the
// gzip magic bytes.
func decompressed(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

// unpack writes the tarball r under dir and returns the bytes written.
func unpack(r io.Reader, dir string) (int64, error) {
	r, err := decompressed(r)
	if err != nil {
		return 0, fmt.Errorf("corrupt archive: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()

	tr := tar.NewReader(r)
	var size int64
	var dirs []*tar.Header
	var seen archiveNames
	entries := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("corrupt archive: %w", err)
		}
		entries++
		name, err := entryName(hdr.Name)
		if err != nil {
			return 0, err
		}
		seen.note(name)
		if name == "." {
			continue
		}
		n, err := writeEntry(root, name, hdr, tr)
		if err != nil {
			return 0, err
		}
		size += n
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, hdr)
		}
	}
	if entries == 0 {
		return 0, errors.New("corrupt archive: no entries")
	}
	if kind := seen.imageArchive(); kind != "" {
		return 0, fmt.Errorf("this is an image archive (%s), not a root filesystem: mydocker cannot load one yet; export a container of it instead (docker export CONTAINER > rootfs.tar)", kind)
	}
	// Directory times last: writing their contents changed them.
	for _, hdr := range dirs {
		name, _ := entryName(hdr.Name)
		_ = root.Chtimes(name, hdr.AccessTime, hdr.ModTime)
	}
	return size, nil
}

// entryName checks and cleans an archive entry's name.
func entryName(raw string) (string, error) {
	if strings.HasPrefix(raw, "/") {
		return "", fmt.Errorf("refused: entry %q has an absolute path", raw)
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", fmt.Errorf("refused: entry %q leaves the image (..)", raw)
		}
	}
	return path.Clean(raw), nil
}

func writeEntry(root *os.Root, name string, hdr *tar.Header, body io.Reader) (int64, error) {
	mode := fs.FileMode(hdr.Mode) & fs.ModePerm
	if parent := path.Dir(name); parent != "." {
		// Archives may omit directory entries; the kernel-side walk of
		// os.Root still refuses a parent that is a link leading out.
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return 0, refused(hdr.Name, err)
		}
	}
	var written int64
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(name, mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return 0, refused(hdr.Name, err)
		}
	case tar.TypeReg, tar.TypeRegA:
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
		if err != nil {
			return 0, refused(hdr.Name, err)
		}
		written, err = io.Copy(f, body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, fmt.Errorf("write %q: %w", hdr.Name, err)
		}
	case tar.TypeSymlink:
		// The link itself may point anywhere (/bin/busybox is normal in a
		// root filesystem: it is resolved inside the container). Writing
		// through it later is what os.Root refuses.
		if err := root.Symlink(hdr.Linkname, name); err != nil {
			return 0, refused(hdr.Name, err)
		}
	case tar.TypeLink:
		target, err := entryName(hdr.Linkname)
		if err != nil {
			return 0, err
		}
		if err := root.Link(target, name); err != nil {
			return 0, refused(hdr.Name, err)
		}
		return 0, nil
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		// As docker unpacks them: a container's own /dev is made at run
		// time, and the device rules decide what it may open.
		if err := mknodIn(root, name, hdr); err != nil {
			return 0, err
		}
	case tar.TypeXGlobalHeader:
		return 0, nil
	default:
		return 0, fmt.Errorf("refused: entry %q has unsupported type %q", hdr.Name, hdr.Typeflag)
	}
	// Only root can give files away; an unprivileged import (--root in
	// one's own directory) keeps them as the importing user's, as tar does.
	if os.Geteuid() == 0 {
		if err := root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
			return 0, fmt.Errorf("chown %q: %w", hdr.Name, err)
		}
	}
	if hdr.Typeflag != tar.TypeSymlink {
		// chown clears set-user-ID bits: set the full mode after it.
		if err := root.Chmod(name, fs.FileMode(hdr.Mode)&fs.ModePerm|modeBits(hdr.Mode)); err != nil {
			return 0, fmt.Errorf("chmod %q: %w", hdr.Name, err)
		}
		_ = root.Chtimes(name, hdr.AccessTime, hdr.ModTime)
	}
	// Extended attributes last: chown clears security.capability.
	if err := setXattrs(root, name, hdr); err != nil {
		return 0, err
	}
	return written, nil
}

// mknodIn makes the device node or FIFO hdr describes at name inside
// root: mknodat(2) in its parent directory, opened through root (os.Root
// has no mknod), by its last component alone.
func mknodIn(root *os.Root, name string, hdr *tar.Header) error {
	parent, err := root.Open(path.Dir(name))
	if err != nil {
		return refused(hdr.Name, err)
	}
	defer parent.Close()
	mode := uint32(hdr.Mode) & 0o7777
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(int(parent.Fd()), path.Base(name), mode, int(dev)); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("entry %q is a device node: making one needs root", hdr.Name)
		}
		return fmt.Errorf("make %q: %w", hdr.Name, err)
	}
	return nil
}

// setXattrs gives name the extended attributes the archive records for it
// (PAX "SCHILY.xattr." records, as GNU tar and docker write them), of the
// kinds a root filesystem carries: file capabilities (security.capability,
// ping's cap_net_raw) and user.* ones. Others are left out: trusted.* and
// security.* ones belong to the host (overlayfs keeps its whiteouts and
// redirects in trusted.overlay.*, which a layer must never forge).
func setXattrs(root *os.Root, name string, hdr *tar.Header) error {
	for key, value := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(key, "SCHILY.xattr.")
		if !ok || attr != "security.capability" && !strings.HasPrefix(attr, "user.") {
			continue
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA && hdr.Typeflag != tar.TypeDir {
			continue
		}
		f, err := root.Open(name)
		if err != nil {
			return refused(hdr.Name, err)
		}
		err = unix.Fsetxattr(int(f.Fd()), attr, []byte(value), 0)
		f.Close()
		if err != nil {
			return fmt.Errorf("set %s on %q: %w", attr, hdr.Name, err)
		}
	}
	return nil
}

// modeBits turns tar's set-user-ID, set-group-ID and sticky bits into Go's.
func modeBits(mode int64) fs.FileMode {
	var m fs.FileMode
	if mode&04000 != 0 {
		m |= fs.ModeSetuid
	}
	if mode&02000 != 0 {
		m |= fs.ModeSetgid
	}
	if mode&01000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

func refused(entry string, err error) error {
	if strings.Contains(err.Error(), "path escapes from parent") {
		// os.Root's words: say what it means for the tarball.
		return fmt.Errorf("refused: entry %q would be written through a symbolic link that leads out of the image", entry)
	}
	return fmt.Errorf("refused: entry %q: %w", entry, err)
}
