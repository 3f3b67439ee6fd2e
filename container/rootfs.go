package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/trace"
	log "github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// setUpRootfs prepares the container's own root filesystem (the book's
// chapter 4) for pivotRoot, which init calls once the container is in its
// cgroup. The whole mount tree is already private
// (setUpMounts), so nothing below reaches the host's mount table, and
// pivot_root does not fail with EINVAL as it does on a shared "/" (issue
// #62 of the book's project).
func setUpRootfs(cfg *Config) error {
	if cfg.LowerDir != "" {
		// The image, read-only, below the container's own layer: writes land
		// in UpperDir, so the image never changes and two containers of one
		// image never see each other's files. (The book used AUFS, which was
		// never merged into Linux; overlayfs is the mainline equivalent.)
		if err := mountOverlay(cfg, mount); err != nil {
			return err
		}
	} else {
		// --rootfs: pivot_root wants new_root to be a mount point.
		if err := mount("4.1", "pivot_root needs new_root to be a mount point", cfg.Rootfs, cfg.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
	}
	newRoot := cfg.Rootfs // a layer in memory moved it (mountOverlay)

	// Every mount point is created through os.Root, which refuses a path
	// that leaves newRoot through a symbolic link planted in the image
	// (an image whose /proc is a link to the host's /etc, say).
	root, err := os.OpenRoot(newRoot)
	if err != nil {
		return fmt.Errorf("open new root: %w", err)
	}
	defer root.Close()
	in := func(path string) string { return filepath.Join(newRoot, path) }

	if cfg.Bundle != nil {
		if err := setUpBundleMounts(cfg, root, in); err != nil {
			return err
		}
		return remountReadOnly(cfg)
	}
	const noexec = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	sysFlags := uintptr(noexec | unix.MS_RDONLY)
	if cfg.Privileged {
		sysFlags = noexec
	}
	steps := []struct {
		section, note                string
		target, fstype, source, data string
		flags                        uintptr
	}{
		{"3.1", "", "proc", "proc", "proc", "", noexec},
		// The new network namespace's view of /sys, read-only.
		{trace.Beyond, "docker's /sys: the container's network devices, read-only", "sys", "sysfs", "sysfs", "", sysFlags},
	}
	for _, s := range steps {
		if err := root.MkdirAll(s.target, 0o755); err != nil {
			return fmt.Errorf("create /%s in the container: %w", s.target, err)
		}
		if err := mount(s.section, s.note, s.source, in(s.target), s.fstype, s.flags, s.data); err != nil {
			return err
		}
	}
	if err := setUpDev(cfg, root, in); err != nil {
		return err
	}
	if cfg.ConsoleSocket {
		if err := setUpConsole(in("dev/pts")); err != nil {
			return err
		}
	}
	if !cfg.Privileged {
		if err := maskKernelFiles(in, maskedPaths, readOnlyPaths); err != nil {
			return err
		}
	}
	// Mounts that could hide one another go in order of depth, as
	// docker's do: --read-only's /tmp, the volumes (shallow first), then
	// the /etc files, so that neither -v DIR:/tmp/x nor -v DIR:/etc is
	// hidden by a mount made after it. A volume on an /etc file itself
	// takes its place.
	if cfg.ReadOnly {
		if err := root.MkdirAll("tmp", 0o755); err != nil {
			return fmt.Errorf("create /tmp in the container: %w", err)
		}
		if err := mount(trace.Beyond, "--read-only: a writable /tmp", "tmpfs", in("tmp"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
			return err
		}
	}
	volumes := append([]Volume(nil), cfg.Volumes...)
	sort.SliceStable(volumes, func(i, j int) bool {
		return strings.Count(filepath.Clean(volumes[i].Target), "/") < strings.Count(filepath.Clean(volumes[j].Target), "/")
	})
	taken := map[string]bool{}
	for _, v := range volumes {
		if err := mountVolume(newRoot, root, v); err != nil {
			return err
		}
		taken[filepath.Clean(v.Target)] = true
	}
	for _, name := range []string{"hostname", "hosts", "resolv.conf"} {
		if taken["/etc/"+name] {
			continue
		}
		if err := bindInRoot(trace.Beyond, "docker's /etc/"+name+", the container's own", newRoot, root, filepath.Join(cfg.EtcDir, name), "/etc/"+name, false, false); err != nil {
			return err
		}
	}
	if cfg.Workdir != "" {
		// docker makes a missing working directory in the container's
		// layer (never on the host's files: the walk stays in the root).
		dir, err := resolveInRoot(newRoot, cfg.Workdir)
		if err == nil && dir != "" {
			err = root.MkdirAll(dir, 0o755)
		}
		if err != nil {
			return fmt.Errorf("working directory %s: %w", cfg.Workdir, err)
		}
	}
	return remountReadOnly(cfg)
}

// remountReadOnly makes the root read-only (--read-only, root.readonly),
// last, once every mount point exists: only the root mount itself turns
// read-only; /proc, /dev, /tmp and volumes are mounts of their own and
// keep their flags.
func remountReadOnly(cfg *Config) error {
	if !cfg.ReadOnly {
		return nil
	}
	return mount(trace.Beyond, "--read-only", "", cfg.Rootfs, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
}

// moveRoot is pivotRoot without pivot_root (runc's --no-pivot): the new
// root moved over "/" and chroot'ed into. The old root stays below, out
// of reach only as long as the command cannot chroot (CAP_SYS_CHROOT).
func moveRoot(newRoot string) error {
	if err := unix.Chdir(newRoot); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	if err := mount(trace.Beyond, "--no-pivot", newRoot, "/", "", unix.MS_MOVE, ""); err != nil {
		return err
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return unix.Chdir("/")
}

// pivotRoot makes newRoot the container's "/" and detaches the old root,
// so nothing of the host's filesystem is reachable from inside.
func pivotRoot(newRoot string) error {
	if err := unix.Chdir(newRoot); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one at
	// "/", which spares the book's temporary .pivot_root directory (and
	// so works on a read-only root); unmounting "." then takes the old
	// root away. MNT_DETACH because the host's mounts are busy.
	err := unix.PivotRoot(".", ".")
	trace.Step("4.1", "the book pivots into a .pivot_root directory; \".\" onto \".\" needs none (runc's way)", err, `pivot_root(".", ".")`)
	if err != nil {
		return fmt.Errorf("pivot_root to %s: %w", newRoot, err)
	}
	err = unix.Unmount(".", unix.MNT_DETACH)
	trace.Step("4.1", "the old root, detached", err, `umount2(".", MNT_DETACH)`)
	if err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	log.Infof("pivot_root: %s is now /", newRoot)
	return unix.Chdir("/")
}

// mountCgroupFS shows the container its own cgroups at /sys/fs/cgroup, as
// docker does: new mounts of the host's cgroup file systems, which inside
// the cgroup namespace are rooted at the container's cgroup, read-only (a
// program reads its limits; it cannot raise them).
func mountCgroupFS(cfg *Config) error {
	return mountCgroupFSAt(filepath.Join(cfg.Rootfs, "sys/fs/cgroup"), !cfg.Privileged)
}

// mountCgroupFSAt is mountCgroupFS onto dir (an OCI bundle's cgroup mount).
func mountCgroupFSAt(dir string, readOnly bool) error {
	fss, err := cgroups.ContainerFS()
	if err != nil {
		return err
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY)
	if !readOnly {
		flags &^= unix.MS_RDONLY
	}
	if len(fss) == 1 && fss[0].Type == "cgroup2" {
		return mount(trace.Beyond, cgroupNote, "cgroup2", dir, "cgroup2", flags, "")
	}
	// cgroup v1: a hierarchy per controller group, in a tmpfs of their own.
	if err := mount(trace.Beyond, cgroupNote, "tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755"); err != nil {
		return err
	}
	for _, fs := range fss {
		if err := unix.Mkdir(filepath.Join(dir, fs.Name), 0o755); err != nil {
			return fmt.Errorf("create /sys/fs/cgroup/%s: %w", fs.Name, err)
		}
		if err := mount(trace.Beyond, cgroupNote, "cgroup", filepath.Join(dir, fs.Name), "cgroup", flags, fs.Options); err != nil {
			return err
		}
		// cpu -> cpu,cpuacct, as on the host.
		if names := strings.Split(fs.Name, ","); len(names) > 1 {
			for _, n := range names {
				if err := unix.Symlink(fs.Name, filepath.Join(dir, n)); err != nil {
					return fmt.Errorf("create /sys/fs/cgroup/%s: %w", n, err)
				}
			}
		}
	}
	return mount(trace.Beyond, cgroupNote, "", dir, "", unix.MS_REMOUNT|flags, "mode=755")
}

// setUpDev gives the container its /dev: a small tmpfs of its own with just
// the usual nodes, not the host's /dev with its disks; with --privileged,
// the host's devices (docker's meaning), with a devpts and /dev/shm of the
// container's own on top. Nothing is ever created in the host's /dev.
func setUpDev(cfg *Config, root *os.Root, in func(string) string) error {
	if err := root.MkdirAll("dev", 0o755); err != nil {
		return fmt.Errorf("create /dev in the container: %w", err)
	}
	if err := mount(trace.Beyond, "a /dev of the container's own, with only the safe devices", "tmpfs", in("dev"), "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return err
	}
	if err := populateDev(in, false, true); err != nil {
		return err
	}
	if cfg.Privileged {
		return copyHostDevices(in)
	}
	return nil
}

// copyHostDevices makes, in the container's /dev, a node for every device
// node of the host's (--privileged, docker's way): nothing of the host's
// /dev is mounted into the container, and nothing in it changes.
func copyHostDevices(in func(string) string) error {
	defer unix.Umask(unix.Umask(0))
	return filepath.WalkDir("/dev", func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == "/dev" {
			return nil
		}
		target := in(strings.TrimPrefix(path, "/"))
		if d.IsDir() {
			switch path {
			case "/dev/pts", "/dev/shm", "/dev/mqueue":
				return filepath.SkipDir // the container has its own
			}
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("--privileged: %w", err)
			}
			return nil
		}
		var st unix.Stat_t
		if d.Type()&fs.ModeDevice == 0 || unix.Lstat(path, &st) != nil {
			return nil
		}
		if _, err := os.Lstat(target); err == nil {
			return nil // one of the usual nodes, made already
		}
		if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("--privileged: mknod %s: %w", target, err)
		}
		return nil
	})
}

// populateDev fills the container's /dev tmpfs. The tmpfs was mounted a
// moment ago and holds nothing the image could have planted, so plain
// system calls on its paths are safe here (no os.Root walk needed). In a
// user namespace (bind) the nodes are the host's, bound; withMounts makes
// /dev/pts and /dev/shm too (an OCI bundle lists its own).
func populateDev(in func(string) string, bind, withMounts bool) error {
	// Device nodes get exactly 0666: without the umask, no chmod after.
	defer unix.Umask(unix.Umask(0))
	devices := []struct {
		name         string
		major, minor uint32
	}{
		{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
		{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
	}
	for _, d := range devices {
		path := in("dev/" + d.name)
		if bind {
			if err := os.WriteFile(path, nil, 0o666); err != nil {
				return fmt.Errorf("create %s: %w", path, err)
			}
			if err := mount(trace.Beyond, "a user namespace may not mknod: the host's node, bound", "/dev/"+d.name, path, "", unix.MS_BIND, ""); err != nil {
				return err
			}
			continue
		}
		if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("mknod %s: %w", path, err)
		}
	}
	links := [][2]string{
		{"pts/ptmx", "dev/ptmx"}, {"/proc/self/fd", "dev/fd"},
		{"/proc/self/fd/0", "dev/stdin"}, {"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"},
	}
	for _, l := range links {
		if err := unix.Symlink(l[0], in(l[1])); err != nil && !(errors.Is(err, unix.EEXIST) && !withMounts) {
			return fmt.Errorf("create /%s: %w", l[1], err)
		}
	}
	if !withMounts {
		return nil
	}
	for _, dir := range []string{"dev/pts", "dev/shm"} {
		if err := unix.Mkdir(in(dir), 0o755); err != nil {
			return fmt.Errorf("create /%s: %w", dir, err)
		}
	}
	// A devpts instance of the container's own: its ptys are numbered
	// from 0 and invisible to the host's /dev/pts.
	if err := mount(trace.Beyond, "a devpts instance of its own, for -t", "devpts", in("dev/pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC,
		"newinstance,ptmxmode=0666,mode=0620,gid=5"); err != nil {
		return err
	}
	if err := mount(trace.Beyond, "", "shm", in("dev/shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC,
		"mode=1777,size=65536k"); err != nil {
		return err
	}
	return nil
}

// Files of /proc and /sys that tell about or steer the host's kernel, not
// the container: docker's lists. The masked ones read as empty; the
// read-only ones can be read but not written, whatever the capabilities
// (/proc/sys/kernel/core_pattern, for one, runs a program as the host's
// root on every crash).
var (
	maskedPaths = []string{
		"proc/acpi", "proc/kcore", "proc/keys", "proc/latency_stats",
		"proc/timer_list", "proc/timer_stats", "proc/sched_debug", "proc/scsi",
		"sys/firmware", "sys/devices/virtual/powercap",
	}
	readOnlyPaths = []string{"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"}
)

// maskKernelFiles hides maskedPaths (an empty read-only tmpfs over a
// directory, /dev/null over a file) and makes readOnlyPaths read-only.
// Paths this kernel does not have are skipped.
func maskKernelFiles(in func(string) string, maskedPaths, readOnlyPaths []string) error {
	for _, p := range maskedPaths {
		fi, err := os.Lstat(in(p))
		if err != nil {
			continue
		}
		if fi.IsDir() {
			err = mount(trace.Beyond, "docker's masked paths", "tmpfs", in(p), "tmpfs", unix.MS_RDONLY, "size=0")
		} else {
			err = mount(trace.Beyond, "docker's masked paths", in("dev/null"), in(p), "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("mask /%s: %w", p, err)
		}
	}
	for _, p := range readOnlyPaths {
		if _, err := os.Lstat(in(p)); err != nil {
			continue
		}
		// A bind mount of itself, then a remount: MS_RDONLY is ignored
		// when a bind mount is made.
		if err := mount(trace.Beyond, "docker's read-only paths", in(p), in(p), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		if err := mount(trace.Beyond, "docker's read-only paths", "", in(p), "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return err
		}
	}
	return nil
}

// mountVolume bind-mounts a host directory or file into the container.
func mountVolume(newRoot string, root *os.Root, v Volume) error {
	fi, err := os.Stat(v.Source)
	if err != nil {
		return fmt.Errorf("volume %s: %w", v.Source, err)
	}
	if err := bindInRoot("4.3", "", newRoot, root, v.Source, v.Target, fi.IsDir(), v.ReadOnly); err != nil {
		return fmt.Errorf("volume %s:%s: %w", v.Source, v.Target, err)
	}
	return nil
}

// bindInRoot bind-mounts source (a path on the host) onto target inside
// the container's root. Symbolic links in target are followed as the
// container will see them (Debian's /var/run -> /run), never out of the
// root; the mount point is created through root, then opened, and the
// mount made onto that very file (/proc/self/fd/N), not onto a path that
// a link swapped in meanwhile could send to the host.
func bindInRoot(section, note, newRoot string, root *os.Root, source, target string, dir, readOnly bool) error {
	rel, err := resolveInRoot(newRoot, target)
	if err != nil {
		return err
	}
	if rel == "" {
		return fmt.Errorf("%s leads to the container's / itself", target)
	}
	if err := createMountPoint(root, rel, dir); err != nil {
		return err
	}
	if err := mountOnto(section, note, root, rel, source, unix.MS_BIND|unix.MS_REC); err != nil {
		return err
	}
	if readOnly {
		// A bind mount ignores MS_RDONLY on creation: it takes a remount,
		// of the new mount (opened again: the old descriptor is below it).
		return mountOnto(section, note, root, rel, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY)
	}
	return nil
}

func mountOnto(section, note string, root *os.Root, rel, source string, flags uintptr) error {
	f, err := root.OpenFile(rel, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open mount point /%s: %w", rel, err)
	}
	defer f.Close()
	log.Infof("mount point /%s is fd %d", rel, f.Fd())
	where := "/" + rel + ", opened inside the root: the mount goes onto that very file"
	if note != "" {
		where = note + "; " + where
	}
	return mount(section, where, source, fmt.Sprintf("/proc/self/fd/%d", f.Fd()), "", flags, "")
}

// resolveInRoot follows the symbolic links of path as if rootDir were "/"
// (an absolute link starts again at rootDir, ".." stops there), as
// docker's securejoin does. The result is relative to rootDir and has no
// link left in it; parts that do not exist yet are kept as they are.
func resolveInRoot(rootDir, path string) (string, error) {
	var done []string
	todo := strings.Split(path, "/")
	for links := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		here := filepath.Join(rootDir, filepath.Join(done...), part)
		fi, err := os.Lstat(here)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			done = append(done, part)
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links in the image", path)
		}
		dest, err := os.Readlink(here)
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		if strings.HasPrefix(dest, "/") {
			done = nil
		}
		todo = append(strings.Split(dest, "/"), todo...)
	}
	return filepath.Join(done...), nil
}

// createMountPoint makes sure path exists inside root, as a directory or
// an empty file, without following a link out of root.
func createMountPoint(root *os.Root, path string, dir bool) error {
	if err := makeMountPoint(root, path, dir); err != nil {
		if strings.Contains(err.Error(), "path escapes from parent") {
			// os.Root's words: say what it means for the container.
			return fmt.Errorf("create mount point /%s: a symbolic link there leads out of the container's root; refused", path)
		}
		return err
	}
	return nil
}

func makeMountPoint(root *os.Root, path string, dir bool) error {
	// A file mounts onto a file, a directory onto a directory (as docker
	// says, it cannot be the other way round).
	if fi, err := root.Stat(path); err == nil && fi.IsDir() != dir {
		if dir {
			return fmt.Errorf("cannot mount a directory onto /%s: it is a file in the container", path)
		}
		return fmt.Errorf("cannot mount a file onto /%s: it is a directory in the container", path)
	}
	if dir {
		if err := root.MkdirAll(path, 0o755); err != nil {
			return fmt.Errorf("create mount point /%s: %w", path, err)
		}
		return nil
	}
	if parent := filepath.Dir(path); parent != "." {
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return fmt.Errorf("create mount point /%s: %w", path, err)
		}
	}
	f, err := root.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create mount point /%s: %w", path, err)
	}
	if f != nil {
		f.Close()
	}
	return nil
}

// mount is unix.Mount with the context an error message needs, and the
// info-level log line that lets a student watch each step.
// mountOverlay mounts the container's overlay on cfg.Rootfs. A layer
// thrown away when the container ends (cfg.Volatile) is mounted
// "volatile": overlayfs then need not make it durable, which it otherwise
// does at unmount by syncing the whole file system the upper directory is
// on, everyone's dirty pages included (README, Performance). A kernel
// without the option (before 5.10) refuses it with EINVAL: the layer is
// then mounted as any other.
//
// The image's layers are named by their short names, from the directory
// that holds them (LayerLinks), as docker's overlay2 driver does: the
// options of one mount must fit in one page, which 500 full paths never
// would.
func mountOverlay(cfg *Config, mount mountFunc) error {
	if cfg.LayerInMemory {
		if err := mountLayerInMemory(cfg, mount); err != nil {
			return err
		}
	}
	if cfg.LayerLinks != "" {
		if err := os.Chdir(cfg.LayerLinks); err != nil {
			return fmt.Errorf("image layers: %w", err)
		}
	}
	opts := OverlayOptions(cfg.LowerDir, cfg.UpperDir, cfg.WorkDir)
	if cfg.Volatile {
		err := mount("4.2", overlayNote+"; volatile: thrown away at the end", "overlay", cfg.Rootfs, "overlay", 0, opts+",volatile")
		if !errors.Is(err, unix.EINVAL) {
			return err
		}
		log.Info("overlayfs refuses volatile (Linux before 5.10): the layer is mounted durable")
	}
	return mount("4.2", overlayNote, "overlay", cfg.Rootfs, "overlay", 0, opts)
}

// The directories of a layer in memory, in its tmpfs: the overlay's upper
// and work directories, its mount point (the container's new root), and
// the /etc files bound over the image's.
const (
	memUpper = "upper"
	memWork  = "work"
	memRoot  = "rootfs"
	memEtc   = "etc" // the /etc files (Config.EtcFiles)
)

// mountLayerInMemory puts a foreground container's layer on a tmpfs
// mounted on Rootfs (the directory of every container's run files), in
// this mount namespace only: it vanishes with the container, whatever
// ends it, and nothing of it is made or removed on the host's disk
// (README, Performance). The /etc files bound over the image's are
// written there too. Its pages are memory, not page cache the kernel may
// drop (a container given a memory limit keeps its layer on disk: run.go);
// its size is tmpfs's default, half the host's memory. Its descriptor goes
// to run, which holds it while the container runs, so that commit can
// read the layer (Container.HoldLayer). The overlay is then mounted on
// Rootfs/rootfs.
func mountLayerInMemory(cfg *Config, mount mountFunc) error {
	if err := mount(trace.Beyond, "the layer of a container thrown away at its end, in memory: it vanishes with the container's mount namespace", "tmpfs", cfg.Rootfs, "tmpfs", 0, "mode=755"); err != nil {
		return err
	}
	newRoot, etc := filepath.Join(cfg.Rootfs, memRoot), filepath.Join(cfg.Rootfs, memEtc)
	for _, dir := range []string{cfg.UpperDir, cfg.WorkDir, newRoot, etc} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("layer in memory: %w", err)
		}
	}
	for _, f := range cfg.EtcFiles {
		if err := os.WriteFile(filepath.Join(etc, f.Name), []byte(f.Content), 0o644); err != nil {
			return fmt.Errorf("layer in memory: /etc/%s: %w", f.Name, err)
		}
	}
	cfg.EtcDir = etc
	layer, err := unix.Open(cfg.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("layer in memory: %w", err)
	}
	defer unix.Close(layer)
	if err := sendFd(layer, "layer"); err != nil {
		return err
	}
	if !cfg.ConsoleSocket {
		unix.Close(consoleFd) // nothing more to send
	}
	cfg.Rootfs = newRoot
	return nil
}

// OverlayOptions is the overlay's mount options, without volatile.
func OverlayOptions(lower, upper, work string) string {
	return fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
}

// mountFunc is mount's signature (a test fakes it).
type mountFunc func(section, note, source, target, fstype string, flags uintptr, data string) error

const (
	overlayNote = "the book mounts AUFS, never merged into Linux; overlayfs is its mainline successor"
	cgroupNote  = "the container's own /sys/fs/cgroup, read-only, rooted at its cgroup"
)

// mount is mount(2), logged at info level and traced with the book's
// section (or trace.Beyond) and a note for what the book does not do.
func mount(section, note, source, target, fstype string, flags uintptr, data string) error {
	log.Infof("mount %s on %s (type %q, flags %#x, %q)", source, target, fstype, flags, data)
	err := unix.Mount(source, target, fstype, flags, data)
	trace.Step(section, note, err, "mount(%q, %q, %q, %s, %q)", source, target, fstype, trace.MountFlags(flags), data)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", source, target, err)
	}
	return nil
}
