package image

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mydocker/mydocker/names"
)

// Config is what an image says about how to run it, the subset of docker's
// image config that `docker import --change` can set: the entrypoint and
// default command, extra environment, the working directory, the user and
// the signal that stops it. It is kept as config.json
// beside the image's rootfs, in docker's field names.
type Config struct {
	Entrypoint []string `json:"Entrypoint,omitempty"`
	Cmd        []string `json:"Cmd,omitempty"`
	Env        []string `json:"Env,omitempty"`
	WorkingDir string   `json:"WorkingDir,omitempty"`
	User       string   `json:"User,omitempty"`
	StopSignal string   `json:"StopSignal,omitempty"`
}

// Empty reports whether the config sets nothing.
func (c Config) Empty() bool {
	return len(c.Entrypoint) == 0 && len(c.Cmd) == 0 && len(c.Env) == 0 && c.WorkingDir == "" && c.User == "" && c.StopSignal == ""
}

// Command is the argv of a container of the image, with docker's rules:
// the Entrypoint followed by the Cmd; args (those after the image on run's
// command line) replace the Cmd; an entrypoint given (run --entrypoint,
// set) replaces the image's and drops its Cmd, and an empty one resets it.
func (c Config) Command(args []string, entrypoint string, set bool) []string {
	ep, cmd := c.Entrypoint, c.Cmd
	if set {
		ep, cmd = nil, nil
		if entrypoint != "" {
			ep = []string{entrypoint}
		}
	}
	if len(args) > 0 {
		cmd = args
	}
	return append(append([]string{}, ep...), cmd...)
}

// ApplyChange reads one Dockerfile instruction of `import --change`:
// ENTRYPOINT and CMD (a JSON array, or the shell form run by /bin/sh -c),
// ENV (KEY=VALUE ... or KEY VALUE), WORKDIR (absolute), USER
// (USER[:GROUP]) or STOPSIGNAL (a name or a number).
func (c *Config) ApplyChange(change string) error {
	instr, arg, _ := strings.Cut(strings.TrimSpace(change), " ")
	arg = strings.TrimSpace(arg)
	bad := func(why string) error { return fmt.Errorf("invalid --change %q: %s", change, why) }
	if arg == "" {
		return bad("it needs an argument")
	}
	switch upper := strings.ToUpper(instr); upper {
	case "CMD", "ENTRYPOINT":
		argv := []string{"/bin/sh", "-c", arg}
		if strings.HasPrefix(arg, "[") {
			argv = nil
			if err := json.Unmarshal([]byte(arg), &argv); err != nil || len(argv) == 0 || argv[0] == "" {
				return bad(upper + ` takes a JSON array of strings, e.g. ` + upper + ` ["sh"], or a shell command`)
			}
		}
		if upper == "CMD" {
			c.Cmd = argv
		} else {
			c.Entrypoint = argv
		}
	case "USER":
		if u, g, ok := strings.Cut(arg, ":"); u == "" || ok && g == "" || strings.ContainsAny(arg, " \t") {
			return bad("USER takes USER[:GROUP], names or numbers")
		}
		c.User = arg
	case "STOPSIGNAL":
		if _, err := names.Signal(arg); err != nil {
			return bad(err.Error())
		}
		c.StopSignal = arg
	case "ENV":
		if key, _, ok := strings.Cut(arg, "="); ok && !strings.ContainsAny(key, " \t") {
			// KEY=VALUE [KEY=VALUE...]: values without spaces, as docker
			// reads them without quotes.
			for _, kv := range strings.Fields(arg) {
				if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
					return bad("ENV takes KEY=VALUE pairs or KEY VALUE")
				}
				c.Env = append(c.Env, kv)
			}
		} else {
			k, v, _ := strings.Cut(arg, " ")
			if k == "" || strings.Contains(k, "=") {
				return bad("ENV takes KEY=VALUE pairs or KEY VALUE")
			}
			c.Env = append(c.Env, k+"="+strings.TrimSpace(v))
		}
	case "WORKDIR":
		if !filepath.IsAbs(arg) {
			return bad("WORKDIR must be an absolute path")
		}
		c.WorkingDir = filepath.Clean(arg)
	default:
		return bad("mydocker knows ENTRYPOINT, CMD, ENV, WORKDIR, USER and STOPSIGNAL")
	}
	return nil
}

// String is the command as `images` shows it: the Entrypoint and Cmd.
func (c Config) String() string {
	argv := c.Command(nil, "", false)
	if len(argv) == 0 {
		return ""
	}
	data, _ := json.Marshal(argv)
	return string(data)
}

func writeConfig(dir string, c Config) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), append(data, '\n'), 0o644)
}

func readConfig(dir string) (Config, error) {
	var c Config
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if os.IsNotExist(err) {
		return c, nil // imported without --change
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("image config %s: %w", filepath.Join(dir, "config.json"), err)
	}
	return c, nil
}
