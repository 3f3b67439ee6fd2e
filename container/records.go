package container

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// records is the one format in which mydocker's processes hand each other
// data (the config pipe) and keep it on disk (a container's state): that
// of /proc/PID/environ, "key=value" records each ended by a NUL byte. The
// kernel forbids NUL inside an argument or an environment string, so NUL
// can never be part of a value, and every other byte (spaces, quotes,
// newlines, empty strings, bytes that are not UTF-8) travels as it is. The
// book joined the arguments with spaces and split them again, which loses
// all of that. JSON would replace invalid UTF-8 with U+FFFD, and its first
// use costs 0.2 ms; encoding/gob is exact but costs 0.3 ms of package
// initialisation in both processes.
type records struct {
	buf  bytes.Buffer
	err  error
	what string // for the error message: "container config", ...
}

func (r *records) add(key, value string) {
	if r.err != nil {
		return
	}
	if strings.IndexByte(value, 0) >= 0 {
		r.err = fmt.Errorf("%s: %s %q contains a NUL byte", r.what, key, value)
		return
	}
	r.buf.WriteString(key)
	r.buf.WriteByte('=')
	r.buf.WriteString(value)
	r.buf.WriteByte(0)
}

// flag adds key=1 when on; a missing key reads as false.
func (r *records) flag(key string, on bool) {
	if on {
		r.add(key, "1")
	}
}

// readRecords calls fn with each record of in, until fn says done or the
// input ends (an error unless untilEOF).
func readRecords(in *bufio.Reader, what string, untilEOF bool, fn func(key, value string) (done bool, err error)) error {
	for {
		record, err := in.ReadString(0)
		if err == io.EOF && untilEOF && record == "" {
			return nil
		}
		if err == io.EOF {
			return fmt.Errorf("read %s: truncated", what)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
		key, value, ok := strings.Cut(record[:len(record)-1], "=")
		if !ok {
			return fmt.Errorf("read %s: malformed record %q", what, key)
		}
		done, err := fn(key, value)
		if err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
		if done {
			return nil
		}
	}
}
