// Package names checks the names users give containers and networks
// against docker's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]*, written out (no
// regexp compiled at start-up).
package names

import "fmt"

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
