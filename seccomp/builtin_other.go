//go:build !amd64

package seccomp

import "golang.org/x/sys/unix"

// Elsewhere docker's default profile is compiled at each start (see
// builtin_amd64.go).
var (
	builtinCaps    []string
	builtinProgram [0]unix.SockFilter
)
