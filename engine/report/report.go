// Package report writes a run's progress for a front end: the front end
// gives its CI's log dialect as a Style; the Reporter adds what every CI
// needs: one open group at a time and values hidden from the log.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Style is a CI's log dialect. Each method writes whole lines to w, which
// hides masked values, except for Mask's.
type Style interface {
	// Group opens a collapsible section for a phase of the run.
	Group(w io.Writer, p engine.Phase, subject string)
	// EndGroup closes the open section, where the CI needs a line for it.
	EndGroup(w io.Writer)
	Warning(w io.Writer, msg string)
	// Error shows a failure as the CI shows one.
	Error(w io.Writer, err error)
	// Mask asks the CI to hide secret in its log, where the CI can.
	Mask(w io.Writer, secret string)
}

// Reporter writes progress in one Style and hides masked values.
type Reporter struct {
	style Style
	mu    sync.Mutex
	w     io.Writer
	masks []string
	open  bool
}

var _ engine.Reporter = (*Reporter)(nil)

// New returns a Reporter writing to w.
func New(w io.Writer, style Style) *Reporter {
	return &Reporter{w: w, style: style}
}

// Phase starts a collapsible section for a phase of the run, ending the
// one before.
func (r *Reporter) Phase(p engine.Phase, subject string) {
	r.EndGroup()
	r.style.Group(r.lines(), p, subject)
	r.mu.Lock()
	r.open = true
	r.mu.Unlock()
}

// EndGroup closes the open section, if any.
func (r *Reporter) EndGroup() {
	r.mu.Lock()
	open := r.open
	r.open = false
	r.mu.Unlock()
	if open {
		r.style.EndGroup(r.lines())
	}
}

// Infof writes a line of progress.
func (r *Reporter) Infof(format string, args ...any) {
	fmt.Fprintln(r.lines(), fmt.Sprintf(format, args...))
}

// Warnf writes a warning that the CI shows as one.
func (r *Reporter) Warnf(format string, args ...any) {
	r.style.Warning(r.lines(), fmt.Sprintf(format, args...))
}

// Error closes the open group and shows err as the CI shows a failure.
func (r *Reporter) Error(err error) {
	r.EndGroup()
	r.style.Error(r.lines(), err)
}

// Mask hides secret in everything written afterwards, and asks the CI to
// hide it too where the CI can.
func (r *Reporter) Mask(secret string) {
	if len(secret) < 4 || r.masked(secret) {
		return
	}
	// Written unmasked on purpose: this line is the CI's instruction.
	r.mu.Lock()
	r.style.Mask(r.w, secret)
	r.mu.Unlock()
	r.Redact(secret)
}

// Redact hides value in everything written afterwards, without asking the
// CI to. Values shorter than four characters are left alone: hiding them
// would shred the log.
func (r *Reporter) Redact(value string) {
	if len(value) < 4 {
		return
	}
	r.mu.Lock()
	r.masks = append(r.masks, value)
	r.mu.Unlock()
}

func (r *Reporter) masked(value string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.masks, value)
}

// Progress is a writer for build and pull progress, masked like the rest.
func (r *Reporter) Progress() io.Writer { return writerFunc(r.write) }

// lines is the masked writer for the log's own lines, whose write errors
// are ignored: a log that cannot be written must not fail the run.
func (r *Reporter) lines() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		_, _ = r.write(p)
		return len(p), nil
	})
}

func (r *Reporter) write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := string(p)
	for _, m := range r.masks {
		s = strings.ReplaceAll(s, m, "***")
	}
	if _, err := io.WriteString(r.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
