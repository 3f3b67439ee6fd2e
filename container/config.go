// Package container makes container processes, as in chapter 3 of the book
// "自己动手写Docker": container_process.go is the parent side that clones the
// new namespaces, init.go is what runs inside them before the user's command.
package container

import (
	"bufio"
	"fmt"
	"io"
)

// Config is everything init needs to know about the container. The parent
// sends it over a pipe (the book's chapter 3.3) rather than on the command
// line, so that the user's argv is not init's argv and survives exactly.
type Config struct {
	// Args is the user's command and its arguments, exactly as typed.
	Args []string
	// Env is the command's whole environment, KEY=VALUE.
	Env []string
	// Hostname, when set, is given to the container's UTS namespace.
	Hostname string
	// Workdir, when set, is the command's working directory.
	Workdir string
	// User, when set, is --user: USER[:GROUP], names or numbers, looked
	// up in the container's own /etc/passwd and /etc/group (user.go).
	User string
	// HomeFromUser says HOME is the user's home from /etc/passwd, as
	// nobody set it (-e, --env-file, the image).
	HomeFromUser bool
	// TTY says the container's stdio is a pseudo-terminal of its own.
	TTY bool
	// ConsoleSocket says init makes that pseudo-terminal itself, in the
	// container's own devpts, and sends its master side back to run over
	// the console socket (fd 5), as runc does with --console-socket. Used
	// with an image or --rootfs; on the host's files run makes the pty.
	ConsoleSocket bool
	// Init runs a small init as PID 1 with the command as its child
	// (--init) instead of exec'ing the command as PID 1.
	Init bool

	// Rootfs, when set, is the directory init pivots into (chapter 4):
	// the overlay mount point for an image, or the --rootfs directory.
	// Empty means the host's filesystem, as in chapter 3.
	Rootfs string
	// LowerDir, UpperDir and WorkDir are the overlay's layers; an empty
	// LowerDir means Rootfs is used as it is (--rootfs). LowerDir is the
	// image's layers, top first, by their short names in LayerLinks, the
	// directory the overlay is mounted from (a page holds 500 of them).
	LowerDir, UpperDir, WorkDir string
	LayerLinks                  string
	// Volatile: the layer dies with the run, so overlayfs need not make it
	// durable (its "volatile" option); a detached container's is kept.
	Volatile bool
	// LayerInMemory: the layer of a foreground container, thrown away at
	// its end, is on a tmpfs init mounts on Rootfs in its own mount
	// namespace (mountOverlay): it vanishes with the container, and
	// nothing of it is made or removed on the host's disk. UpperDir and
	// WorkDir are then in that tmpfs.
	LayerInMemory bool
	// EtcDir holds the hostname, hosts and resolv.conf files that are
	// bind-mounted over the image's. With a layer in memory, init writes
	// them there itself, from EtcFiles.
	EtcDir   string
	EtcFiles []EtcFile
	// Volumes are bind mounts from the host (-v).
	Volumes []Volume
	// ReadOnly makes the container's root read-only (--read-only).
	ReadOnly bool

	// What confines the command (README "Security"), decided by run.
	// LimitCapabilities keeps exactly Capabilities in every set; false
	// leaves root's powers as they are (host-files mode, as in the book).
	LimitCapabilities bool
	Capabilities      []string
	// Seccomp is the filter program (seccomp.Program.Encode); empty: none.
	Seccomp string
	// NoNewPrivileges: set-uid and file capabilities give nothing (--security-opt).
	NoNewPrivileges bool
	// Exec: run the command in the running container whose namespaces and
	// cgroup init was born in (mydocker exec), with no set-up of its own.
	Exec bool
	// CgroupTasks are the tasks files init writes "0" into to join its
	// cgroup (cgroup v1; on v2 it is born in it).
	CgroupTasks []string
	// CgroupNS gives the container a cgroup namespace of its own, rooted
	// at its cgroup, and its cgroup file systems read-only at /sys/fs/cgroup.
	CgroupNS bool
	// Privileged (--privileged): /proc and /sys unmasked and writable, the
	// host's devices in /dev.
	Privileged bool
	// Bundle, when set, is an OCI bundle's config.json (mydocker-runc):
	// its mounts, devices and process settings in place of run's own.
	Bundle *Bundle
}

// Volume is one -v HOST:CONTAINER[:ro].
// EtcFile is one of the /etc files bound over the image's: its name in
// /etc and its content.
type EtcFile struct{ Name, Content string }

type Volume struct {
	Source   string // absolute path on the host
	Target   string // absolute path inside the container
	ReadOnly bool
}

// The config travels as records (records.go), one per field or list item.
const (
	keyArg      = "arg"
	keyEnv      = "env"
	keyHostname = "hostname"
	keyWorkdir  = "workdir"
	keyUser     = "user"
	keyHome     = "home-from-user"
	keyTTY      = "tty"
	keyConsole  = "console-socket"
	keyInit     = "init"
	keyRootfs   = "rootfs"
	keyLower    = "lowerdir"
	keyLinks    = "layer-links"
	keyUpper    = "upperdir"
	keyWork     = "workdir-overlay"
	keyEtc      = "etcdir"
	keyReadOnly = "readonly"
	keyVolatile = "volatile"
	keyInMemory = "layer-in-memory"
	// An /etc file is two records in a row: name, content.
	keyEtcName    = "etc-file"
	keyEtcContent = "etc-content"
	// A volume is three records in a row: source, target, mode.
	keyVolumeSource = "volume-source"
	keyVolumeTarget = "volume-target"
	keyVolumeMode   = "volume-mode"
	keyLimitCaps    = "limit-capabilities"
	keyCap          = "capability"
	keySeccomp      = "seccomp"
	keyNoNewPrivs   = "no-new-privileges"
	keyPrivileged   = "privileged"
	keyCgroupNS     = "cgroupns"
	keyCgroupTask   = "cgroup-tasks"
	keyExec         = "exec"
	keyBundle       = "bundle"
	// The last record. run keeps its end of the pipe open after it, so
	// that init can later tell a live parent (pipe open) from a dead one
	// (pipe hung up): see dieWithParent.
	keyEnd = "end"
)

// WriteConfig sends cfg to init.
func WriteConfig(w io.Writer, cfg *Config) error {
	r := &records{what: "send container config"}
	add, addFlag := r.add, r.flag
	for _, arg := range cfg.Args {
		add(keyArg, arg)
	}
	for _, env := range cfg.Env {
		add(keyEnv, env)
	}
	add(keyHostname, cfg.Hostname)
	add(keyWorkdir, cfg.Workdir)
	add(keyUser, cfg.User)
	addFlag(keyHome, cfg.HomeFromUser)
	addFlag(keyTTY, cfg.TTY)
	addFlag(keyConsole, cfg.ConsoleSocket)
	addFlag(keyInit, cfg.Init)
	add(keyRootfs, cfg.Rootfs)
	add(keyLower, cfg.LowerDir)
	add(keyLinks, cfg.LayerLinks)
	add(keyUpper, cfg.UpperDir)
	add(keyWork, cfg.WorkDir)
	add(keyEtc, cfg.EtcDir)
	for _, f := range cfg.EtcFiles {
		add(keyEtcName, f.Name)
		add(keyEtcContent, f.Content)
	}
	addFlag(keyReadOnly, cfg.ReadOnly)
	addFlag(keyVolatile, cfg.Volatile)
	addFlag(keyInMemory, cfg.LayerInMemory)
	for _, v := range cfg.Volumes {
		add(keyVolumeSource, v.Source)
		add(keyVolumeTarget, v.Target)
		mode := "rw"
		if v.ReadOnly {
			mode = "ro"
		}
		add(keyVolumeMode, mode)
	}
	addFlag(keyLimitCaps, cfg.LimitCapabilities)
	for _, c := range cfg.Capabilities {
		add(keyCap, c)
	}
	add(keySeccomp, cfg.Seccomp)
	addFlag(keyNoNewPrivs, cfg.NoNewPrivileges)
	addFlag(keyPrivileged, cfg.Privileged)
	addFlag(keyCgroupNS, cfg.CgroupNS)
	addFlag(keyExec, cfg.Exec)
	for _, f := range cfg.CgroupTasks {
		add(keyCgroupTask, f)
	}
	if cfg.Bundle != nil {
		b, err := encodeBundle(cfg.Bundle)
		if err != nil {
			return fmt.Errorf("send container config: %w", err)
		}
		add(keyBundle, b)
	}
	add(keyEnd, "")
	if r.err != nil {
		return r.err
	}
	if _, err := w.Write(r.buf.Bytes()); err != nil {
		return fmt.Errorf("send container config: %w", err)
	}
	return nil
}

// ReadConfig reads what WriteConfig wrote, up to its end record.
func ReadConfig(r io.Reader) (*Config, error) {
	var cfg Config
	err := readRecords(bufio.NewReader(r), "container config", false, func(key, value string) (bool, error) {
		switch key {
		case keyArg:
			cfg.Args = append(cfg.Args, value)
		case keyEnv:
			cfg.Env = append(cfg.Env, value)
		case keyHostname:
			cfg.Hostname = value
		case keyWorkdir:
			cfg.Workdir = value
		case keyUser:
			cfg.User = value
		case keyHome:
			cfg.HomeFromUser = value == "1"
		case keyTTY:
			cfg.TTY = value == "1"
		case keyConsole:
			cfg.ConsoleSocket = value == "1"
		case keyInit:
			cfg.Init = value == "1"
		case keyRootfs:
			cfg.Rootfs = value
		case keyLower:
			cfg.LowerDir = value
		case keyLinks:
			cfg.LayerLinks = value
		case keyUpper:
			cfg.UpperDir = value
		case keyWork:
			cfg.WorkDir = value
		case keyEtc:
			cfg.EtcDir = value
		case keyReadOnly:
			cfg.ReadOnly = value == "1"
		case keyVolatile:
			cfg.Volatile = value == "1"
		case keyInMemory:
			cfg.LayerInMemory = value == "1"
		case keyEtcName:
			cfg.EtcFiles = append(cfg.EtcFiles, EtcFile{Name: value})
		case keyEtcContent:
			if len(cfg.EtcFiles) == 0 {
				return false, fmt.Errorf("%s before %s", key, keyEtcName)
			}
			cfg.EtcFiles[len(cfg.EtcFiles)-1].Content = value
		case keyVolumeSource:
			cfg.Volumes = append(cfg.Volumes, Volume{Source: value})
		case keyVolumeTarget, keyVolumeMode:
			if len(cfg.Volumes) == 0 {
				return false, fmt.Errorf("%s before %s", key, keyVolumeSource)
			}
			v := &cfg.Volumes[len(cfg.Volumes)-1]
			if key == keyVolumeTarget {
				v.Target = value
			} else {
				v.ReadOnly = value == "ro"
			}
		case keyLimitCaps:
			cfg.LimitCapabilities = value == "1"
		case keyCap:
			cfg.Capabilities = append(cfg.Capabilities, value)
		case keySeccomp:
			cfg.Seccomp = value
		case keyNoNewPrivs:
			cfg.NoNewPrivileges = value == "1"
		case keyPrivileged:
			cfg.Privileged = value == "1"
		case keyCgroupNS:
			cfg.CgroupNS = value == "1"
		case keyExec:
			cfg.Exec = value == "1"
		case keyCgroupTask:
			cfg.CgroupTasks = append(cfg.CgroupTasks, value)
		case keyBundle:
			b, err := decodeBundle(value)
			if err != nil {
				return false, err
			}
			cfg.Bundle = b
		case keyEnd:
			return true, nil
		default:
			return false, fmt.Errorf("unknown key %q", key)
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if len(cfg.Args) == 0 || cfg.Args[0] == "" {
		return nil, fmt.Errorf("read container config: no command")
	}
	return &cfg, nil
}
