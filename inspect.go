package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/image"
	"github.com/mydocker/mydocker/network"
	"github.com/urfave/cli"
)

var inspectCommand = cli.Command{
	Name:         "inspect",
	Usage:        "print containers or images as JSON, in docker's shape",
	ArgsUsage:    "CONTAINER|IMAGE [CONTAINER|IMAGE...]",
	OnUsageError: usageError,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "type", Usage: "look for a `container` or an `image` only (default: a container, then an image)"},
	},
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) == 0 {
			return usageErrorf("inspect needs a container or an image: mydocker inspect NAME [NAME...]")
		}
		kind := ctx.String("type")
		if kind != "" && kind != "container" && kind != "image" {
			return usageErrorf("inspect --type %q: use container or image", kind)
		}
		var out []any
		failed := false
		for _, ref := range ctx.Args() {
			found, err := inspectOne(ref, kind)
			if err != nil {
				fmt.Fprintf(os.Stderr, "mydocker: %v\n", err)
				failed = true
				continue
			}
			out = append(out, found)
		}
		if len(out) > 0 {
			data, _ := json.MarshalIndent(out, "", "    ")
			fmt.Println(string(data))
		}
		if failed {
			return exitWith(1)
		}
		return nil
	},
}

// inspectOne is the container ref, or else the image ref, as docker
// inspect looks them up.
func inspectOne(ref, kind string) (any, error) {
	var err error
	if kind != "image" {
		var s *container.State
		if s, err = container.Find(storeRoot, ref); err == nil {
			return inspectJSON(s), nil
		}
		if kind == "container" {
			return nil, err
		}
	}
	store := image.NewStore(storeRoot)
	img, ierr := store.Resolve(ref)
	if ierr == nil {
		return inspectImageJSON(store.WithSize(img)), nil
	}
	if kind == "image" || !errors.Is(ierr, image.ErrNotFound) {
		return nil, ierr
	}
	return nil, fmt.Errorf("no such container or image: %s", ref)
}

// inspectImageJSON is docker image inspect's shape.
func inspectImageJSON(img *image.Image) map[string]any {
	tags := []string{}
	for _, n := range img.Names {
		tags = append(tags, image.FamiliarString(n))
	}
	digests := []string{}
	for _, d := range img.Digests {
		digests = append(digests, image.FamiliarString(d))
	}
	layers := img.DiffIDs
	if layers == nil {
		layers = []string{}
	}
	return map[string]any{
		"Id":           img.ID,
		"RepoTags":     tags,
		"RepoDigests":  digests,
		"Created":      img.Created.UTC().Format(time.RFC3339Nano),
		"Size":         img.Size,
		"Architecture": img.Architecture(),
		"Os":           "linux",
		"Config":       img.Config,
		"RootFS":       map[string]any{"Type": "layers", "Layers": layers},
	}
}

// inspectJSON is docker inspect's shape, for the fields mydocker knows.
func inspectJSON(s *container.State) map[string]any {
	status := "created"
	switch {
	case s.Running:
		status = "running"
	case s.Exited:
		status = "exited"
	case s.Dead:
		status = "dead"
	}
	zero := func(t time.Time) string {
		if t.IsZero() {
			return "0001-01-01T00:00:00Z"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	host := map[string]any{
		"Binds":          s.Binds,
		"ReadonlyRootfs": s.ReadOnly,
		"Privileged":     s.Privileged,
		"Capabilities":   s.Capabilities,
	}
	for _, l := range s.Limits {
		name, value, _ := strings.Cut(l, "=")
		if n, err := strconv.ParseInt(value, 10, 64); err == nil {
			host[name] = n
		} else {
			host[name] = value
		}
	}
	path, args := "", []string{}
	if len(s.Args) > 0 {
		path, args = s.Args[0], s.Args[1:]
	}
	pid := 0
	if s.Running {
		pid = s.Pid
	}
	image := s.Image
	if image == "" {
		image = "(host files)"
	}
	imageID := image
	if s.ImageID != "" {
		imageID = s.ImageID // docker's: the image's ID; Config.Image its name
	}
	j := map[string]any{
		"Id":      s.ID,
		"Name":    "/" + s.Name,
		"Created": zero(s.Created),
		"Path":    path,
		"Args":    args,
		"State": map[string]any{
			"Status": status, "Running": s.Running, "Dead": s.Dead, "Pid": pid,
			"ExitCode": s.ExitCode, "OOMKilled": s.OOMKilled,
			"StartedAt": zero(s.StartedAt), "FinishedAt": zero(s.FinishedAt),
		},
		"Image": imageID,
		"Config": map[string]any{
			"Hostname": s.Hostname, "Env": s.Env, "Cmd": s.Args, "Image": image, "WorkingDir": s.Workdir, "User": s.User,
		},
		"HostConfig": host,
	}
	if s.StopSignal != "" {
		j["Config"].(map[string]any)["StopSignal"] = s.StopSignal
	}
	if s.Network != "" {
		j["NetworkSettings"] = networkSettings(s)
	}
	if s.Detached {
		j["LogPath"] = container.LogPath(storeRoot, s.ID)
	}
	return j
}

// networkSettings is docker's NetworkSettings: the address on the network
// while the container runs, and the published ports, as
// {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}.
func networkSettings(s *container.State) map[string]any {
	ports := map[string][]map[string]string{}
	for _, spec := range s.Ports {
		p, err := network.ParsePort(spec)
		if err != nil {
			continue
		}
		hostIP := "0.0.0.0"
		if p.HostIP != nil {
			hostIP = p.HostIP.String()
		}
		key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		ports[key] = append(ports[key], map[string]string{"HostIp": hostIP, "HostPort": fmt.Sprint(p.HostPort)})
	}
	ip := ""
	if s.Running {
		ip = s.IPAddress
	}
	return map[string]any{
		"Ports": ports,
		"Networks": map[string]any{
			s.Network: map[string]any{"IPAddress": ip},
		},
	}
}
