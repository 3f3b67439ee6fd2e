package image

import (
	"fmt"
	"io"
	"time"
)

// HumanSize prints bytes as docker does: 2.1MB (powers of 1000).
func HumanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

// progress counts what an import or a commit has read and says so on
// Store.Progress (a terminal), one line rewritten at most ten times a
// second: "import debian: 12.3MB of 45.6MB (27%)". Written here rather
// than with a progress bar library: the one measured brings net/http into
// the binary, which every container start would pay for (README).
type progress struct {
	r           io.Reader
	w           io.Writer
	label       string
	total, done int64 // total 0: unknown
	last        time.Time
}

func (p *progress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.print()
	}
	return n, err
}

func (p *progress) print() {
	line := fmt.Sprintf("%s: %s", p.label, HumanSize(p.done))
	if p.total > 0 {
		line += fmt.Sprintf(" of %s (%d%%)", HumanSize(p.total), p.done*100/p.total)
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line) // \x1b[K: clear what a longer line left
}

// finish prints the last count and ends the line. A tarball's reader
// leaves its zero padding unread: a whole import is 100%.
func (p *progress) finish(ok bool) {
	if ok && p.total > p.done {
		p.done = p.total
	}
	p.print()
	fmt.Fprintln(p.w)
}
