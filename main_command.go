package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/image"
	"github.com/mydocker/mydocker/network"
	log "github.com/sirupsen/logrus"
	"github.com/urfave/cli"
)

// envSettings collects every -e and --env, in command-line order.
var envSettings = &cli.StringSlice{}

var runCommand = cli.Command{
	Name:  "run",
	Usage: "run COMMAND in new UTS, PID, mount, network and IPC namespaces",
	UsageText: `mydocker run [flags] [IMAGE] COMMAND [ARG...]

   Everything from COMMAND on belongs to COMMAND: mydocker run -ti /bin/ls -l /
   A first argument that is a path (/bin/sh, ./prog, ../prog) is a command
   on the host's files (the book's chapter 3: run -ti /bin/sh); anything
   else is an image, named as docker names it (busybox, busybox:1.36,
   localhost:5000/team/app@sha256:...) or by ID, and the command runs on
   its layers (run -ti busybox sh); with --rootfs DIR, the command runs in
   DIR. An image the store lacks is pulled from its registry first
   (--pull missing, docker's default); with --pull never, or if the pull
   fails, it is an error (125).

   Security: in an image or --rootfs the command gets docker's defaults
   (docker's capability set, its seccomp profile, masked and read-only
   /proc and /sys paths, its device rules). On the host's files it keeps
   every power of root, as in the book's chapter 3: that mode is a
   namespace playground, not a boundary. --privileged, --cap-add,
   --cap-drop and --security-opt change either.`,
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "interactive, i", Usage: "keep stdin attached (else it is /dev/null; with -d, open with nothing attached, as docker's -di)"},
		cli.BoolFlag{Name: "tty, t", Usage: "give the container a pseudo-terminal of its own (when stdin is a terminal)"},
		cli.BoolFlag{Name: "ti, it", Usage: "same as -i -t (the book's spelling)"},
		cli.BoolFlag{Name: "init", Usage: "run a small init as PID 1 that forwards signals and reaps zombies"},
		cli.BoolFlag{Name: "detach, d", Usage: "run in the background: print the container's ID and return; its output goes to its log (mydocker logs)"},
		cli.BoolFlag{Name: "rm", Usage: "remove a detached container when it ends (a foreground one always goes)"},
		cli.StringFlag{Name: "name", Usage: "the container's name, unique among running ones (-name, the book's spelling, works too; default: generated)"},
		cli.StringFlag{Name: "network, net", Usage: "connect to this bridge network (mydocker network create; -net, the book's spelling, works too; default: a namespace of its own with lo only)"},
		cli.StringSliceFlag{Name: "publish, p", Usage: "publish a port: [IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp] (repeatable; needs --net)"},
		cli.StringFlag{Name: "hostname", Usage: "the container's hostname (default: the caller's)"},
		// -e and --env are two flags sharing one list, so that they can be
		// mixed in one command line in order (urfave/cli refuses "two
		// forms of the same flag" for one flag with two names).
		cli.StringSliceFlag{Name: "e", Usage: "set KEY=VALUE, or pass the caller's KEY (repeatable)", Value: envSettings},
		cli.StringSliceFlag{Name: "env", Usage: "same as -e", Value: envSettings},
		cli.StringSliceFlag{Name: "env-file", Usage: "read KEY=VALUE lines from a file (repeatable)"},
		cli.StringFlag{Name: "workdir, w", Usage: "the command's working directory (absolute; default: the caller's, or / in an image)"},
		cli.StringFlag{Name: "user, u", Usage: "run as USER[:GROUP], names or numeric IDs, from the container's /etc/passwd and /etc/group (default: the image's USER)"},
		cli.StringFlag{Name: "entrypoint", Usage: "the program to run instead of the image's ENTRYPOINT; its CMD is dropped too ('' resets it)"},
		cli.StringFlag{Name: "pull", Value: "missing", Usage: "pull the image from its registry: `missing` (when the store has none of that name), always, or never"},
		cli.StringFlag{Name: "platform", Usage: "with a pull, the image for `OS/ARCH[/VARIANT]`"},
		insecureFlag,
		cli.StringSliceFlag{Name: "volume, v", Usage: "bind-mount HOST:CONTAINER[:ro] (repeatable; image or --rootfs only)"},
		cli.StringFlag{Name: "rootfs", Usage: "run in this root filesystem directory, as it is"},
		cli.BoolFlag{Name: "read-only", Usage: "make the container's root read-only (image or --rootfs only)"},
		cli.StringFlag{Name: "memory, m", Usage: "memory limit, e.g. 64m or 1g (b, k, m, g suffixes)"},
		cli.StringFlag{Name: "cpu-shares, cpushare", Usage: "relative CPU weight, 2 to 262144 (default 1024)"},
		cli.StringFlag{Name: "cpus", Usage: "hard CPU quota in CPUs, e.g. 0.5"},
		cli.StringFlag{Name: "cpuset-cpus, cpuset", Usage: "CPUs the container may run on, e.g. 0, 0-1 or 0,2"},
		cli.StringFlag{Name: "pids-limit", Usage: "most processes the container may have"},
		cli.BoolFlag{Name: "privileged", Usage: "every capability, no seccomp filter, /proc and /sys unmasked, the host's devices"},
		cli.StringSliceFlag{Name: "cap-add", Usage: "keep this capability too (CHOWN or CAP_CHOWN; ALL: every one; repeatable)"},
		cli.StringSliceFlag{Name: "cap-drop", Usage: "drop this capability (ALL: every one; repeatable)"},
		cli.StringSliceFlag{Name: "security-opt", Usage: "no-new-privileges[=true|false], seccomp=unconfined|builtin|PROFILE.json (repeatable)"},
	},
	// Flags stop at COMMAND: without this, urfave/cli would move the -l of
	// `run /bin/ls -l` in front of COMMAND and take it as its own.
	SkipArgReorder: true,
	OnUsageError:   usageError,
	Action: func(ctx *cli.Context) error {
		opts, err := parseRunOptions(ctx)
		if err != nil {
			return err
		}
		return Run(opts)
	},
}

// parseRunOptions turns run's flags into a validated runOptions, before
// anything is started.
func parseRunOptions(ctx *cli.Context) (runOptions, error) {
	args := []string(ctx.Args())
	if len(args) == 0 {
		return runOptions{}, usageErrorf("run needs a command: mydocker run [flags] COMMAND [ARG...]")
	}
	if args[0] == "" {
		return runOptions{}, usageErrorf("run: the command is an empty string")
	}
	both := ctx.Bool("ti")
	opts := runOptions{
		interactive: both || ctx.Bool("interactive"),
		tty:         both || ctx.Bool("tty"),
		rootfs:      ctx.String("rootfs"),
		detach:      ctx.Bool("detach"),
		autoRemove:  ctx.Bool("rm"),
	}
	if err := monitorFromEnv(&opts); err != nil {
		return runOptions{}, usageErrorf("%v", err)
	}
	// The image-or-command rule: with --rootfs, everything is COMMAND;
	// else a first argument that is a path (absolute, or from ./ or ../)
	// is a command on the host's files (the book's `run -ti /bin/sh`), and
	// anything else is an image, as docker writes it (busybox,
	// busybox:latest, library/busybox). One that names no image is an
	// error, never a quiet run of the host's program of that name with
	// root's powers on the host's files.
	if opts.rootfs != "" {
		if fi, err := os.Stat(opts.rootfs); err != nil || !fi.IsDir() {
			return runOptions{}, usageErrorf("--rootfs %q: not a directory", opts.rootfs)
		}
	} else if isSet(ctx, "rootfs") {
		return runOptions{}, usageErrorf("--rootfs: the directory is an empty string")
	} else if !isHostPath(args[0]) {
		opts.image, args = args[0], args[1:]
		ref := opts.image
		if opts.again {
			// start: the image the container was made of, by ID, even if
			// its name has gone to another image since.
			if s, err := container.Find(storeRoot, opts.id); err == nil && s.ImageID != "" {
				ref = s.ImageID
			}
		}
		store := image.NewStore(storeRoot)
		pull := ctx.String("pull")
		if pull != "missing" && pull != "always" && pull != "never" {
			return runOptions{}, usageErrorf("invalid --pull %q: use missing, always or never", pull)
		}
		img, err := store.Resolve(ref)
		if pullable(ref) && opts.monitorReport == nil && (pull == "always" || pull == "missing" && errors.Is(err, image.ErrNotFound)) {
			// docker's: the image comes from its registry, then runs.
			if err != nil {
				fmt.Fprintf(os.Stderr, "Unable to find image '%s' locally\n", image.FamiliarString(ref))
			}
			if perr := pullForRun(ref, ctx.String("platform"), ctx.StringSlice("insecure-registry")); perr != nil {
				return runOptions{}, perr
			}
			img, err = store.Resolve(ref)
		}
		if errors.Is(err, image.ErrNotFound) {
			return runOptions{}, usageErrorf("%s", noImageMessage(opts.image))
		}
		if err != nil {
			return runOptions{}, usageErrorf("%v", err)
		}
		lower, err := store.Lower(img)
		if err != nil {
			return runOptions{}, usageErrorf("%v", err)
		}
		opts.img = img
		opts.layers = &container.ImageLayers{Lower: lower, Links: store.LinkDir(), Config: store.ConfigPath(img)}
		// docker's ENTRYPOINT and CMD, from import --change.
		args = img.Config.Command(args, ctx.String("entrypoint"), isSet(ctx, "entrypoint"))
		if len(args) == 0 {
			return runOptions{}, usageErrorf("run %s: no command specified: the image has no ENTRYPOINT or CMD; give one (mydocker run %s COMMAND), or import it with --change 'CMD [\"sh\"]'", opts.image, opts.image)
		}
		if args[0] == "" {
			return runOptions{}, usageErrorf("run: the command is an empty string")
		}
	}
	ownRoot := opts.image != "" || opts.rootfs != ""
	if isSet(ctx, "entrypoint") && opts.image == "" {
		return runOptions{}, usageErrorf("--entrypoint needs an image")
	}
	cfg := &container.Config{
		Args:     args,
		Hostname: ctx.String("hostname"),
		Workdir:  ctx.String("workdir"),
		Init:     ctx.Bool("init"),
		ReadOnly: ctx.Bool("read-only"),
	}
	targets := map[string]string{}
	for _, spec := range ctx.StringSlice("volume") {
		v, err := parseVolume(spec)
		if err != nil {
			return runOptions{}, usageErrorf("%v", err)
		}
		if other, dup := targets[v.Target]; dup {
			return runOptions{}, usageErrorf("invalid volume %q: %s is already the target of %q", spec, v.Target, other)
		}
		targets[v.Target] = spec
		cfg.Volumes = append(cfg.Volumes, v)
	}
	if opts.image != "" && strings.ContainsAny(storeRoot, ",:") {
		// overlayfs takes its layers as "lowerdir=A,upperdir=B": a comma
		// or colon in a path would be read as a separator.
		return runOptions{}, usageErrorf("--root %q: an image's layers cannot be in a path with ',' or ':' (overlayfs options)", storeRoot)
	}
	if opts.image != "" && strings.ContainsAny(container.RuntimeDir, ",:") {
		// A foreground container's layer is in a tmpfs mounted there.
		return runOptions{}, usageErrorf("MYDOCKER_RUNTIME_DIR %q: a container's layer cannot be in a path with ',' or ':' (overlayfs options)", container.RuntimeDir)
	}
	if !ownRoot && (len(cfg.Volumes) > 0 || cfg.ReadOnly) {
		// On the host's own filesystem a mount point would have to be
		// created on the host, and "read-only" would mean the host's "/".
		return runOptions{}, usageErrorf("-v and --read-only need an image or --rootfs")
	}
	if isSet(ctx, "hostname") {
		if err := validHostname(cfg.Hostname); err != nil {
			return runOptions{}, usageErrorf("%v", err)
		}
	}
	if isSet(ctx, "workdir") {
		if err := validWorkdir(cfg.Workdir); err != nil {
			return runOptions{}, usageErrorf("%v", err)
		}
	} else if opts.img != nil {
		cfg.Workdir = opts.img.Config.WorkingDir // docker's WORKDIR
	}
	if err := parseSecurity(ctx, cfg, ownRoot); err != nil {
		return runOptions{}, usageErrorf("%v", err)
	}
	res, err := parseResources(ctx)
	if err != nil {
		return runOptions{}, usageErrorf("%v", err)
	}
	cfg.CgroupNS = ownRoot
	if ownRoot && !cfg.Privileged {
		// docker's device rules, enforced by the kernel (cgroups/devices.go).
		res.Devices = cgroups.DefaultDevices
	}
	opts.resources = res
	if err := parseNetwork(ctx, &opts); err != nil {
		return runOptions{}, usageErrorf("%v", err)
	}
	if opts.monitorReport != nil {
		// The monitor of run -d: the ID and name are run -d's.
	} else if opts.id, err = container.NewID(); err != nil {
		return runOptions{}, err
	} else {
		opts.name = container.GenerateName(opts.id)
	}
	if isSet(ctx, "name") && opts.monitorReport == nil {
		opts.name = ctx.String("name")
		if err := container.ValidName(opts.name); err != nil {
			return runOptions{}, usageErrorf("%v", err)
		}
	}
	baseEnv := os.Environ() // host mode inherits the caller's, as in the book
	if ownRoot {
		id := opts.id
		if cfg.Hostname == "" {
			cfg.Hostname = id // docker's default
		}
		baseEnv = imageEnv(cfg.Hostname, opts.tty)
		if opts.img != nil {
			baseEnv = append(baseEnv, opts.img.Config.Env...) // docker's ENV
		}
	}
	env, err := buildEnv(baseEnv, ctx.StringSlice("env-file"), *envSettings)
	if err != nil {
		return runOptions{}, usageErrorf("%v", err)
	}
	cfg.Env = env
	if opts.img != nil && opts.img.Config.User != "" {
		cfg.User = opts.img.Config.User // docker's USER, unless -u
	}
	if isSet(ctx, "user") {
		if cfg.User, err = validUser(ctx.String("user")); err != nil {
			return runOptions{}, usageErrorf("%v", err)
		}
	}
	if cfg.User != "" {
		// HOME becomes the user's, unless the image, a file or -e set it.
		var imageEnv []string
		if opts.img != nil {
			imageEnv = opts.img.Config.Env
		}
		explicit, _ := buildEnv(imageEnv, ctx.StringSlice("env-file"), *envSettings)
		cfg.HomeFromUser = !hasKey(explicit, "HOME")
	}
	opts.config = cfg
	return opts, nil
}

// changeUsage is --change's, on import and commit.
const changeUsage = `record a default: ENTRYPOINT or CMD ["sh"] (or a shell command), ENV KEY=VALUE, WORKDIR /dir, USER name, STOPSIGNAL SIGNAL (repeatable)`

// parseNetwork reads --net and -p: the network must exist, and ports need
// one; each host port once.
func parseNetwork(ctx *cli.Context, opts *runOptions) error {
	opts.network = ctx.String("network")
	if opts.network != "" {
		if _, err := network.Get(storeRoot, opts.network); err != nil {
			return err
		}
	} else if isSet(ctx, "network") {
		return errors.New("--net: the network is an empty string")
	}
	seen := map[string]string{}
	for _, spec := range ctx.StringSlice("publish") {
		p, err := network.ParsePort(spec)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%d/%s", p.HostPort, p.Proto)
		if other, dup := seen[key]; dup {
			return fmt.Errorf("invalid port %q: host port %s is already published by %q", spec, key, other)
		}
		seen[key] = spec
		opts.ports = append(opts.ports, p)
	}
	if len(opts.ports) > 0 && opts.network == "" {
		return errors.New("-p needs a network: a container without --net has no address to publish (mydocker network create)")
	}
	return nil
}

// initCommand is the inside of the container: run re-executes this binary
// as "mydocker init" in the new namespaces. Hidden: users never type it.
var initCommand = cli.Command{
	Name:            "init",
	Usage:           "internal: the first process inside a container; do not call it",
	Hidden:          true,
	SkipFlagParsing: true,
	Action: func(ctx *cli.Context) error {
		initMain()
		return nil
	},
}

// isInit: args are those run, exec and create give init (initArgs):
// "init" after the global flags of logArgs, nothing else.
func isInit(args []string) bool {
	if len(args) < 2 || args[len(args)-1] != "init" {
		return false
	}
	for _, a := range args[1 : len(args)-1] {
		if !strings.HasPrefix(a, "--log-level=") && !strings.HasPrefix(a, "--log-format=") {
			return false
		}
	}
	return true
}

// initMain is the init command: the container's first process, which
// sets the container up and execs its command (container/init.go). It
// never returns.
func initMain() {
	level, format := "warn", "json"
	for _, a := range os.Args[1 : len(os.Args)-1] {
		if v, ok := strings.CutPrefix(a, "--log-level="); ok {
			level = v
		} else if v, ok := strings.CutPrefix(a, "--log-format="); ok {
			format = v
		}
	}
	if err := configureLogging(level, format); err != nil {
		fail(err)
	}
	err := container.RunContainerInitProcess()
	if err != nil {
		log.Debugf("init failed: %v", err)
	}
	if err == container.ErrNotInContainer {
		fail(err)
	}
	// Any other failure went to the parent over the status pipe; the
	// parent prints it, so init only exits with the status.
	os.Exit(statusOf(err))
}

var importCommand = cli.Command{
	Name:         "import",
	Usage:        "unpack a root filesystem tarball (plain or gzip; - for standard input) into the image store",
	ArgsUsage:    "TARBALL|- NAME",
	OnUsageError: usageError,
	Flags: []cli.Flag{
		cli.StringSliceFlag{Name: "change, c", Usage: changeUsage},
	},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 2 {
			return usageErrorf("import needs two arguments: mydocker import [--change INSTRUCTION] TARBALL|- NAME")
		}
		return importImage(ctx.Args()[0], ctx.Args()[1], ctx.StringSlice("change"))
	},
}

// pullable reports whether ref names an image a registry may have: a
// reference with a tag or a digest, not an image ID.
func pullable(ref string) bool {
	r, err := image.ParseReference(ref)
	if err != nil {
		return false
	}
	hex := strings.TrimPrefix(ref, "sha256:")
	isID := len(hex) >= 12 && strings.Trim(hex, "0123456789abcdef") == ""
	return !isID && (r.Tag != "" || r.Digest != "")
}

// isHostPath: run's first argument is a command on the host's files when
// it is a path, absolute or relative to the working directory as a shell
// writes one (./prog, ../bin/prog); anything else is an image reference.
func isHostPath(arg string) bool {
	return strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, "./") || strings.HasPrefix(arg, "../")
}

// noImageMessage says that no image is called name, and how to make one;
// the host's program of that name is suggested only when there is one.
func noImageMessage(name string) string {
	msg := fmt.Sprintf("no image %q in %s (import one", name, storeRoot)
	if strings.Contains(name, "/") {
		return msg + "; a command on the host's files is a path: /bin/ls, ./prog)"
	}
	if hint := hostProgramHint(name); hint != "" {
		return msg + ", or " + hint + ")"
	}
	return msg + ")"
}

// hostProgramHint is, when the host has a program called name, how to run
// it: by its path.
func hostProgramHint(name string) string {
	if path, err := exec.LookPath(name); err == nil && filepath.IsAbs(path) && !strings.Contains(name, "/") {
		return "give a path to run the host's program: " + path
	}
	return ""
}
