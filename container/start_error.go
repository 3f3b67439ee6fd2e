package container

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Exit statuses for a container that never got to run its command. They are
// docker run's numbers, so scripts can tell "mydocker failed" from "the
// command failed".
const (
	StatusRuntimeError  = 125 // mydocker itself failed
	StatusCannotExecute = 126 // COMMAND exists but cannot be executed
	StatusNotFound      = 127 // COMMAND was not found
)

// StartError is how init reports that it could not start the user's
// command. It travels back to the parent over the status pipe, so that the
// parent (which owns the user's stderr and every cleanup) prints it once.
type StartError struct {
	Status  int
	Message string
}

func (e *StartError) Error() string { return e.Message }

func startErrorf(status int, format string, args ...any) *StartError {
	return &StartError{Status: status, Message: fmt.Sprintf(format, args...)}
}

// readStartReport reads the status pipe to its end. The pipe is close-on-exec
// in init, so a successful exec closes it with nothing written: an empty
// read means the user's command is running.
func readStartReport(r io.Reader) (*StartError, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read start report: %w", err)
	}
	if len(data) == 0 {
		return nil, nil
	}
	var se StartError
	if err := se.Decode(data); err != nil {
		return nil, err
	}
	return &se, nil
}

func writeStartReport(w io.Writer, se *StartError) {
	// Nothing useful can be done if this fails: init exits with se.Status
	// right after, and the parent sees that status.
	_, _ = w.Write(se.Encode())
}

// Encode and Decode carry a StartError between processes (init and run,
// run -d and its monitor, Status 0 meaning the command runs), as records
// (records.go), the one format of mydocker's pipes.
func (e *StartError) Encode() []byte {
	r := &records{what: "start report"}
	r.add("status", strconv.Itoa(e.Status))
	r.add("message", strings.ReplaceAll(e.Message, "\x00", ""))
	r.add("end", "")
	return r.buf.Bytes()
}

// Decode is the inverse of Encode.
func (e *StartError) Decode(data []byte) error {
	return readRecords(bufio.NewReader(bytes.NewReader(data)), "start report", false, func(key, value string) (bool, error) {
		var err error
		switch key {
		case "status":
			e.Status, err = strconv.Atoi(value)
		case "message":
			e.Message = value
		case "end":
			return true, nil
		}
		return false, err
	})
}
