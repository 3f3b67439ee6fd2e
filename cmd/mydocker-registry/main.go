// Command mydocker-registry is mydocker's registry client, a helper that
// mydocker's pull, push, login and logout run (registry/): kept out of
// mydocker's own binary, so that no container start pays for net/http,
// TLS and docker's config code. Not for users to call: its command line is
// mydocker's to make.
//
//	mydocker-registry --root ROOT [--insecure-registry HOST]... pull [--platform OS/ARCH[/VARIANT]] [-q] REF
//	mydocker-registry --root ROOT [--insecure-registry HOST]... push [-q] REF
//	mydocker-registry [--insecure-registry HOST]... login [-u USER] [--password-stdin] [SERVER]
//	mydocker-registry logout [SERVER]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mydocker/mydocker/image"
	"github.com/mydocker/mydocker/registry"
	"golang.org/x/term"
)

// strings is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	global := flag.NewFlagSet("mydocker-registry", flag.ContinueOnError)
	root := global.String("root", image.DefaultRoot, "the store")
	var insecure list
	global.Var(&insecure, "insecure-registry", "a registry reached without trusted TLS (repeatable)")
	if err := global.Parse(args); err != nil || global.NArg() == 0 {
		return fail(errors.New("mydocker-registry is run by mydocker's pull, push, login and logout"), 125)
	}
	o := registry.Options{Insecure: insecure, Out: os.Stdout, Terminal: term.IsTerminal(int(os.Stdout.Fd()))}
	if env := os.Getenv("MYDOCKER_INSECURE_REGISTRIES"); env != "" {
		o.Insecure = append(o.Insecure, strings.Split(env, ",")...)
	}
	// Ctrl-C, SIGTERM, SIGHUP stop the work; what it made goes.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)

	cmd, rest := global.Arg(0), global.Args()[1:]
	sub := flag.NewFlagSet(cmd, flag.ContinueOnError)
	quiet := sub.Bool("q", false, "quiet")
	platform := sub.String("platform", "", "OS/ARCH[/VARIANT]")
	user := sub.String("u", "", "user")
	passwordStdin := sub.Bool("password-stdin", false, "read the password from stdin")
	if err := sub.Parse(rest); err != nil {
		return fail(err, 125)
	}
	o.Quiet = *quiet
	var err error
	switch cmd {
	case "pull", "push":
		if sub.NArg() != 1 {
			return fail(fmt.Errorf("%s needs one image", cmd), 125)
		}
		store := image.NewStore(*root)
		if cmd == "pull" {
			err = registry.Pull(ctx, store, sub.Arg(0), *platform, o)
		} else {
			err = registry.Push(ctx, store, sub.Arg(0), o)
		}
	case "login":
		server := ""
		if sub.NArg() > 1 {
			return fail(errors.New("login takes one server"), 125)
		}
		if sub.NArg() == 1 {
			server = sub.Arg(0)
		}
		var password string
		if password, err = readPassword(user, *passwordStdin); err == nil {
			err = registry.Login(ctx, server, *user, password, o)
		}
	case "logout":
		server := ""
		if sub.NArg() == 1 {
			server = sub.Arg(0)
		}
		err = registry.Logout(server, o)
	default:
		return fail(fmt.Errorf("unknown command %q", cmd), 125)
	}
	if err == nil {
		return 0
	}
	select {
	case s := <-sig:
		return fail(errors.New("interrupted: nothing was kept"), 128+int(s.(syscall.Signal)))
	default:
	}
	return fail(err, 1)
}

// readPassword is --password-stdin's (the first line of stdin), or asked
// on the terminal without echo; the user name is asked too if missing.
func readPassword(user *string, fromStdin bool) (string, error) {
	if fromStdin {
		if *user == "" {
			return "", errors.New("--password-stdin needs --username (-u)")
		}
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return "", errors.New("no terminal to ask the password on: use --password-stdin (never the password on the command line)")
	}
	if *user == "" {
		fmt.Fprint(os.Stderr, "Username: ")
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		*user = strings.TrimSpace(line)
	}
	fmt.Fprint(os.Stderr, "Password: ")
	password, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	return string(password), err
}

func fail(err error, status int) int {
	fmt.Fprintf(os.Stderr, "mydocker: %v\n", err)
	return status
}
