package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/network"
	log "github.com/sirupsen/logrus"
)

// Container is one container on the host, from its creation to its end,
// and the one owner of everything it holds there. Create makes, in order:
//
//  1. its state file and its name (Workspace), after removing what
//     containers whose mydocker was killed left;
//  2. with --net: its address on the network and its published ports
//     (network.Allocate); the veth pair comes once its namespace exists
//     (Connect);
//  3. with an image or --rootfs: its run files (the overlay's mount
//     point, its /etc files) on /run's tmpfs, with an image its layer
//     directory on disk (the overlay's upper and work directories), and
//     the volume directories missing on the host;
//  4. with limits: its cgroup (cgroups.Manager).
//
// Release undoes them in the reverse order, and every path goes through
// it: a start that failed as much as a container that ended. A detached
// container (Spec.Keep) is the one exception: its state, layer and log stay,
// exited, for ps -a, logs, commit and start, until rm (RemoveExited). All
// three ends, and the next mydocker finding what a killed one left
// (scanContainers), share one teardown: remove.
type Container struct {
	State  *State
	Config *Config
	Cgroup *cgroups.Manager // its limits; nil without

	ws          *Workspace
	endpoint    *network.Endpoint // its place on its network, with --net
	keep, again bool
	madeVolumes []string // volume directories this start made on the host
	layer       *os.File // init's descriptor of a layer in memory (HoldLayer)
}

// Spec is what Create makes a container from.
type Spec struct {
	Root   string // the store (--root)
	State  *State // what ps and inspect will know: ID, name, image...
	Config *Config
	// Where its root comes from: an image (Image), a --rootfs directory
	// as it is, or neither: the host's.
	Image     *ImageLayers
	Rootfs    string
	Resources cgroups.Resources
	Ports     []network.Port // published, on the network State.Network
	Keep      bool           // detached: it stays, exited, until rm
	Again     bool           // start: it exists, exited, and runs again on its layer
}

// ImageLayers is what a container needs of its image: its layers, and the
// file whose presence says the image is still in the store.
type ImageLayers struct {
	Lower  string // the layers' short names, top first, joined by ':'
	Links  string // the directory of the short names
	Config string // the image's config file
}

// Create makes the container's pieces on the host, in the order above. On
// an error, what it made is gone again.
func Create(spec Spec) (c *Container, err error) {
	c = &Container{State: spec.State, Config: spec.Config, keep: spec.Keep, again: spec.Again}
	ownRoot := spec.Image != nil || spec.Rootfs != ""
	imageConfig := ""
	if spec.Image != nil {
		imageConfig = spec.Image.Config
	}
	// 1. State and name.
	if c.ws, err = NewWorkspace(spec.Root, c.State, imageConfig, ownRoot, spec.Again, spec.Config.LayerInMemory); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Release(-1, false)
		}
	}()
	// 2. Its network address and ports.
	if c.State.Network != "" {
		ep, err := network.Allocate(spec.Root, c.State.Network, c.State.ID, spec.Ports, Alive)
		if err != nil {
			return c, err
		}
		c.endpoint = ep
		c.State.IPAddress = ep.IP.String()
		if err := c.ws.writeState(c.State); err != nil {
			return c, err
		}
	}
	// 3. Its own root.
	if ownRoot {
		if err := c.prepareRootfs(spec); err != nil {
			return c, err
		}
	}
	// 4. Its limits (chapter 3.2). Every controller is checked before
	// anything starts: a missing one is an error, never a run without it.
	if !spec.Resources.Empty() {
		m, err := cgroups.New(cgroups.Prefix+c.State.ID, spec.Resources)
		if err != nil {
			return c, err
		}
		m.CleanStale() // the cgroups of containers whose mydocker was killed
		if err := m.Create(); err != nil {
			return c, err
		}
		c.Cgroup = m
	}
	return c, nil
}

// prepareRootfs makes the host-side pieces of a container with its own
// root: the overlay's layers (init mounts them), the /etc files init binds
// over the image's, and the volume directories missing on the host.
func (c *Container) prepareRootfs(spec Spec) error {
	cfg := c.Config
	if spec.Image != nil {
		cfg.Rootfs = c.ws.RunPath("merged")
		cfg.LowerDir, cfg.UpperDir, cfg.WorkDir = spec.Image.Lower, c.ws.Path("upper"), c.ws.Path("work")
		if cfg.LayerInMemory {
			// No run files: init mounts its tmpfs, which has the layer,
			// the overlay's mount point and the /etc files, on the
			// directory all containers' run files are in (in its own
			// mount namespace, where it hides nothing of anyone's).
			cfg.Rootfs = workDir()
			if err := os.MkdirAll(cfg.Rootfs, 0o700); err != nil {
				return fmt.Errorf("create container run files: %w", err)
			}
			cfg.UpperDir, cfg.WorkDir = filepath.Join(cfg.Rootfs, memUpper), filepath.Join(cfg.Rootfs, memWork)
		}
		cfg.LayerLinks = spec.Image.Links
		if n := len(OverlayOptions(cfg.LowerDir, cfg.UpperDir, cfg.WorkDir) + ",volatile"); n >= 4096 {
			return fmt.Errorf("image %s: the overlay's options take %d bytes, more than the page a mount takes (4096): use a shorter --root", c.State.Image, n)
		}
		// A layer that goes with the run need not survive a crash of the
		// host; a detached container's stays for commit and start, as
		// durable as docker's.
		cfg.Volatile = !spec.Keep
	} else {
		abs, err := filepath.Abs(spec.Rootfs)
		if err != nil {
			return err
		}
		cfg.Rootfs = abs
	}
	etc := EtcFiles(cfg.Hostname, c.State.IPAddress)
	if cfg.LayerInMemory {
		cfg.EtcFiles = etc // init writes them in its tmpfs
	} else {
		if err := c.ws.WriteEtcFiles(etc); err != nil {
			return err
		}
		cfg.EtcDir = c.ws.RunDir
	}
	for _, v := range cfg.Volumes {
		if _, err := os.Stat(v.Source); err == nil {
			continue // a directory or a file: bound as it is
		}
		made, err := mkdirAllReporting(v.Source)
		if made != "" {
			c.madeVolumes = append(c.madeVolumes, made)
		}
		if err != nil {
			return fmt.Errorf("volume %s: %w", v.Source, err)
		}
	}
	return nil
}

// mkdirAllReporting is os.MkdirAll that returns the topmost directory it
// created ("" when dir existed), so a failed start can take it back.
func mkdirAllReporting(dir string) (string, error) {
	top := ""
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		top = d
		if d == filepath.Dir(d) {
			break
		}
	}
	return top, os.MkdirAll(dir, 0o755)
}

// Connect plugs the container, whose namespaces now exist around init
// (pid), into its network, before init goes on (container_process.go).
func (c *Container) Connect(pid int) error {
	if c.endpoint == nil {
		return nil
	}
	return network.Connect(c.endpoint, pid)
}

// Alive reports whether the container id is running: its owner holds its
// state file.
func Alive(id string) bool {
	_, held := readState(statePath(id))
	return held
}

// Started records that the container's PID 1 is pid.
func (c *Container) Started(pid int) {
	if err := c.ws.Started(c.State, pid); err != nil {
		log.Warnf("%v", err)
	}
}

// HoldLayer keeps layer, init's descriptor of the tmpfs a layer in memory
// is on, for as long as the container runs: through it (its LayerDir,
// /proc/PID/fd/N) commit reads the layer, which has no path of its own on
// the host. Closed by Release.
func (c *Container) HoldLayer(layer *os.File) {
	c.layer = layer
	c.State.LayerDir = fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), layer.Fd())
	if err := c.ws.writeState(c.State); err != nil {
		log.Warnf("%v", err)
	}
}

// LogPath is where a detached container's stdout and stderr go.
func (c *Container) LogPath() string { return c.ws.Path(logFile) }

// Release is the container's end on its owner's side. ran says whether
// its command ran, and status is how it ended (or why it could not
// start). Volume directories made for a command that never ran go. A
// detached container that ran (or that start could not run again) stays,
// exited with status, until rm; everything else goes.
func (c *Container) Release(status int, ran bool) {
	if c.layer != nil {
		c.layer.Close() // the tmpfs goes with the container's mount namespace
	}
	if !ran {
		for _, dir := range c.madeVolumes {
			os.RemoveAll(dir)
		}
	}
	if c.keep && (ran || c.again) {
		// Its address and ports go now; start allocates them again.
		if c.State.Network != "" {
			if err := network.Release(c.State.Root, c.State.Network, c.State.ID); err != nil {
				log.Warnf("%v", err)
			}
			c.State.IPAddress = ""
		}
		if c.Cgroup != nil {
			if err := c.Cgroup.Destroy(); err != nil {
				log.Warnf("%v", err)
			}
		}
		os.RemoveAll(c.ws.RunDir) // its run files die with the run
		if err := c.ws.Ended(c.State, status); err != nil {
			log.Warnf("%v", err)
		}
		return
	}
	if err := remove(c.State, c.Cgroup); err != nil {
		log.Warnf("%v", err)
	}
	c.ws.close()
}

// RemoveExited is rm's end of a container that no longer runs (exited,
// or left by a killed monitor). It refuses one whose owner still holds
// it.
func RemoveExited(s *State) error {
	unlock, err := lockContainers()
	if err != nil {
		return err
	}
	defer unlock()
	if _, held := readState(statePath(s.ID)); held {
		return fmt.Errorf("container %s is still running", s.Name)
	}
	if err := remove(s, nil); err != nil {
		return fmt.Errorf("remove container %s: %w", s.Name, err)
	}
	return nil
}

// remove is the one teardown of a container that is over, whoever runs
// it: its owner (Release), rm (RemoveExited) or the next mydocker, for one
// whose owner was killed (scanContainers). In the reverse order of Create:
// its cgroup (cg, its owner's, or by name: a killed owner could not), its
// network address, ports and rules, its directory with its layer and log,
// its name, and its state file last:
// while that is there, nobody takes the rest for another's.
func remove(s *State, cg *cgroups.Manager) error {
	var errs []error
	if cg != nil {
		errs = append(errs, cg.Destroy())
	} else if len(s.Limits) > 0 || s.layer {
		// Its limits, or an image's device rules.
		cgroups.RemoveLeft(cgroups.Prefix + s.ID)
	}
	if s.Network != "" {
		errs = append(errs, network.Release(s.Root, s.Network, s.ID))
	}
	if s.layer || s.Detached {
		errs = append(errs, os.RemoveAll(filepath.Join(containersDir(s.Root), s.ID)))
	}
	if err := os.RemoveAll(runDir(s.ID)); err != nil {
		errs = append(errs, err)
	}
	name := nameFile(s.Root, s.Name)
	if id, _ := os.ReadFile(name); string(id) == s.ID {
		errs = append(errs, os.Remove(name))
	}
	if err := os.Remove(statePath(s.ID)); err != nil && !os.IsNotExist(err) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove container %s: %w", s.Name, err)
	}
	return nil
}

func statePath(id string) string { return filepath.Join(RuntimeDir, id) }
