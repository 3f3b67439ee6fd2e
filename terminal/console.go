// Package terminal gives a container a pseudo-terminal of its own for
// `run -t`, the way docker and runc do, where the book handed the
// container the caller's terminal. mydocker holds the master side and
// relays between it and the user's terminal; the container gets the slave
// side as its stdin, stdout, stderr and controlling terminal.
package terminal

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Console is one container's pseudo-terminal and the user's terminal it is
// relayed to.
type Console struct {
	user        *os.File // the user's terminal (mydocker's stdin)
	out         *os.File // where the container's output goes
	master      *os.File
	slave       *os.File
	interactive bool
	saved       *term.State // the user's terminal modes, while raw
	outputDone  chan struct{}
	restoreOnce sync.Once
}

// New opens a pseudo-terminal sized like user. With interactive, user's
// keystrokes are relayed to the container once Start is called.
func New(user, out *os.File, interactive bool) (*Console, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pseudo-terminal: %w", err)
	}
	c := &Console{user: user, out: out, master: master, slave: slave, interactive: interactive}
	if err := c.Resize(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// ForContainer is a Console whose pseudo-terminal the container makes in
// its own devpts (an image or --rootfs): its master side arrives later,
// through Attach.
func ForContainer(user, out *os.File, interactive bool) *Console {
	return &Console{user: user, out: out, interactive: interactive}
}

// Attach takes the master side of the container's own pseudo-terminal and
// sizes it like the user's terminal.
func (c *Console) Attach(master *os.File) error {
	c.master = master
	return c.Resize()
}

// Slave is the container's side: its stdio and controlling terminal.
func (c *Console) Slave() *os.File { return c.slave }

// Start begins the relay, after the container has started with the slave.
// The user's terminal goes into raw mode, so that every key, Ctrl-C
// included, reaches the container's terminal, whose own line discipline
// then signals the container's foreground process (and not mydocker).
func (c *Console) Start() error {
	// Our copy of the slave must go: once every process in the container
	// has closed it, reading the master gives EIO, which is how the relay
	// knows the output is complete.
	if c.slave != nil {
		c.slave.Close()
	}
	c.outputDone = make(chan struct{})
	go func() {
		defer close(c.outputDone)
		// EIO is the normal end: the last slave descriptor was closed.
		_, _ = io.Copy(c.out, c.master)
	}()
	if !c.interactive {
		return nil
	}
	saved, err := term.MakeRaw(int(c.user.Fd()))
	if err != nil {
		return fmt.Errorf("put terminal in raw mode: %w", err)
	}
	c.saved = saved
	// This goroutine may stay blocked reading the user's terminal after
	// the container is gone; mydocker exits right after, which ends it.
	go func() { _, _ = io.Copy(c.master, c.user) }()
	return nil
}

// Resize copies the user's window size to the container's terminal; the
// kernel then sends SIGWINCH to the container's foreground process group.
func (c *Console) Resize() error {
	if c.master == nil {
		return nil // not attached yet: Attach sizes it
	}
	if err := pty.InheritSize(c.user, c.master); err != nil {
		return fmt.Errorf("copy window size: %w", err)
	}
	return nil
}

// WaitOutput returns once everything the container wrote has been relayed.
// Call it after the container's PID 1 has been reaped: when PID 1 exits the
// kernel kills the rest of its PID namespace, so the slave closes for good.
func (c *Console) WaitOutput() {
	if c.outputDone != nil {
		<-c.outputDone
	}
}

// Restore puts the user's terminal back as it was. Safe to call more than
// once, and from a signal path.
func (c *Console) Restore() {
	c.restoreOnce.Do(func() {
		if c.saved != nil {
			_ = term.Restore(int(c.user.Fd()), c.saved)
		}
	})
}

// Close restores the user's terminal and releases the pseudo-terminal.
func (c *Console) Close() {
	c.Restore()
	for _, f := range []*os.File{c.slave, c.master} {
		if f != nil {
			f.Close()
		}
	}
}
