package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/mydocker/mydocker/capabilities"
	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/seccomp"
	"github.com/urfave/cli"
)

// validHostname checks a --hostname value the way the kernel and RFC 1123
// would have it: at most 64 bytes (the kernel's HOST_NAME_MAX), dot-separated
// labels of 1 to 63 letters, digits and hyphens, no label starting or
// ending with a hyphen.
func validHostname(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("invalid hostname %q: must be 1 to 64 characters", name)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("invalid hostname %q: labels must be 1 to 63 characters and not start or end with '-'", name)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("invalid hostname %q: only letters, digits, '-' and '.' are allowed", name)
			}
		}
	}
	return nil
}

// validWorkdir checks -w: docker wants an absolute path, so a relative one
// cannot silently mean something else inside a container.
func validWorkdir(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("invalid working directory %q: it must be an absolute path", dir)
	}
	return nil
}

// validUser checks --user's form, USER[:GROUP]; init looks the names up
// in the container's own files.
func validUser(spec string) (string, error) {
	user, group, withGroup := strings.Cut(spec, ":")
	if user == "" || withGroup && (group == "" || strings.Contains(group, ":")) {
		return "", fmt.Errorf("invalid user %q: want USER[:GROUP], names or numeric IDs", spec)
	}
	return spec, nil
}

// hasKey reports whether the KEY=VALUE list env sets key.
func hasKey(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// buildEnvOrNil is the -e settings alone, as a list.
func buildEnvOrNil(settings []string) []string {
	env, _ := buildEnv(nil, nil, settings)
	return env
}

// environment is an ordered KEY=VALUE list in which a later setting of a
// key replaces an earlier one, keeping the order keys first appeared in.
type environment struct {
	keys   []string
	values map[string]string
}

func newEnvironment(base []string) *environment {
	e := &environment{values: map[string]string{}}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e.set(k, v)
		}
	}
	return e
}

func (e *environment) set(key, value string) {
	if _, ok := e.values[key]; !ok {
		e.keys = append(e.keys, key)
	}
	e.values[key] = value
}

func (e *environment) list() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.values[k])
	}
	return out
}

// apply adds one -e value: KEY=VALUE sets, KEY alone passes the caller's
// value through (and nothing, as docker does, when the caller has none).
func (e *environment) apply(setting string, lookup func(string) (string, bool)) error {
	key, value, hasValue := strings.Cut(setting, "=")
	if key == "" || strings.ContainsAny(key, " \t\n") {
		return fmt.Errorf("invalid environment variable %q: want KEY=VALUE or KEY", setting)
	}
	if !hasValue {
		v, ok := lookup(key)
		if !ok {
			return nil
		}
		value = v
	}
	e.set(key, value)
	return nil
}

// readEnvFile reads docker's env-file format: one KEY=VALUE or KEY per
// line; blank lines and lines starting with # are skipped; the value is
// taken as it is, quotes included.
func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	defer f.Close()
	var settings []string
	// bufio.Reader, not Scanner: a line may be longer than a Scanner's
	// 64 KiB token.
	in := bufio.NewReader(f)
	for n := 1; ; n++ {
		raw, err := in.ReadString('\n')
		if raw == "" && err != nil {
			if err == io.EOF {
				return settings, nil
			}
			return nil, fmt.Errorf("env file %s: %w", path, err)
		}
		if strings.IndexByte(raw, 0) >= 0 || !utf8.ValidString(raw) {
			return nil, fmt.Errorf("env file %s line %d: not text (is it a binary file?)", path, n)
		}
		line := strings.TrimLeft(strings.TrimRight(raw, "\r\n"), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if key, _, _ := strings.Cut(line, "="); key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("env file %s line %d: %s is not KEY=VALUE or KEY", path, n, excerpt(line))
		}
		settings = append(settings, line)
	}
}

// excerpt quotes s for a message, cut to a length a terminal line holds.
func excerpt(s string) string {
	const most = 40
	if r := []rune(s); len(r) > most {
		return fmt.Sprintf("%q...", string(r[:most]))
	}
	return fmt.Sprintf("%q", s)
}

// buildEnv is the container's environment: the caller's (host-filesystem
// mode inherits it, as in the book), then each --env-file in order, then
// each -e, later settings replacing earlier ones.
func buildEnv(base, envFiles, envFlags []string) ([]string, error) {
	env := newEnvironment(base)
	var settings []string
	for _, path := range envFiles {
		fromFile, err := readEnvFile(path)
		if err != nil {
			return nil, err
		}
		settings = append(settings, fromFile...)
	}
	settings = append(settings, envFlags...)
	for _, s := range settings {
		if err := env.apply(s, os.LookupEnv); err != nil {
			return nil, err
		}
	}
	return env.list(), nil
}

// parseVolume reads one -v HOST:CONTAINER[:ro|:rw]. Both paths must be
// absolute; CONTAINER may not be "/" nor lie in /proc, /dev or /sys, which
// the runtime itself mounts.
func parseVolume(spec string) (container.Volume, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return container.Volume{}, fmt.Errorf("invalid volume %q: want HOST:CONTAINER or HOST:CONTAINER:ro", spec)
	}
	v := container.Volume{Source: filepath.Clean(parts[0]), Target: filepath.Clean(parts[1])}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			v.ReadOnly = true
		case "rw":
		default:
			return v, fmt.Errorf("invalid volume %q: mode %q is not ro or rw", spec, parts[2])
		}
	}
	if parts[0] == "" || !filepath.IsAbs(parts[0]) {
		return v, fmt.Errorf("invalid volume %q: the host path must be absolute", spec)
	}
	if parts[1] == "" || !filepath.IsAbs(parts[1]) {
		return v, fmt.Errorf("invalid volume %q: the container path must be absolute", spec)
	}
	if v.Target == "/" {
		return v, fmt.Errorf("invalid volume %q: cannot mount over the container's /", spec)
	}
	for _, reserved := range []string{"/proc", "/dev", "/sys"} {
		if v.Target == reserved || strings.HasPrefix(v.Target, reserved+"/") {
			return v, fmt.Errorf("invalid volume %q: %s belongs to the runtime", spec, reserved)
		}
	}
	return v, nil
}

// imageEnv is the environment an image-mode container starts from, as
// docker gives it, instead of the caller's.
func imageEnv(hostname string, tty bool) []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNAME=" + hostname,
		"HOME=/root",
	}
	if tty {
		env = append(env, "TERM=xterm")
	}
	return env
}

// parseResources reads the cgroup flags (chapter 3.2), with the book's
// spellings (-m, -cpushare, -cpuset) and docker's.
func parseResources(ctx *cli.Context) (cgroups.Resources, error) {
	var res cgroups.Resources
	var err error
	if isSet(ctx, "memory") {
		if res.MemoryBytes, err = cgroups.ParseMemory(ctx.String("memory")); err != nil {
			return res, err
		}
	}
	if isSet(ctx, "cpu-shares") {
		if res.CPUShares, err = cgroups.ParseCPUShares(ctx.String("cpu-shares")); err != nil {
			return res, err
		}
	}
	var online map[int]bool
	if isSet(ctx, "cpus") || isSet(ctx, "cpuset-cpus") {
		if online, err = cgroups.OnlineCPUs(); err != nil {
			return res, err
		}
	}
	if isSet(ctx, "cpus") {
		if res.CPUs, err = cgroups.ParseCPUs(ctx.String("cpus"), len(online)); err != nil {
			return res, err
		}
	}
	if isSet(ctx, "cpuset-cpus") {
		if _, err = cgroups.ParseCPUList(ctx.String("cpuset-cpus"), online); err != nil {
			return res, err
		}
		res.CPUSet = ctx.String("cpuset-cpus")
	}
	if isSet(ctx, "pids-limit") {
		if res.PidsLimit, err = cgroups.ParsePidsLimit(ctx.String("pids-limit")); err != nil {
			return res, err
		}
	}
	return res, nil
}

// parseSecurity turns --privileged, --cap-add, --cap-drop and
// --security-opt into the container's confinement. With its own root a
// container gets docker's defaults (capabilities.Default and docker's
// seccomp profile); on the host's files it keeps root's powers, as in the
// book, unless a flag asks otherwise.
func parseSecurity(ctx *cli.Context, cfg *container.Config, ownRoot bool) error {
	adds, drops := splitList(ctx.StringSlice("cap-add")), splitList(ctx.StringSlice("cap-drop"))
	profile, noNewPrivs := "", false
	for _, opt := range ctx.StringSlice("security-opt") {
		// docker takes both KEY=VALUE and the older KEY:VALUE.
		i := strings.IndexAny(opt, "=:")
		key, value := opt, ""
		if i >= 0 {
			key, value = opt[:i], opt[i+1:]
		}
		switch key {
		case "no-new-privileges":
			switch value {
			case "", "true":
				noNewPrivs = true
			case "false":
				noNewPrivs = false
			default:
				return fmt.Errorf("invalid --security-opt %q: no-new-privileges is true or false", opt)
			}
		case "seccomp":
			if value == "" {
				return fmt.Errorf("invalid --security-opt %q: seccomp=unconfined, seccomp=builtin or seccomp=PROFILE.json", opt)
			}
			profile = value
		default:
			return fmt.Errorf("invalid --security-opt %q: mydocker knows no-new-privileges and seccomp", opt)
		}
	}

	privileged := ctx.Bool("privileged")
	base := capabilities.Default
	if !ownRoot {
		base = capabilities.All()
	}
	caps, err := capabilities.Resolve(base, adds, drops)
	if err != nil {
		return err
	}
	if privileged {
		caps = capabilities.All() // docker's meaning: every capability, whatever else is asked
	}
	cfg.Privileged = privileged
	cfg.NoNewPrivileges = noNewPrivs
	cfg.Capabilities = caps
	cfg.LimitCapabilities = !privileged && (ownRoot || len(adds)+len(drops) > 0)

	var prog seccomp.Program
	switch {
	case privileged, profile == "unconfined":
	case profile == "" && !ownRoot:
	case profile == "" || profile == "builtin":
		prog, err = seccomp.Builtin(caps)
	default:
		prog, err = seccomp.FromFile(profile, caps)
	}
	if err != nil {
		return err
	}
	if prog != nil {
		cfg.Seccomp = prog.Encode()
	}
	return nil
}

// splitList reads repeated flags that may also hold comma-separated lists.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// splitCombinedFlags rewrites docker's combined short flags of run and
// exec (-dit, -itd, -dt, -td, -di...) as separate ones (-d -i -t) before
// urfave/cli reads them. Its own short-option handling cannot be used: it
// would split the book's single-dash long flags (-name, -cpushare) too.
// Only run's and exec's own flags are looked at, up to COMMAND: what
// follows belongs to the command (run busybox ls -dit stays as it is).
func splitCombinedFlags(app *cli.App, args []string) []string {
	i, cmd := skipFlags(args, 1, app.Flags)
	if i >= len(args) || cmd == nil || cmd.Name != "run" && cmd.Name != "exec" {
		return args
	}
	out := append([]string{}, args[:i+1]...)
	for j := i + 1; j < len(args); j++ {
		a := args[j]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			return append(out, args[j:]...)
		}
		if split, ok := combinedDIT(a); ok {
			out = append(out, split...)
			continue
		}
		out = append(out, a)
		if takesValue(strings.TrimLeft(a, "-"), cmd.Flags) && j+1 < len(args) {
			j++
			out = append(out, args[j])
		}
	}
	return out
}

// skipFlags returns the index of the first argument from i on that is not
// one of flags (or a flag's value), and the command it names, if any.
func skipFlags(args []string, i int, flags []cli.Flag) (int, *cli.Command) {
	for ; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			break
		}
		if takesValue(strings.TrimLeft(a, "-"), flags) {
			i++
		}
	}
	if i >= len(args) {
		return i, nil
	}
	for k := range appCommands {
		if appCommands[k].HasName(args[i]) {
			return i, &appCommands[k]
		}
	}
	return i, nil
}

// combinedDIT splits "-dit" and its kin: two or three of d, i and t, each
// once, behind one dash. -ti and -it are run's own flag, and stay.
func combinedDIT(a string) ([]string, bool) {
	letters := strings.TrimPrefix(a, "-")
	if len(a) < 3 || a[1] == '-' || len(letters) > 3 || letters == "ti" || letters == "it" {
		return nil, false
	}
	var out []string
	for _, c := range letters {
		if !strings.ContainsRune("dit", c) || strings.Count(letters, string(c)) > 1 {
			return nil, false
		}
		out = append(out, "-"+string(c))
	}
	return out, true
}

// takesValue reports whether the flag called name (without dashes, maybe
// with =VALUE) is one of flags that reads the next argument as its value.
func takesValue(name string, flags []cli.Flag) bool {
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range strings.Split(f.GetName(), ",") {
			if strings.TrimSpace(n) == name {
				_, isBool := f.(cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}

// isSet is ctx.IsSet, without its cost when the command was given no flag
// at all: urfave/cli v1 then looks, for every one of the command's flags,
// for a file named by its FilePath (os.Stat("") for each) and in the
// environment for its EnvVar, neither of which these commands' flags use.
func isSet(ctx *cli.Context, name string) bool {
	return ctx.NumFlags() > 0 && ctx.IsSet(name)
}
