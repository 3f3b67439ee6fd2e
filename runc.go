package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mydocker/mydocker/oci"
	log "github.com/sirupsen/logrus"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

// runcName is the name under which this binary speaks runc's command line
// (make links it beside mydocker): containerd's shim, podman's conmon and
// Kubernetes' CRI drive OCI runtimes through it (docs/oci-runtime.md).
// One binary for both keeps one init: the container that create makes is
// started by the very `init` that `mydocker run` re-executes.
const runcName = "mydocker-runc"

// runcMain is main for mydocker-runc.
func runcMain() {
	app := cli.NewApp()
	app.Name = runcName
	app.Usage = "mydocker's OCI runtime: runc's command line, for containerd, podman and Kubernetes"
	app.Version = version
	cli.VersionPrinter = func(ctx *cli.Context) {
		// containerd's go-runc reads "runc version X" and "spec: Y".
		fmt.Printf("runc version %s (%s)\ncommit: %s\nspec: %s\n", version, runcName, version, oci.SpecVersion)
	}
	app.Flags = []cli.Flag{
		cli.StringFlag{Name: "root", Value: oci.DefaultRoot, Usage: "where containers' state is kept"},
		cli.StringFlag{Name: "log", Usage: "also log errors to this file"},
		cli.StringFlag{Name: "log-format", Value: "text", Usage: "the --log file's format: text or json"},
		cli.BoolFlag{Name: "debug", Usage: "log each step of the mechanism on stderr (mounts, cgroup files)"},
		cli.BoolFlag{Name: "systemd-cgroup", Usage: "use systemd's cgroups (not supported: refused)"},
		cli.StringFlag{Name: "criu", Usage: "checkpoint tool (not supported: ignored)"},
		cli.StringFlag{Name: "rootless", Value: "auto", Usage: "rootless mode (not supported: root only)"},
	}
	app.Commands = []cli.Command{
		runcCreateCommand, runcStartCommand, runcRunCommand, runcStateCommand,
		runcKillCommand, runcDeleteCommand, runcListCommand, runcPsCommand,
		runcExecCommand, runcPauseCommand, runcResumeCommand, runcUpdateCommand, runcFeaturesCommand,
	}
	app.Before = func(ctx *cli.Context) error {
		if ctx.GlobalBool("systemd-cgroup") {
			return fmt.Errorf("--systemd-cgroup is not supported: mydocker-runc drives cgroupfs (set SystemdCgroup = false)")
		}
		if f := ctx.GlobalString("log-format"); f != "text" && f != "json" {
			return fmt.Errorf("invalid --log-format %q: use text or json", f)
		}
		if os.Geteuid() != 0 && ctx.Args().First() != "features" && ctx.Args().First() != "" {
			return fmt.Errorf("mydocker-runc needs root (rootless containers are not supported)")
		}
		runcRoot = ctx.GlobalString("root")
		// The mechanisms' info lines (mounts, cgroup files) are for a
		// student at mydocker's --log-level; a client wants errors.
		log.SetLevel(log.WarnLevel)
		if ctx.GlobalBool("debug") {
			log.SetLevel(log.DebugLevel)
		}
		log.SetFormatter(&log.TextFormatter{})
		return nil
	}
	app.OnUsageError = func(ctx *cli.Context, err error, _ bool) error { return err }
	app.CommandNotFound = func(ctx *cli.Context, name string) {
		runcFail(fmt.Errorf("unknown command %q", name))
	}
	// The log file is opened before anything can fail, bad arguments too:
	// a client reads why from it.
	runcLogFile, runcLogJSON = openRuncLog(os.Args)
	if err := app.Run(os.Args); err != nil {
		runcFail(err)
	}
}

var (
	runcRoot    string
	runcLogFile *os.File
	runcLogJSON bool
)

// openRuncLog finds --log and --log-format among the global flags
// without the parser (which may be what fails).
func openRuncLog(args []string) (*os.File, bool) {
	var path string
	json := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			break
		}
		name, value, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !inline && i+1 < len(args) && (name == "log" || name == "log-format" || name == "root" || name == "criu" || name == "rootless") {
			i++
			value = args[i]
		}
		switch name {
		case "log":
			path = value
		case "log-format":
			json = value == "json"
		}
	}
	if path == "" {
		return nil, json
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
	if err != nil {
		return nil, json
	}
	return f, json
}

// runcFail reports err as runc does, one line on stderr and in the log
// file, and exits 1. A command's own exit status (run's) passes as it is.
func runcFail(err error) {
	if code, ok := err.(runcExit); ok {
		os.Exit(int(code))
	}
	msg := err.Error()
	if runcLogFile != nil {
		if runcLogJSON {
			line, _ := json.Marshal(map[string]string{"level": "error", "msg": msg, "time": time.Now().UTC().Format(time.RFC3339Nano)})
			fmt.Fprintf(runcLogFile, "%s\n", line)
		} else {
			fmt.Fprintf(runcLogFile, "time=%q level=error msg=%q\n", time.Now().UTC().Format(time.RFC3339Nano), msg)
		}
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", runcName, msg)
	os.Exit(1)
}

// runcExit is an exit status that is the container's, not an error.
type runcExit int

func (e runcExit) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// runcID is the one ID argument of a command.
func runcID(ctx *cli.Context) (string, error) {
	if ctx.NArg() < 1 || ctx.Args().First() == "" {
		return "", fmt.Errorf("%s: a container ID is required", ctx.Command.Name)
	}
	return ctx.Args().First(), nil
}

// printJSON writes v, and nothing else, on stdout.
func printJSON(v any, indent bool) error {
	var data []byte
	var err error
	if indent {
		data, err = json.MarshalIndent(v, "", "  ")
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Printf("%s\n", data)
	return err
}

// parseSignal reads a signal as runc does: a name with or without SIG, or
// a number.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

func absPath(p string) string {
	if p == "" {
		return ""
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
