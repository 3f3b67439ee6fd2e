package image

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mydocker/mydocker/names"
)

// Config is what an image says about how to run it: the "config" of the
// OCI image config, in docker's field names. run reads the entrypoint and
// default command, the environment, the working directory, the user and
// the signal that stops it; labels, exposed ports and volumes are kept
// and shown (inspect), as docker keeps them.
type Config struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Volumes      map[string]struct{} `json:"Volumes,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
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
	case "LABEL":
		pairs, err := keyValues(arg)
		if err != nil {
			return bad("LABEL takes KEY=VALUE pairs")
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for _, kv := range pairs {
			k, v, _ := strings.Cut(kv, "=")
			c.Labels[k] = strings.Trim(v, `"`)
		}
	case "EXPOSE":
		for _, port := range strings.Fields(arg) {
			num, proto, _ := strings.Cut(port, "/")
			if proto == "" {
				proto = "tcp"
			}
			if n, err := strconv.Atoi(num); err != nil || n < 1 || n > 65535 || proto != "tcp" && proto != "udp" && proto != "sctp" {
				return bad("EXPOSE takes PORT[/tcp|udp|sctp]...")
			}
			if c.ExposedPorts == nil {
				c.ExposedPorts = map[string]struct{}{}
			}
			c.ExposedPorts[num+"/"+proto] = struct{}{}
		}
	case "VOLUME":
		paths := strings.Fields(arg)
		if strings.HasPrefix(arg, "[") {
			paths = nil
			if err := json.Unmarshal([]byte(arg), &paths); err != nil {
				return bad(`VOLUME takes paths, or a JSON array of them`)
			}
		}
		for _, p := range paths {
			if !filepath.IsAbs(p) {
				return bad("VOLUME paths must be absolute")
			}
			if c.Volumes == nil {
				c.Volumes = map[string]struct{}{}
			}
			c.Volumes[filepath.Clean(p)] = struct{}{}
		}
	case "WORKDIR":
		if !filepath.IsAbs(arg) {
			return bad("WORKDIR must be an absolute path")
		}
		c.WorkingDir = filepath.Clean(arg)
	default:
		return bad("mydocker knows ENTRYPOINT, CMD, ENV, LABEL, EXPOSE, VOLUME, WORKDIR, USER and STOPSIGNAL")
	}
	return nil
}

// keyValues splits KEY=VALUE pairs, values without spaces.
func keyValues(arg string) ([]string, error) {
	pairs := strings.Fields(arg)
	for _, kv := range pairs {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", kv)
		}
	}
	return pairs, nil
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
