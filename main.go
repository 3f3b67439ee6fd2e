// GOMAXPROCS: mydocker runs for milliseconds (twice per container: run,
// then init), so it takes the machine's CPU count, as Go 1.24 did, and
// keeps no goroutine following the cgroup's CPU quota. (Go 1.26 still
// reads the cgroup files once at start; README, Performance.)

//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command mydocker is a small container runtime written beside the book
// "自己动手写Docker" (Write Your Own Docker). This package is the command
// line only: flags, logging, exit statuses. The mechanisms live in
// container/.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/mydocker/mydocker/image"
	"github.com/mydocker/mydocker/trace"
	log "github.com/sirupsen/logrus"
	"github.com/urfave/cli"
)

// version is set by the Makefile from git describe.
var version = "0.1.0-dev"

const usage = `a simple container runtime, written to learn how docker works.
   It follows the book "自己动手写Docker" chapter by chapter.`

// init's main goroutine stays on the process's first thread: the death
// signal, capabilities, no_new_privs and the seccomp filter all belong to
// the calling thread, and execve keeps the exec'ing thread's. Go may move
// a goroutine between threads at any blocking call; locked, init sets
// them up and execs on one thread, the one the clone created.
//
// run's is not locked, though its child's death signal (PR_SET_PDEATHSIG)
// also belongs to a thread, the one that cloned it: Go ends a thread only
// when a goroutine locked to it returns, and none does in run, so any of
// its threads lives as long as mydocker. (A locked main goroutine would
// cost run a thread more and a thread switch at each of its waits:
// docs/performance.md.)
func init() {
	if isInit(os.Args) {
		runtime.LockOSThread()
	}
}

func main() {
	if isInit(os.Args) {
		// The container's init, re-executed by run, exec or create: it
		// needs none of the app's parsing (initCommand, which the app
		// keeps, is the same entry).
		initMain()
	}
	if filepath.Base(os.Args[0]) == runcName {
		runcMain()
		return
	}
	app := cli.NewApp()
	app.Name = "mydocker"
	app.Usage = usage
	app.Version = version
	app.Commands = appCommands
	app.Flags = []cli.Flag{
		cli.StringFlag{
			Name:   "log-level",
			Value:  "warn",
			Usage:  "log level: debug, info, warn, error",
			EnvVar: "MYDOCKER_LOG_LEVEL",
		},
		cli.StringFlag{
			Name:   "root",
			Value:  image.DefaultRoot,
			Usage:  "where images and container layers are kept",
			EnvVar: "MYDOCKER_ROOT",
		},
		cli.StringFlag{
			Name:  "log-format",
			Value: "json",
			Usage: "log format: json (as in the book) or text",
		},
		cli.BoolFlag{
			Name:   "trace",
			Usage:  "print each kernel step on stderr, with the book's section",
			EnvVar: trace.Env,
		},
	}
	app.Before = setUpLogging
	app.OnUsageError = usageError
	app.CommandNotFound = func(ctx *cli.Context, name string) {
		fail(usageErrorf("unknown command %q (see 'mydocker --help')", name))
	}

	if err := app.Run(splitCombinedFlags(app, os.Args)); err != nil {
		fail(err)
	}
}

// appCommands are mydocker's commands, init (hidden) first.
var appCommands = []cli.Command{
	initCommand,
	runCommand,
	psCommand,
	execCommand,
	logsCommand,
	startCommand,
	stopCommand,
	killCommand,
	rmCommand,
	inspectCommand,
	commitCommand,
	importCommand,
	loadCommand,
	saveCommand,
	pullCommand,
	pushCommand,
	loginCommand,
	logoutCommand,
	tagCommand,
	imagesCommand,
	rmiCommand,
	networkCommand,
	checkCommand,
	completionCommand,
}

// storeRoot is --root: the image store and container layers live below it.
var storeRoot string

// logArgs are the global flags handed on to "mydocker init", so that the
// inside of the container logs the same way as the outside.
var logArgs []string

// setUpLogging sends logrus to stderr: stdout belongs to the container's
// command (the book logged to stdout, mixing both).
func setUpLogging(ctx *cli.Context) error {
	if err := configureLogging(ctx.GlobalString("log-level"), ctx.GlobalString("log-format")); err != nil {
		return err
	}
	if ctx.GlobalBool("trace") && !trace.On {
		// Every process of the container (the monitor, init) traces too.
		trace.On = true
		os.Setenv(trace.Env, "1")
	}
	storeRoot = ctx.GlobalString("root")
	if !filepath.IsAbs(storeRoot) {
		return usageErrorf("invalid --root %q: it must be an absolute path", storeRoot)
	}
	logArgs = []string{"--log-level=" + log.GetLevel().String(), "--log-format=" + ctx.GlobalString("log-format")}
	if name := ctx.Args().First(); os.Geteuid() != 0 && needsRoot(name) && !asksForHelp(ctx.Args()) {
		if name == "import" || name == "load" || name == "save" || name == "tag" || name == "images" || name == "rmi" || name == "pull" || name == "push" {
			return usageErrorf("%s in %s needs root privileges (try sudo, or --root DIR)", name, storeRoot)
		}
		return usageErrorf("%s needs root privileges (try sudo)", name)
	}
	return nil
}

// configureLogging sets logrus's level and format from the global flags
// (init's too: initMain).
func configureLogging(levelName, format string) error {
	level, err := log.ParseLevel(levelName)
	if err != nil || level < log.ErrorLevel || level > log.DebugLevel {
		return usageErrorf("invalid --log-level %q: use debug, info, warn or error", levelName)
	}
	log.SetLevel(level)
	log.SetOutput(os.Stderr)
	switch format {
	case "json":
		log.SetFormatter(&log.JSONFormatter{})
	case "text":
		log.SetFormatter(&log.TextFormatter{})
	default:
		return usageErrorf("invalid --log-format %q: use json or text", format)
	}
	return nil
}

// needsRoot: containers need root (namespaces, cgroups, mounts, and the
// runtime directory, root's alone). Images need it only in the host's
// store: import, images and rmi work in a --root of the user's own. check,
// completion and help are for anyone.
func needsRoot(command string) bool {
	switch command {
	case "", "check", "completion", "help", "h", "login", "logout":
		return false // login and logout keep the user's own credentials
	case "import", "load", "save", "tag", "images", "rmi", "pull", "push":
		return storeRoot == image.DefaultRoot
	}
	for _, c := range appCommands {
		if c.HasName(command) {
			return true
		}
	}
	return false // an unknown command: CommandNotFound says so
}

// asksForHelp: help is for anyone (mydocker run --help).
func asksForHelp(args []string) bool {
	for _, a := range args {
		if a == "--help" || a == "-h" {
			return true
		}
	}
	return false
}

// fail prints err as one line on stderr (unless it is a bare exit status)
// and exits with its status.
func fail(err error) {
	status := statusOf(err)
	if monitorReport != nil {
		// A monitor's stderr goes nowhere: run -d or start prints it.
		monitorReport.send(err)
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(os.Stderr, "mydocker: %s\n", msg)
	}
	os.Exit(status)
}
