package k8s

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// listProgress draws one line, redrawn at most five times a second, while a
// live read lists: how many objects have come in and how many resources are
// listed whole. A nil *listProgress draws nothing, so callers need not ask.
type listProgress struct {
	mu            sync.Mutex
	w             io.Writer
	name          string
	objects       int
	resources     int
	last          time.Time
	drawn, closed bool
}

func newListProgress(w io.Writer, cluster string) *listProgress {
	p := &listProgress{w: w, name: cluster}
	p.mu.Lock()
	p.draw(true) // at once: the first page of a large list takes a while
	p.mu.Unlock()
	return p
}

// add counts objects received.
func (p *listProgress) add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.objects += n
	p.draw(false)
	p.mu.Unlock()
}

// listed counts one resource listed whole.
func (p *listProgress) listed(clusterResource) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.resources++
	p.draw(false)
	p.mu.Unlock()
}

func (p *listProgress) draw(now bool) {
	if p.closed || (!now && time.Since(p.last) < 200*time.Millisecond) {
		return
	}
	p.last = time.Now()
	p.drawn = true
	fmt.Fprintf(p.w, "\rreading %s: %d objects, %d resources listed\033[K", p.name, p.objects, p.resources)
}

// done erases the line, so that what follows starts on a clean one.
func (p *listProgress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn && !p.closed {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.closed = true
}
