package buildsession

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"
)

const (
	tailBytes = 8 << 10 // output kept per step, for the error of a failed step
	tailLines = 30
)

// Progress shows a build's status as `docker build --progress=plain`
// does, and keeps the end of each step's output to explain a failure.
type Progress struct {
	ch     chan *client.SolveStatus
	done   chan struct{}
	names  map[digest.Digest]string
	errs   map[digest.Digest]string
	order  []digest.Digest // steps that failed, in order
	output map[digest.Digest][]byte
}

// NewProgress writes the status it is given to w until Close.
func NewProgress(w io.Writer) *Progress {
	p := &Progress{
		ch:     make(chan *client.SolveStatus),
		done:   make(chan struct{}),
		names:  map[digest.Digest]string{},
		errs:   map[digest.Digest]string{},
		output: map[digest.Digest][]byte{},
	}
	d, err := progressui.NewDisplay(w, progressui.PlainMode)
	go func() {
		defer close(p.done)
		if err != nil { // PlainMode does not fail; drain anyway
			for range p.ch {
			}
			return
		}
		_, _ = d.UpdateFrom(context.Background(), p.ch) // ends when ch is closed
	}()
	return p
}

// Update shows ss and records its steps' errors and output.
func (p *Progress) Update(ss *client.SolveStatus) {
	for _, v := range ss.Vertexes {
		p.names[v.Digest] = v.Name
		if v.Error != "" {
			if _, seen := p.errs[v.Digest]; !seen {
				p.order = append(p.order, v.Digest)
			}
			p.errs[v.Digest] = v.Error
		}
	}
	for _, l := range ss.Logs {
		p.output[l.Vertex] = append(p.output[l.Vertex], l.Data...)
		if out := p.output[l.Vertex]; len(out) > tailBytes {
			p.output[l.Vertex] = out[len(out)-tailBytes:]
		}
	}
	p.ch <- ss
}

// Close flushes the display.
func (p *Progress) Close() {
	close(p.ch)
	<-p.done
}

// Explain adds the failed step and the end of its output to err.
func (p *Progress) Explain(err error) error {
	if len(p.order) == 0 {
		return fmt.Errorf("build failed: %w", err)
	}
	failed := p.order[0]
	for _, d := range p.order { // others are often cancelled because of it
		if !strings.Contains(p.errs[d], "context canceled") {
			failed = d
			break
		}
	}
	out := bytes.TrimRight(p.output[failed], "\n")
	lines := strings.Split(string(out), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	if len(out) == 0 {
		return fmt.Errorf("build failed at step %s: %w", p.names[failed], err)
	}
	return fmt.Errorf("build failed at step %s: %w\noutput of the step (last %d lines):\n  %s",
		p.names[failed], err, len(lines), strings.Join(lines, "\n  "))
}
