// Package names checks the names users give containers and networks
// against docker's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]*, written out (no
// regexp compiled at start-up), and reads signals' names.
package names

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Check reports whether name, a name of a what ("container", "network"),
// follows the rule and is min to max characters long.
func Check(what, name string, min, max int) error {
	if len(name) < min || len(name) > max {
		return fmt.Errorf("invalid %s name %q: %d to %d characters", what, name, min, max)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return fmt.Errorf("invalid %s name %q: letters, digits, '_', '.' and '-', starting with a letter or digit", what, name)
		}
	}
	return nil
}

// Signal reads a signal as docker takes it (kill -s, STOPSIGNAL): a name,
// with or without SIG, in any case (KILL, SIGTERM, usr1), or a number.
func Signal(name string) (unix.Signal, error) {
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	upper := strings.ToUpper(name)
	if !strings.HasPrefix(upper, "SIG") {
		upper = "SIG" + upper
	}
	if sig := unix.SignalNum(upper); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal %q: a name (KILL, SIGTERM) or a number", name)
}
