package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"
)

const (
	tailBytes = 8 << 10 // output kept per step, for the error of a failed step
	tailLines = 30
)

// buildProgress shows BuildKit's trace as `docker build --progress=plain`
// does, and keeps the end of each step's output to explain a failure.
type buildProgress struct {
	ch     chan *client.SolveStatus
	done   chan struct{}
	names  map[digest.Digest]string
	errs   map[digest.Digest]string
	order  []digest.Digest // steps that failed, in order
	output map[digest.Digest][]byte
}

func newBuildProgress(w io.Writer) *buildProgress {
	p := &buildProgress{
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

// trace takes one moby.buildkit.trace aux value: a base64 JSON string of
// a protobuf controlapi.StatusResponse. Undecodable values are skipped, as
// the docker CLI does.
func (p *buildProgress) trace(aux json.RawMessage) {
	var dt []byte
	if json.Unmarshal(aux, &dt) != nil {
		return
	}
	var resp controlapi.StatusResponse
	if resp.UnmarshalVT(dt) != nil {
		return
	}
	ss := client.NewSolveStatus(&resp)
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

// close flushes the display.
func (p *buildProgress) close() {
	close(p.ch)
	<-p.done
}

// explain adds the failed step and the end of its output to err.
func (p *buildProgress) explain(err error) error {
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
