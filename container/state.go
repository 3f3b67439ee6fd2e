package container

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mydocker/mydocker/names"
	"golang.org/x/sys/unix"
)

// State is one container as `ps` sees it. Its owner (the mydocker that
// runs it) keeps it in /run/mydocker/ID as records (records.go), and holds
// an flock on that file while the container lives.
type State struct {
	ID        string
	Root      string // the --root it was started with
	Name      string
	Image     string // the image's name, the --rootfs directory, or "" (host files)
	ImageID   string // the image's ID (sha256:...), which its layers go with
	Args      []string
	Created   time.Time
	Pid       int // the container's PID 1, on the host; 0 until it starts
	StartedAt time.Time
	// PidStart is when Pid started (field 22 of /proc/PID/stat, in clock
	// ticks since boot). A PID alone can be handed to another process once
	// the container is gone; the pair cannot.
	PidStart uint64
	// How it was run, for inspect: the command's environment, hostname
	// and working directory, its volumes (HOST:CONTAINER[:ro]), docker's
	// HostConfig limits ("Memory=67108864", ...) and its confinement.
	Env      []string
	Argv     []string // a detached container's run -d command line, for start
	Hostname string
	Workdir  string
	// User is run's --user, which exec runs as too; HomeFromUser says HOME
	// is that user's (Config's).
	User         string
	HomeFromUser bool
	// StopSignal is the image's STOPSIGNAL, which stop sends ("" is
	// SIGTERM).
	StopSignal string
	Binds      []string
	Limits     []string
	// Its bridge network (--net), its address there while it runs, and
	// its published ports (docker's "0.0.0.0:8080->80/tcp").
	Network      string
	IPAddress    string
	Ports        []string
	ReadOnly     bool
	Privileged   bool
	Capabilities []string
	// What exec confines a new process with, as the container's PID 1 was.
	LimitCapabilities bool
	Seccomp           string // the encoded filter program
	NoNewPrivileges   bool
	// Detached (run -d): its owner is a monitor, and it stays, exited,
	// until rm.
	Detached bool
	// LayerDir, while a container whose layer is in memory runs, is where
	// its owner's descriptor of that tmpfs is (/proc/PID/fd/N): commit
	// reads the layer's files there (Container.HoldLayer).
	LayerDir   string
	OOMKilled  bool // the kernel's OOM killer ended it
	Exited     bool // its monitor saw it end, with ExitCode at FinishedAt
	ExitCode   int
	FinishedAt time.Time
	// Running and Dead are filled in by List, never stored: whether the
	// container's owner and its PID 1 are both alive now; whether its
	// owner died before it could record the end (the container died with
	// it, killed).
	Running bool
	Dead    bool
	layer   bool // it has a layer of an image: a directory under Root, or in memory
}

// Status says in docker's words how the container is, at now.
func (s *State) Status(now time.Time) string {
	switch {
	case s.Running:
		// Since this run began, as docker's: a container started again
		// counts from its start, not from its creation.
		since := s.StartedAt
		if since.IsZero() {
			since = s.Created
		}
		return "Up " + humanDuration(now.Sub(since))
	case s.Exited:
		return fmt.Sprintf("Exited (%d) %s ago", s.ExitCode, humanDuration(now.Sub(s.FinishedAt)))
	case s.Dead:
		return "Dead"
	}
	return "Created"
}

// Ago is how long ago t was, in docker's words ("5 minutes ago").
func Ago(now, t time.Time) string { return humanDuration(now.Sub(t)) + " ago" }

// humanDuration is docker's way of saying how long: "Less than a second",
// "3 seconds", "About a minute", "5 minutes", "About an hour"...
func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case d.Minutes() < 2:
		return "About a minute"
	case d.Minutes() < 60:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d.Hours() < 2:
		return "About an hour"
	case d.Hours() < 48:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d.Hours() < 24*7*2:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d.Hours() < 24*30*2:
		return fmt.Sprintf("%d weeks", int(d.Hours()/24/7))
	case d.Hours() < 24*365*2:
		return fmt.Sprintf("%d months", int(d.Hours()/24/30))
	}
	return fmt.Sprintf("%d years", int(d.Hours()/24/365))
}

// Ended records that the container's PID 1 ended with status, then lets
// go of the state file without removing it: a detached container stays
// until rm.
func (w *Workspace) Ended(s *State, status int) error {
	s.Exited, s.ExitCode, s.FinishedAt = true, status, time.Now()
	err := w.writeState(s)
	if err == nil && s.Detached && w.Dir != "" {
		err = w.saveDurable(s)
	}
	w.state.Close()
	w.state = nil
	if w.name != nil {
		w.name.Close() // the name stays taken until rm
		w.name = nil
	}
	return err
}

// Started records, in the container's state file, that its PID 1 is pid.
func (w *Workspace) Started(s *State, pid int) error {
	s.Pid, s.StartedAt = pid, time.Now()
	s.PidStart, _ = processStart(pid)
	return w.writeState(s)
}

// writeState writes the container's state file. A reader may catch it
// half-written: readState then finds no end record and takes the
// container for one being made.
func (w *Workspace) writeState(s *State) error {
	s.layer = w.Dir != "" || w.LayerInMemory
	data, err := s.encode()
	if err != nil {
		return err
	}
	// Over the old content, without truncating it first: ext4 writes out a
	// file truncated to zero at once (its auto_da_alloc), which made
	// removing it cost half a millisecond. What an older, longer content
	// leaves after the end record is never read.
	if _, err := w.state.WriteAt(data, 0); err != nil {
		return fmt.Errorf("container state: %w", err)
	}
	return nil
}

// saveDurable copies a detached container's state into its directory on
// disk, ROOT/containers/ID/state, where a reboot, which clears /run, does
// not reach it (restoreAfterReboot).
func (w *Workspace) saveDurable(s *State) error {
	data, err := s.encode()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(w.Path(durableState), os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = f.WriteAt(data, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("container state on disk: %w", err)
	}
	return nil
}

const durableState = "state"

// encode is the state as records (records.go).
func (s *State) encode() ([]byte, error) {
	r := &records{what: "container state"}
	r.add("id", s.ID)
	r.add("root", s.Root)
	r.add("name", s.Name)
	r.add("image", s.Image)
	r.add("image-id", s.ImageID)
	r.flag("layer", s.layer)
	r.flag("detached", s.Detached)
	if s.LayerDir != "" {
		r.add("layer-dir", s.LayerDir)
	}
	if s.Exited {
		r.add("exit-code", strconv.Itoa(s.ExitCode))
		r.add("finished", s.FinishedAt.UTC().Format(time.RFC3339Nano))
	}
	for _, a := range s.Args {
		r.add("arg", a)
	}
	for _, list := range []struct {
		key    string
		values []string
	}{{"env", s.Env}, {"bind", s.Binds}, {"limit", s.Limits}, {"cap", s.Capabilities}, {"argv", s.Argv}, {"port", s.Ports}} {
		for _, v := range list.values {
			r.add(list.key, v)
		}
	}
	r.add("hostname", s.Hostname)
	r.add("workdir", s.Workdir)
	r.add("user", s.User)
	r.add("stop-signal", s.StopSignal)
	if s.HomeFromUser {
		r.add("home-from-user", "1")
	}
	if s.Network != "" {
		r.add("network", s.Network)
		r.add("ip", s.IPAddress)
	}
	r.flag("read-only", s.ReadOnly)
	r.flag("privileged", s.Privileged)
	r.flag("oom-killed", s.OOMKilled)
	r.flag("limit-capabilities", s.LimitCapabilities)
	r.flag("no-new-privileges", s.NoNewPrivileges)
	if s.Seccomp != "" {
		r.add("seccomp", s.Seccomp)
	}
	r.add("created", s.Created.UTC().Format(time.RFC3339Nano)) // UTC: formatting in local time would read the time zone files, 0.5 ms
	r.add("pid", strconv.Itoa(s.Pid))
	if s.Pid > 0 {
		r.add("started", s.StartedAt.UTC().Format(time.RFC3339Nano))
	}
	r.add("pid-start", strconv.FormatUint(s.PidStart, 10))
	r.add("end", "")
	if r.err != nil {
		return nil, r.err
	}
	return r.buf.Bytes(), nil
}

// Alive reports whether the container's PID 1 is still the process that
// started (same PID, same start time).
func (s *State) Alive() bool {
	start, err := processStart(s.Pid)
	return err == nil && start == s.PidStart
}

// Find returns the container of root called ref: by full ID, by name, or
// by a prefix of its ID that no other container's shares, in docker's
// order. A full ID and a name are one file away each (the state file is
// named by the ID, the name file holds the ID): only a prefix, or a name
// file that no longer matches, needs every container's state, which with
// a few hundred containers would cost exec, stop and rm milliseconds.
func Find(root, ref string) (*State, error) {
	restoreAfterReboot(root, false)
	if isID(ref) {
		if s := loadState(root, ref); s != nil {
			return s, nil
		}
	}
	if ValidName(ref) == nil {
		if id, err := os.ReadFile(nameFile(root, ref)); err == nil && isID(string(id)) {
			if s := loadState(root, string(id)); s != nil && s.Name == ref {
				return s, nil
			}
		}
	}
	list, err := scan(root)
	if err != nil {
		return nil, err
	}
	var matches []*State
	for _, s := range list {
		if s.Name == ref || s.ID == ref {
			return s, nil
		}
		if ref != "" && strings.HasPrefix(s.ID, ref) {
			matches = append(matches, s)
		}
	}
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("no such container: %s", ref)
	case 1:
		return matches[0], nil
	}
	var ids []string
	for _, m := range matches {
		ids = append(ids, m.ID+" ("+m.Name+")")
	}
	return nil, fmt.Errorf("%q is ambiguous: it starts the IDs of %s", ref, strings.Join(ids, ", "))
}

// readState reads the state file at path, and says whether a live
// mydocker holds it. A file being written reads as nil. A file that is not
// there is not held: state files appear whole (publish renames them into
// place), so a missing one is a container whose owner has removed it, as
// a foreground run does when its container ends.
func readState(path string) (s *State, held bool) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		return nil, true // unreadable for now: leave it
	}
	defer f.Close()
	held = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) != nil
	s = &State{}
	err = readRecords(bufio.NewReader(f), "container state", false, func(key, value string) (bool, error) {
		var err error
		switch key {
		case "id":
			s.ID = value
		case "root":
			s.Root = value
		case "name":
			s.Name = value
		case "image":
			s.Image = value
		case "image-id":
			s.ImageID = value
		case "layer":
			s.layer = value == "1"
		case "detached":
			s.Detached = value == "1"
		case "layer-dir":
			s.LayerDir = value
		case "exit-code":
			s.Exited = true
			s.ExitCode, err = strconv.Atoi(value)
		case "finished":
			s.FinishedAt, err = time.Parse(time.RFC3339Nano, value)
		case "arg":
			s.Args = append(s.Args, value)
		case "env":
			s.Env = append(s.Env, value)
		case "argv":
			s.Argv = append(s.Argv, value)
		case "bind":
			s.Binds = append(s.Binds, value)
		case "limit":
			s.Limits = append(s.Limits, value)
		case "cap":
			s.Capabilities = append(s.Capabilities, value)
		case "port":
			s.Ports = append(s.Ports, value)
		case "network":
			s.Network = value
		case "ip":
			s.IPAddress = value
		case "hostname":
			s.Hostname = value
		case "workdir":
			s.Workdir = value
		case "user":
			s.User = value
		case "stop-signal":
			s.StopSignal = value
		case "home-from-user":
			s.HomeFromUser = value == "1"
		case "read-only":
			s.ReadOnly = value == "1"
		case "privileged":
			s.Privileged = value == "1"
		case "oom-killed":
			s.OOMKilled = value == "1"
		case "limit-capabilities":
			s.LimitCapabilities = value == "1"
		case "no-new-privileges":
			s.NoNewPrivileges = value == "1"
		case "seccomp":
			s.Seccomp = value
		case "created":
			s.Created, err = time.Parse(time.RFC3339Nano, value)
		case "pid":
			s.Pid, err = strconv.Atoi(value)
		case "started":
			s.StartedAt, err = time.Parse(time.RFC3339Nano, value)
		case "pid-start":
			s.PidStart, err = strconv.ParseUint(value, 10, 64)
		case "end":
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return nil, held
	}
	return s, held
}

// processStart reads the start time of pid from /proc/PID/stat.
func processStart(pid int) (uint64, error) {
	start, _, err := ProcessStat(pid)
	return start, err
}

// ProcessStat reads pid's start time (clock ticks since boot) and state
// letter (R, S, Z...) from /proc/PID/stat: a PID whose start time changed
// is another process.
func ProcessStat(pid int) (uint64, byte, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from after its closing one. starttime is field 22.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	return start, fields[0][0], err
}

// List returns the containers under root, oldest first, each with Running
// set from what is true now: its owner holds its lock, and its PID 1 is
// the same process as when it started (PID and start time). A container
// whose owner is gone is stale (its mydocker was killed with SIGKILL, and
// the container died with it): it is left out, and the next run removes
// its directory.
func List(root string) ([]*State, error) {
	restoreAfterReboot(root, false)
	return scan(root)
}

// scan is List after the reboot check.
func scan(root string) ([]*State, error) {
	entries, err := os.ReadDir(RuntimeDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var list []*State
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if s := loadState(root, e.Name()); s != nil {
			list = append(list, s)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Created.Before(list[j].Created) })
	return list, nil
}

// loadState reads the container id's state as List shows it, or nil for
// one being made, another root's, or a stale one.
func loadState(root, id string) *State {
	s, held := readState(statePath(id))
	if s == nil || s.Root != root || !held && !s.Detached {
		return nil
	}
	s.Running = held && s.Pid > 0 && !s.Exited && s.Alive()
	s.Dead = !held && !s.Exited
	return s
}

// isID: 12 lowercase hex digits, as NewID makes them.
func isID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidName checks a container name against docker's rule.
func ValidName(name string) error { return names.Check("container", name, 2, 128) }

// GenerateName makes a docker-like name ("brave_turing") from the ID.
func GenerateName(id string) string {
	adjectives := []string{"brave", "calm", "eager", "fond", "happy", "keen", "lucid", "merry", "nifty", "proud", "quiet", "sharp", "tender", "vivid", "wise", "zen"}
	people := []string{"hopper", "turing", "lovelace", "ritchie", "thompson", "torvalds", "kernighan", "liskov", "knuth", "dijkstra", "hamilton", "babbage", "shannon", "backus", "mccarthy", "wirth"}
	n, _ := strconv.ParseUint(id[:8], 16, 64)
	return adjectives[n%16] + "_" + people[(n/16)%16] + "_" + id[8:]
}
