package registry

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/mydocker/mydocker/image"
)

// progress prints what docker prints while it pulls or pushes: a line per
// layer, "ID: STATE". On a terminal the lines are rewritten in place, with
// the bytes so far of a download; in a pipe, one line per change of state
// and no escape codes.
type progress struct {
	mu       sync.Mutex
	out      io.Writer
	terminal bool
	quiet    bool
	ids      []string
	states   map[string]string
	drawn    int // lines drawn on the terminal
	last     time.Time
}

func newProgress(o Options) *progress {
	return &progress{out: o.Out, terminal: o.Terminal, quiet: o.Quiet, states: map[string]string{}}
}

// line prints a line of its own (not a layer's).
func (p *progress) line(format string, args ...any) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawn = 0 // what follows starts below it
	fmt.Fprintf(p.out, format+"\n", args...)
}

// set gives layer id the state; bytes states ("Downloading") are drawn on
// a terminal only, at most ten times a second.
func (p *progress) set(id, state string, transient bool) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.states[id]; !ok {
		p.ids = append(p.ids, id)
	}
	if transient {
		if !p.terminal || time.Since(p.last) < 100*time.Millisecond {
			p.states[id] = state
			return
		}
	}
	p.states[id] = state
	if !p.terminal {
		fmt.Fprintf(p.out, "%s: %s\n", id, state)
		return
	}
	p.last = time.Now()
	p.redraw()
}

// redraw rewrites the layers' lines in place.
func (p *progress) redraw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, id := range p.ids {
		fmt.Fprintf(&b, "\r\x1b[2K%s: %s\n", id, p.states[id])
	}
	p.drawn = len(p.ids)
	io.WriteString(p.out, b.String())
}

// bytes is "Downloading  1.2MB/3.4MB".
func bytesState(verb string, done, total int64) string {
	if total > 0 {
		return fmt.Sprintf("%s  %s/%s", verb, image.HumanSize(done), image.HumanSize(total))
	}
	return fmt.Sprintf("%s  %s", verb, image.HumanSize(done))
}

// counter counts what is read through it and reports it.
type counter struct {
	r      io.Reader
	n      int64
	report func(int64)
}

func (c *counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	if n > 0 && c.report != nil {
		c.report(c.n)
	}
	return n, err
}
