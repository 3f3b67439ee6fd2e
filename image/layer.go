package image

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A layer is made in two steps. unpackLayer reads its tar into a held
// directory of tmp/, computing its DiffID on the way; publishLayer, under
// the store's lock, renames it into layers/ under its ChainID, or drops it
// if that layer is there already. A layer is thus in layers/ whole or not
// at all, whatever kills the command that makes it.

// StagedLayer is a layer unpacked into tmp/, not yet in layers/.
type StagedLayer struct {
	dir     string // tmp/NAME: diff/, diff-id, size, tar-size, tar-split.gz
	held    *os.File
	DiffID  string // sha256 of its uncompressed tar
	Size    int64  // bytes of its files
	TarSize int64  // bytes of its uncompressed tar
}

// Discard removes a staged layer that will not be published.
func (l *StagedLayer) Discard() {
	os.RemoveAll(l.dir)
	l.held.Close()
}

// hashCounter is the sha256 and length of what is written to it.
type hashCounter struct {
	hash.Hash
	n int64
}

func newHashCounter() *hashCounter { return &hashCounter{Hash: sha256.New()} }

func (h *hashCounter) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	return h.Hash.Write(p)
}

func (h *hashCounter) digest() string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// unpackLayer reads one layer's tar (plain or gzip) into tmp/. Its DiffID
// is the sha256 of the uncompressed tar, all of it (the end-of-archive
// blocks too). The tar's headers are kept (tarsplit.go), so that save can
// write the very same tar again from the layer's files, as docker does:
// the DiffID in the image's config stays true.
func (s *Store) unpackLayer(r io.Reader, flat bool) (_ *StagedLayer, err error) {
	dir, held, err := s.newStaging("layer", false)
	if err != nil {
		return nil, err
	}
	l := &StagedLayer{dir: dir, held: held}
	defer func() {
		if err != nil {
			l.Discard()
		}
	}()
	if err := os.Mkdir(filepath.Join(dir, "diff"), 0o755); err != nil {
		return nil, err
	}
	plain, err := decompressed(r)
	if err != nil {
		return nil, fmt.Errorf("corrupt archive: %w", err)
	}
	sum := newHashCounter()
	record, err := os.Create(filepath.Join(dir, splitFile))
	if err != nil {
		return nil, err
	}
	defer record.Close()
	split := newTarSplit(io.TeeReader(plain, sum), record)
	l.Size, err = unpackTar(split, filepath.Join(dir, "diff"), flat, split)
	if err != nil {
		return nil, err
	}
	// The rest of the stream (the end-of-archive blocks, padding) is part
	// of the tar the DiffID is the digest of.
	if _, err := io.Copy(io.Discard, split); err != nil {
		return nil, fmt.Errorf("corrupt archive: %w", err)
	}
	if err := split.close(); err != nil {
		return nil, err
	}
	l.DiffID, l.TarSize = sum.digest(), sum.n
	for name, value := range map[string]string{
		"diff-id": l.DiffID, "size": strconv.FormatInt(l.Size, 10), "tar-size": strconv.FormatInt(l.TarSize, 10),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// chainID is the ChainID of a layer diffID over the layers parent names
// ("" for the bottom one).
func chainID(parent, diffID string) string {
	if parent == "" {
		return diffID
	}
	return ChainIDs([]string{parent, diffID})[1]
}

// publishLayer puts l into layers/ as the layer diffID over parent, and
// returns its ChainID; if that layer is there already, l is dropped. The
// caller holds the store's lock.
func (s *Store) publishLayer(l *StagedLayer, parent string) (string, error) {
	chain := chainID(parent, l.DiffID)
	dst := s.layerDir(chain)
	if _, err := os.Stat(dst); err == nil {
		l.Discard()
		return chain, nil
	}
	if parent != "" {
		if err := os.WriteFile(filepath.Join(l.dir, "parent"), []byte(parent+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	link, err := s.makeLink(chain)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(l.dir, "link"), []byte(link+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.path("layers"), 0o700); err != nil {
		return "", err
	}
	// The store's directories are root's alone (0700), but a layer's
	// files are every container's root filesystem: its own directory is
	// open to all, as the image's "/" must be.
	if err := os.Chmod(l.dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(l.dir, dst); err != nil {
		return "", fmt.Errorf("store layer %s: %w", shortID(chain), err)
	}
	l.held.Close()
	return chain, nil
}

// makeLink makes the short name of the layer chain in l/: six characters,
// so that overlayfs's 500 layers fit in the one page a mount's options
// may take (lowerdir=NAME:NAME:..., mounted from l/).
func (s *Store) makeLink(chain string) (string, error) {
	if err := os.MkdirAll(s.LinkDir(), 0o700); err != nil {
		return "", err
	}
	target := filepath.Join("..", "layers", strings.TrimPrefix(chain, "sha256:"), "diff")
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, 6)
	for try := 0; try < 100; try++ {
		if _, err := unix.Getrandom(b, 0); err != nil {
			return "", err
		}
		for i := range b {
			b[i] = alphabet[b[i]%32]
		}
		err := os.Symlink(target, filepath.Join(s.LinkDir(), string(b)))
		if err == nil {
			return string(b), nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("layer link: %w", err)
		}
	}
	return "", errors.New("layer link: no free short name")
}

// layerTar writes the tar of the files under dir, a layer as overlayfs
// keeps one (a container's upper directory, or a layer's diff): whiteouts
// become .wh.NAME entries and opaque directories a .wh..wh..opq entry in
// them, as the OCI image spec writes a layer. skip are paths (relative,
// "etc/hosts") that are not the layer's own. Hard links stay links; file
// capabilities are kept.
func layerTar(w io.Writer, dir string, skip map[string]bool) error {
	tw := tar.NewWriter(w)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if skip[rel] {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		if isWhiteout(info) {
			parent, base := filepath.Split(rel)
			return tw.WriteHeader(&tar.Header{Name: parent + whiteoutPrefix + base, Typeflag: tar.TypeReg,
				Mode: 0o600, ModTime: info.ModTime(), Uid: int(st.Uid), Gid: int(st.Gid), Format: tar.FormatPAX})
		}
		if info.Mode()&fs.ModeSocket != 0 {
			return nil // a socket is a live thing, not a file to keep
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = int(st.Uid), int(st.Gid), "", ""
		hdr.Format = tar.FormatPAX
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if info.IsDir() {
			hdr.Name += "/"
		}
		if info.Mode().IsRegular() && st.Nlink > 1 {
			key := inode{uint64(st.Dev), st.Ino}
			if first, ok := seen[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				seen[key] = rel
			}
		}
		if capability := make([]byte, 64); !info.IsDir() && info.Mode().IsRegular() {
			if n, err := unix.Lgetxattr(p, "security.capability", capability); err == nil && n > 0 {
				hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": string(capability[:n])}
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.IsDir() && isOpaque(p) {
			if err := tw.WriteHeader(&tar.Header{Name: rel + "/" + whiteoutOpaque, Typeflag: tar.TypeReg,
				Mode: 0o600, ModTime: info.ModTime(), Format: tar.FormatPAX}); err != nil {
				return err
			}
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// isOpaque reports whether overlayfs marks the directory path as replacing,
// not merging with, the one of its name in the layers below.
func isOpaque(path string) bool {
	v := make([]byte, 1)
	n, err := unix.Lgetxattr(path, opaqueXattr, v)
	return err == nil && n == 1 && v[0] == 'y'
}

// writeLayerTar writes the layer chain's tar again, byte for byte as it
// was unpacked: its headers from its record (tarsplit.go), its files'
// contents from diff/, read inside it, never through a link that leads
// out.
func (s *Store) writeLayerTar(w io.Writer, chain string) error {
	dir := s.layerDir(chain)
	f, err := os.Open(filepath.Join(dir, splitFile))
	if err != nil {
		return fmt.Errorf("layer %s: %w", shortID(chain), err)
	}
	defer f.Close()
	root, err := os.OpenRoot(filepath.Join(dir, "diff"))
	if err != nil {
		return fmt.Errorf("layer %s: %w", shortID(chain), err)
	}
	defer root.Close()
	open := func(name string) (*os.File, error) {
		f, err := root.Open(name)
		if isEscape(err) {
			var resolved string
			if resolved, err = resolveIn(root, name); err == nil {
				f, err = root.Open(resolved)
			}
		}
		return f, err
	}
	if err := joinTar(w, f, open); err != nil {
		return fmt.Errorf("layer %s: %w", shortID(chain), err)
	}
	return nil
}

// layerSizes reads a layer's size files: its files' bytes, its tar's.
func (s *Store) layerSizes(chain string) (size, tarSize int64) {
	read := func(name string) int64 {
		data, _ := os.ReadFile(filepath.Join(s.layerDir(chain), name))
		n, _ := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		return n
	}
	return read("size"), read("tar-size")
}
