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
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Whiteouts, as the OCI image spec writes them in a layer's tar and as
// overlayfs keeps them in a layer's directory:
//
//	tar entry               layer directory          meaning
//	dir/.wh.NAME            dir/NAME, a 0:0 char device   NAME of the layers below is deleted
//	dir/.wh..wh..opq        dir with trusted.overlay.opaque=y   dir hides what the layers below have in it
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
)

// decompressed returns r itself, or a gzip reader when r starts with the
// gzip magic bytes. zstd is refused by name (Go has no zstd reader in its
// standard library, and no layer mydocker writes uses it).
func decompressed(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return gzip.NewReader(br)
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		return nil, errors.New("zstd-compressed layers are not supported (gzip and plain tar are)")
	}
	return br, nil
}

// unpackTar writes the tar r under dir, whiteouts turned into overlayfs's,
// and returns the bytes of the files written. flat is import's case: a
// root filesystem, which must not be an image archive.
// split, when set, is the stream r reads from, recording the tar (the
// contents of each file are where the file is written).
func unpackTar(r io.Reader, dir string, flat bool, split *tarSplit) (int64, error) {
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
		if split != nil {
			if err := split.segment(); err != nil {
				return 0, err
			}
		}
		if name == "." {
			continue
		}
		write := func() (string, int64, error) {
			n, err := writeEntry(root, name, hdr, tr)
			if isEscape(err) {
				// A parent is a symbolic link that leads out (/lib ->
				// /usr/lib is usual): it is followed inside the layer,
				// as chroot would, never outside.
				if resolved, rerr := resolveIn(root, name); rerr == nil && resolved != name {
					n, err = writeEntry(root, resolved, hdr, tr)
					return resolved, n, err
				}
			}
			return name, n, err
		}
		var n int64
		if split != nil && (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA) && hdr.Size > 0 {
			err = split.file(hdr.Name, hdr.Size, func() (string, int64, error) {
				written, m, err := write()
				n = m
				return written, m, err
			})
		} else {
			_, n, err = write()
		}
		if err != nil {
			return 0, err
		}
		size += n
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, hdr)
		}
	}
	if entries == 0 && flat {
		return 0, errors.New("corrupt archive: no entries")
	}
	if kind := seen.imageArchive(); flat && kind != "" {
		return 0, fmt.Errorf("this is an image archive (%s), not a root filesystem: load it with 'mydocker load -i FILE'", kind)
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

// isEscape reports whether os.Root refused to follow a link out of it.
func isEscape(err error) bool {
	var e *escapeError
	return err != nil && (errors.As(err, &e) || strings.Contains(err.Error(), "path escapes from parent"))
}

// escapeError is os.Root's refusal to follow a link out of the layer, in
// the words of the archive's entry.
type escapeError struct{ entry string }

func (e *escapeError) Error() string {
	return fmt.Sprintf("refused: entry %q would be written through a symbolic link that leads out of the image", e.entry)
}

// resolveIn resolves the symbolic links in name's parent directories as if
// root were "/": an absolute target starts again at root, ".." stops at it.
func resolveIn(root *os.Root, name string) (string, error) {
	dir, base := path.Split(name)
	queue := strings.Split(dir, "/")
	var cur []string
	links := 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) > 0 {
				cur = cur[:len(cur)-1]
			}
			continue
		}
		p := path.Join(append(cur, c)...)
		fi, err := root.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = append(cur, c)
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("refused: entry %q: too many levels of symbolic links", name)
		}
		target, err := root.Readlink(p)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = nil
		}
		queue = append(strings.Split(target, "/"), queue...)
	}
	return path.Join(append(cur, base)...), nil
}

func writeEntry(root *os.Root, name string, hdr *tar.Header, body io.Reader) (int64, error) {
	mode := fs.FileMode(hdr.Mode) & fs.ModePerm
	dir, base := path.Split(name)
	if dir != "" {
		// Archives may omit directory entries; the kernel-side walk of
		// os.Root still refuses a parent that is a link leading out.
		if err := root.MkdirAll(strings.TrimSuffix(dir, "/"), 0o755); err != nil {
			return 0, refused(hdr.Name, err)
		}
	}
	if base == whiteoutOpaque {
		return 0, setOpaque(root, dir, hdr)
	}
	if strings.HasPrefix(base, whiteoutPrefix+whiteoutPrefix) {
		return 0, nil // aufs's own files (.wh..wh.plnk...): not the image's
	}
	if deleted, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		return 0, makeWhiteout(root, path.Join(dir, deleted), hdr)
	}
	if hdr.Typeflag != tar.TypeDir {
		// A later entry of the same name replaces an earlier one, as tar
		// does; a directory stays and takes the new entries into it.
		if err := removeNonDir(root, name); err != nil {
			return 0, refused(hdr.Name, err)
		}
	}
	var written int64
	switch hdr.Typeflag {
	case tar.TypeDir:
		if fi, err := root.Lstat(name); err == nil && !fi.IsDir() {
			if err := root.Remove(name); err != nil {
				return 0, refused(hdr.Name, err)
			}
		}
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
		// through it later is resolved inside the layer (resolveIn).
		if err := root.Symlink(hdr.Linkname, name); err != nil {
			return 0, refused(hdr.Name, err)
		}
	case tar.TypeLink:
		target, err := entryName(hdr.Linkname)
		if err != nil {
			return 0, fmt.Errorf("refused: entry %q is a hard link to %q, outside the layer", hdr.Name, hdr.Linkname)
		}
		err = root.Link(target, name)
		if isEscape(err) {
			if resolved, rerr := resolveIn(root, target); rerr == nil {
				err = root.Link(resolved, name)
			}
		}
		if err != nil {
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

// removeNonDir removes name if it is there and not a directory.
func removeNonDir(root *os.Root, name string) error {
	fi, err := root.Lstat(name)
	if err != nil || fi.IsDir() {
		return nil
	}
	return root.Remove(name)
}

// makeWhiteout makes name a whiteout: overlayfs's 0:0 character device,
// which hides the file of that name in the layers below.
func makeWhiteout(root *os.Root, name string, hdr *tar.Header) error {
	if err := removeNonDir(root, name); err != nil {
		return refused(hdr.Name, err)
	}
	wh := &tar.Header{Name: hdr.Name, Typeflag: tar.TypeChar, Mode: 0}
	if err := mknodIn(root, name, wh); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		_ = root.Lchown(name, hdr.Uid, hdr.Gid)
	}
	return nil
}

// setOpaque marks dir opaque: it hides what the layers below have in it.
func setOpaque(root *os.Root, dir string, hdr *tar.Header) error {
	if dir == "" {
		dir = "."
	}
	d, err := root.Open(dir)
	if err != nil {
		return refused(hdr.Name, err)
	}
	defer d.Close()
	if err := unix.Fsetxattr(int(d.Fd()), opaqueXattr, []byte("y"), 0); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("entry %q is an opaque directory: making one needs root", hdr.Name)
		}
		return fmt.Errorf("opaque directory %q: %w", hdr.Name, err)
	}
	return nil
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
			if strings.Contains(path.Base(hdr.Name), whiteoutPrefix) {
				return fmt.Errorf("entry %q is a whiteout: making one needs root", hdr.Name)
			}
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
	if isEscape(err) {
		// os.Root's words: say what it means for the tarball.
		return &escapeError{entry}
	}
	return fmt.Errorf("refused: entry %q: %w", entry, err)
}

// isWhiteout reports whether fi is overlayfs's whiteout (a 0:0 char device).
func isWhiteout(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0
}
