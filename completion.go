package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli"
)

// completionCommand prints a bash completion script made from the
// commands and flags themselves (nothing listed by hand), which completes
// image, container and network names by asking mydocker.
var completionCommand = cli.Command{
	Name:         "completion",
	Usage:        "print a shell completion script: source <(mydocker completion bash)",
	ArgsUsage:    "bash",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 1 || ctx.Args()[0] != "bash" {
			return usageErrorf("completion needs a shell: mydocker completion bash (the only one so far)")
		}
		writeBashCompletion(ctx.App.Writer, ctx.App)
		return nil
	},
}

// What a command's arguments are, for completion.
var completeArgs = map[string]string{
	"run":     "images",
	"rmi":     "images",
	"save":    "images",
	"tag":     "images",
	"exec":    "containers",
	"logs":    "containers",
	"start":   "containers",
	"stop":    "containers",
	"kill":    "containers",
	"rm":      "containers",
	"inspect": "containers",
	"commit":  "containers",
	"import":  "files",
}

// And what some flags' values are.
var completeFlagValues = map[string]string{
	"--net": "networks", "-net": "networks", "--network": "networks",
	"--log-level": "debug info warn error", "--log-format": "json text",
	"--rootfs": "dirs", "--root": "dirs", "--env-file": "files",
	"--input": "files", "--output": "files",
}

// flagWords lists a flag's spellings as typed: "time, t" is --time -t.
func flagWords(flags []cli.Flag) []string {
	var words []string
	for _, f := range flags {
		for _, name := range strings.Split(f.GetName(), ",") {
			name = strings.TrimSpace(name)
			if len(name) == 1 {
				words = append(words, "-"+name)
			} else {
				words = append(words, "--"+name)
			}
		}
	}
	sort.Strings(words)
	return words
}

// valueFlags are the flags that take a value (their next word is not an
// argument).
func valueFlags(flags []cli.Flag) []string {
	var words []string
	for _, f := range flags {
		switch f.(type) {
		case cli.BoolFlag, cli.BoolTFlag:
			continue
		}
		words = append(words, flagWords([]cli.Flag{f})...)
		if name := strings.TrimSpace(strings.Split(f.GetName(), ",")[0]); len(name) > 1 {
			words = append(words, "-"+name) // the book's -name, -net...
		}
	}
	return words
}

func writeBashCompletion(w io.Writer, app *cli.App) {
	var commands []string
	for _, c := range app.Commands {
		if !c.Hidden {
			commands = append(commands, c.Name)
		}
	}
	fmt.Fprintf(w, `# bash completion for mydocker, made by "mydocker completion bash".
# Install: source <(mydocker completion bash), or save it as
# /etc/bash_completion.d/mydocker.
__mydocker_words() {
    case "$1" in
    images) mydocker images 2>/dev/null | awk 'NR > 1 && $1 != "<none>" {print $1; print $1 ":" $2}' ;;
    containers) mydocker ps -a 2>/dev/null | awk 'NR > 1 {print $1; print $NF}' ;;
    networks) mydocker network ls 2>/dev/null | awk 'NR > 1 {print $1}' ;;
    *) echo "$1" ;;
    esac
}

__mydocker_complete() { # WHAT: images, containers, networks, files, dirs, or words
    local cur="${COMP_WORDS[COMP_CWORD]}"
    case "$1" in
    files) COMPREPLY=($(compgen -f -- "$cur")) ;;
    dirs) COMPREPLY=($(compgen -d -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$(__mydocker_words "$1")" -- "$cur")) ;;
    esac
}

_mydocker() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local cmd="" sub="" i nargs=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        local word="${COMP_WORDS[i]}"
        if [[ -z $cmd ]]; then
            case "$word" in
            %s) ((i++)) ;;
            -*) ;;
            *) cmd="$word" ;;
            esac
            continue
        fi
        if [[ $cmd == network && -z $sub && $word != -* ]]; then
            sub="$word"
            continue
        fi
        case "$cmd $word" in
`, strings.Join(valueFlags(app.Flags), "|"))
	for _, c := range app.Commands {
		var patterns []string
		for _, f := range valueFlags(c.Flags) {
			patterns = append(patterns, fmt.Sprintf("%q", c.Name+" "+f))
		}
		if len(patterns) > 0 {
			fmt.Fprintf(w, "        %s) ((i++)) ;;\n", strings.Join(patterns, "|"))
		}
	}
	fmt.Fprintf(w, `        *" -"*) ;;
        *) ((nargs++)) ;;
        esac
    done
    case "$prev" in
`)
	keys := make([]string, 0, len(completeFlagValues))
	for k := range completeFlagValues {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "    %s) __mydocker_complete %q; return ;;\n", k, completeFlagValues[k])
	}
	fmt.Fprintf(w, "    esac\n    case \"$cmd\" in\n")
	fmt.Fprintf(w, "    \"\") COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", strings.Join(append(commands, flagWords(app.Flags)...), " "))
	for _, c := range app.Commands {
		if c.Hidden {
			continue
		}
		if len(c.Subcommands) > 0 {
			var subs []string
			for _, s := range c.Subcommands {
				subs = append(subs, append([]string{s.Name}, s.Aliases...)...)
			}
			fmt.Fprintf(w, "    %s)\n        case \"$sub\" in\n", c.Name)
			fmt.Fprintf(w, "        \"\") COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", strings.Join(subs, " "))
			for _, s := range c.Subcommands {
				names := strings.Join(append([]string{s.Name}, s.Aliases...), "|")
				what := "networks"
				if s.Name == "create" || s.Name == "ls" {
					what = ""
				}
				fmt.Fprintf(w, "        %s) if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); ", names, strings.Join(flagWords(s.Flags), " "))
				if what != "" {
					fmt.Fprintf(w, "else __mydocker_complete %s; ", what)
				}
				fmt.Fprintf(w, "fi ;;\n")
			}
			fmt.Fprintf(w, "        esac ;;\n")
			continue
		}
		fmt.Fprintf(w, "    %s)\n        if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", c.Name, strings.Join(flagWords(c.Flags), " "))
		if what, ok := completeArgs[c.Name]; ok {
			switch c.Name {
			case "run", "commit", "exec", "logs", "import", "tag":
				// Only the first argument: run's image (the rest is the
				// command's), commit's container (then a new name)...
				fmt.Fprintf(w, "        elif ((nargs == 0)); then __mydocker_complete %s\n", what)
			default:
				fmt.Fprintf(w, "        else __mydocker_complete %s\n", what)
			}
		}
		fmt.Fprintf(w, "        fi ;;\n")
	}
	fmt.Fprintf(w, "    esac\n}\ncomplete -F _mydocker mydocker\n")
}
