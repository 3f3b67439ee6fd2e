package image

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Config is what an image says about how to run it, the subset of docker's
// image config that `docker import --change` can set: the default command,
// extra environment and the working directory. It is kept as config.json
// beside the image's rootfs, in docker's field names.
type Config struct {
	Cmd        []string `json:"Cmd,omitempty"`
	Env        []string `json:"Env,omitempty"`
	WorkingDir string   `json:"WorkingDir,omitempty"`
}

// Empty reports whether the config sets nothing.
func (c Config) Empty() bool { return len(c.Cmd) == 0 && len(c.Env) == 0 && c.WorkingDir == "" }

// ApplyChange reads one Dockerfile instruction of `import --change`: CMD
// (JSON array, or the shell form run by /bin/sh -c), ENV (KEY=VALUE ... or
// KEY VALUE) or WORKDIR (absolute).
func (c *Config) ApplyChange(change string) error {
	instr, arg, _ := strings.Cut(strings.TrimSpace(change), " ")
	arg = strings.TrimSpace(arg)
	bad := func(why string) error { return fmt.Errorf("invalid --change %q: %s", change, why) }
	if arg == "" {
		return bad("it needs an argument")
	}
	switch strings.ToUpper(instr) {
	case "CMD":
		if strings.HasPrefix(arg, "[") {
			var cmd []string
			if err := json.Unmarshal([]byte(arg), &cmd); err != nil || len(cmd) == 0 || cmd[0] == "" {
				return bad(`CMD takes a JSON array of strings, e.g. CMD ["sh"], or a shell command`)
			}
			c.Cmd = cmd
		} else {
			c.Cmd = []string{"/bin/sh", "-c", arg}
		}
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
		return bad("mydocker knows CMD, ENV and WORKDIR")
	}
	return nil
}

// String is the command as `images` shows it.
func (c Config) String() string {
	if len(c.Cmd) == 0 {
		return ""
	}
	data, _ := json.Marshal(c.Cmd)
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
