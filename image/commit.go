package image

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Commit makes the image name from base and a container's own layer upper
// (the overlay's upper directory), as the container saw them merged: the
// book's chapter 4.4, which tarred the merged mount. Here the merge is
// done from the two directories, so an exited container (whose overlay is
// gone with its mount namespace) can be committed too, and the result
// goes through import's checks: the merged tree is written as a tarball
// into unpackAs. skip are paths (relative to /) that are not the
// container's own, such as the /etc files mydocker bind-mounts.
func (s *Store) Commit(base *Image, upper, name string, skip []string) error {
	if err := s.CheckNewName(name); err != nil {
		return err
	}
	entries, err := mergeLayers(base.Rootfs, upper, skip)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, entries)) }()
	err = s.unpackAs(name, s.withProgress(pr, "commit "+name, 0), base.Config)
	s.endProgress(err == nil)
	pr.Close()
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// layerEntry is one path of the merged tree and the file that provides it.
type layerEntry struct {
	path   string // relative, "a/b"
	source string // absolute path of the file in the lower or upper layer
}

// mergeLayers lists the merged view of lower and upper, as overlayfs
// shows it: upper's files over lower's; a whiteout in upper (a character
// device 0:0) hides lower's file of that name; an opaque directory in
// upper (xattr trusted.overlay.opaque=y) hides everything lower had in it;
// a path of upper that is not a directory hides lower's tree below it.
func mergeLayers(lower, upper string, skip []string) ([]layerEntry, error) {
	fromUpper := map[string]string{}
	hidden := map[string]bool{} // whiteouts
	covers := map[string]bool{} // opaque directories and non-directories of upper
	skipped := map[string]bool{}
	for _, p := range skip {
		skipped[strings.TrimPrefix(p, "/")] = true
	}
	err := filepath.WalkDir(upper, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == upper {
			return err
		}
		rel, _ := filepath.Rel(upper, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		switch {
		case info.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0:
			hidden[rel] = true
			return nil
		case d.IsDir():
			if isOpaque(path) {
				covers[rel] = true
			}
		default:
			covers[rel] = true
		}
		fromUpper[rel] = path
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the container's layer: %w", err)
	}
	var out []layerEntry
	err = filepath.WalkDir(lower, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == lower {
			return err
		}
		rel, _ := filepath.Rel(lower, path)
		if hidden[rel] || underCover(rel, covers, hidden) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if _, ok := fromUpper[rel]; !ok {
			out = append(out, layerEntry{rel, path})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the image: %w", err)
	}
	for rel, path := range fromUpper {
		if !skipped[rel] {
			out = append(out, layerEntry{rel, path})
		}
	}
	// Parents before their children.
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// isOpaque reports whether overlayfs marked the upper directory path as
// replacing, not merging with, the lower one of its name.
func isOpaque(path string) bool {
	v := make([]byte, 1)
	n, err := unix.Lgetxattr(path, "trusted.overlay.opaque", v)
	return err == nil && n == 1 && v[0] == 'y'
}

// underCover reports whether a parent directory of rel is opaque, replaced
// by a non-directory, or whited out in upper.
func underCover(rel string, covers, hidden map[string]bool) bool {
	for dir := filepath.Dir(rel); dir != "."; dir = filepath.Dir(dir) {
		if covers[dir] || hidden[dir] {
			return true
		}
	}
	return false
}

// writeTar writes entries as a tarball, owners and modes kept. Device
// nodes are left out: a container's /dev is made at run time, and import
// refuses them.
func writeTar(w io.Writer, entries []layerEntry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		info, err := os.Lstat(e.source)
		if err != nil {
			return err
		}
		if info.Mode()&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0 {
			continue
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(e.source); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = e.path
		if info.IsDir() {
			hdr.Name += "/"
		}
		st := info.Sys().(*syscall.Stat_t)
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = int(st.Uid), int(st.Gid), "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(e.source)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	return tw.Close()
}
