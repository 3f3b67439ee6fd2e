package image

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Stores written before layers kept each image flat, under ROOT/images:
//
//	images/NAME/rootfs/       its files
//	images/NAME/size          bytes, written last (its time is the image's)
//	images/NAME/config.json   import --change's config, when set
//
// migrate turns each into a one-layer image of the store, NAME:latest,
// without copying its files: the rootfs directory is renamed into the
// layer. It runs, under the store's lock, in the first command that reads
// the store, and each step can be killed and taken up again:
//
//  1. images/NAME/layer/ is made beside rootfs/: diff-id, size and
//     tar-split.gz, from a tar of rootfs/ that is hashed, not kept;
//  2. rootfs/ is renamed to layer/diff/;
//  3. the config is written (its bytes follow from what images/NAME
//     holds, so a step taken again writes the same image ID);
//  4. layer/ is renamed into layers/, unless it is there already;
//  5. the name NAME:latest is given to the config;
//  6. images/NAME goes.
//
// Nothing removes unused layers while images/ has an image left in it
// (prune runs after migrate, under the same lock).
func (s *Store) migrate() error {
	legacy := filepath.Join(s.root, "images")
	if _, err := os.Lstat(legacy); errors.Is(err, fs.ErrNotExist) {
		return nil // the common case: one stat
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	entries, err := os.ReadDir(legacy)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // migrated meanwhile
	}
	if err != nil {
		return fmt.Errorf("images of an earlier mydocker: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(legacy, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			// An old import's or rmi's staging: that command is gone
			// (the store's lock is held, and old binaries never took it,
			// but a live one would be mid-import: left to it).
			if !lockHeld(path) {
				os.RemoveAll(path)
			}
			continue
		}
		if err := s.migrateImage(e.Name(), path); err != nil {
			return fmt.Errorf("image %s of an earlier mydocker: %w", e.Name(), err)
		}
	}
	if err := os.Remove(legacy); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil // an old binary's import is under way in it: next time
	}
	return nil
}

func (s *Store) migrateImage(name, dir string) error {
	layer := filepath.Join(dir, "layer")
	if _, err := os.Stat(filepath.Join(dir, "rootfs")); err == nil {
		// Step 1, made afresh if a killed run left half of it.
		os.RemoveAll(layer)
		tmp := filepath.Join(dir, ".layer")
		os.RemoveAll(tmp)
		if err := os.Mkdir(tmp, 0o755); err != nil {
			return err
		}
		diffID, tarSize, err := recordLayer(filepath.Join(dir, "rootfs"), filepath.Join(tmp, splitFile))
		if err != nil {
			return err
		}
		size, _ := os.ReadFile(filepath.Join(dir, "size"))
		for file, value := range map[string]string{"diff-id": diffID, "size": strings.TrimSpace(string(size)), "tar-size": strconv.FormatInt(tarSize, 10)} {
			if err := os.WriteFile(filepath.Join(tmp, file), []byte(value+"\n"), 0o644); err != nil {
				return err
			}
		}
		if err := os.Rename(tmp, layer); err != nil {
			return err
		}
		// Step 2.
		if err := os.Rename(filepath.Join(dir, "rootfs"), filepath.Join(layer, "diff")); err != nil {
			return err
		}
	}
	diffIDFile := filepath.Join(layer, "diff-id")
	if _, err := os.Stat(layer); err != nil {
		diffIDFile = filepath.Join(dir, "diff-id") // step 4 done: kept here
	}
	data, err := os.ReadFile(diffIDFile)
	if errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(dir) // not an image (a half import of an old binary)
	}
	if err != nil {
		return err
	}
	diffID := strings.TrimSpace(string(data))
	if err := os.WriteFile(filepath.Join(dir, "diff-id"), []byte(diffID+"\n"), 0o644); err != nil {
		return err
	}
	// Step 3: the config, from what dir holds.
	var cfg Config
	if data, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		if err := json.Unmarshal(data, &cfg); err != nil {
			return fmt.Errorf("config.json: %w", err)
		}
	}
	created := time.Unix(0, 0).UTC()
	if fi, err := os.Stat(filepath.Join(dir, "size")); err == nil {
		created = fi.ModTime().UTC().Truncate(time.Second)
	}
	raw, err := json.Marshal(ImageConfig{Created: &created, Architecture: goarch(), OS: "linux", Config: cfg,
		RootFS:  RootFS{Type: "layers", DiffIDs: []string{diffID}},
		History: []History{{Created: &created, CreatedBy: "mydocker import", Comment: "a flat image of an earlier mydocker"}}})
	if err != nil {
		return err
	}
	id := digestOf(raw)
	if err := os.MkdirAll(s.path("configs"), 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(s.configPath(id), raw); err != nil {
		return err
	}
	// Step 4.
	if _, err := os.Stat(layer); err == nil {
		if _, err := os.Stat(s.layerDir(diffID)); err == nil {
			os.RemoveAll(layer) // the same files are a layer already
		} else {
			held, err := os.Open(layer)
			if err != nil {
				return err
			}
			err = func() error {
				defer held.Close()
				_, err := s.publishLayer(&StagedLayer{dir: layer, held: held, DiffID: diffID}, "")
				return err
			}()
			if err != nil {
				return err
			}
		}
	}
	// Step 5.
	repos, err := s.repositories()
	if err != nil {
		return err
	}
	r, err := ParseReference(name)
	if err != nil {
		return err
	}
	if _, taken := repos[r.String()]; !taken {
		repos[r.String()] = id
		if err := s.writeRepositories(repos); err != nil {
			return err
		}
	}
	// Step 6.
	return os.RemoveAll(dir)
}

// recordLayer is the DiffID and tar size of the tar of dir's files, and
// its record at split (tarsplit.go), for save.
func recordLayer(dir, split string) (string, int64, error) {
	f, err := os.Create(split)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(layerTar(pw, dir, nil)) }()
	defer pr.Close()
	sum := newHashCounter()
	rec := newTarSplit(io.TeeReader(pr, sum), f)
	tr := tar.NewReader(rec)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", 0, err
		}
		if err := rec.segment(); err != nil {
			return "", 0, err
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			err := rec.file(hdr.Name, hdr.Size, func() (string, int64, error) {
				n, err := io.Copy(io.Discard, tr)
				return path.Clean(hdr.Name), n, err
			})
			if err != nil {
				return "", 0, err
			}
		}
	}
	if _, err := io.Copy(io.Discard, rec); err != nil {
		return "", 0, err
	}
	if err := rec.close(); err != nil {
		return "", 0, err
	}
	return sum.digest(), sum.n, nil
}

// lockHeld reports whether a live process holds an flock on path.
func lockHeld(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil
}

func goarch() string { return runtime.GOARCH }
