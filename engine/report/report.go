// Package report writes a run's progress for a front end: the front end
// gives its CI's log dialect as a Style; the Reporter adds what every CI
// needs: one open group at a time, secret values hidden from the log, and
// untrusted text that can neither forge a line nor a CI command.
package report

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Style is a CI's log dialect. Each method writes whole lines to w. The
// text it is given is already masked, escaped and guarded: subjects and
// warnings are one line, an error's message may have several.
type Style interface {
	// Group opens a collapsible section for a phase of the run.
	Group(w io.Writer, p engine.Phase, subject string)
	// EndGroup closes the open section, where the CI needs a line for it.
	EndGroup(w io.Writer)
	Warning(w io.Writer, msg string)
	// Error shows a failure as the CI shows one. err.Error() is the
	// message to show; errors.As finds the engine's error types (such as
	// engine.BuildError) in it.
	Error(w io.Writer, err error)
	// Mask asks the CI to hide secret in its log, where the CI can. It is
	// the only method given a secret, and the only one whose output is
	// not masked.
	Mask(w io.Writer, secret string)
	// Guard makes a line of untrusted text (progress, build output, a
	// file name) inert for the CI's log parser: it must not read as one of
	// its commands or group markers.
	Guard(line string) string
}

// MinMask is the shortest value masked: hiding shorter ones would shred
// the log.
const MinMask = 4

// maxPartial bounds the progress held back while waiting for a line's end.
const maxPartial = 64 << 10

// Reporter writes progress in one Style. It hides masked values, longest
// first and line by line (also across writes: progress is held until its
// line ends), and escapes control characters in every line it prints.
type Reporter struct {
	style   Style
	mu      sync.Mutex
	w       io.Writer
	masks   []string // longest first
	partial []byte   // progress whose line has not ended
	midLine bool     // part of the current progress line was written
	open    bool
	phase   atomic.Int32 // the last phase started
}

var _ engine.Reporter = (*Reporter)(nil)

// New returns a Reporter writing to w.
func New(w io.Writer, style Style) *Reporter {
	return &Reporter{w: w, style: style}
}

// Phase starts a collapsible section for a phase of the run, ending the
// one before.
func (r *Reporter) Phase(p engine.Phase, subject string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.endGroup()
	r.style.Group(r.w, p, r.style.Guard(r.oneLine(subject)))
	r.open = true
	r.phase.Store(int32(p))
}

// Current is the phase the run is in: the last one started, or 0 before
// the first. It never waits, so a signal handler may call it while the
// reporter is stuck writing.
func (r *Reporter) Current() engine.Phase { return engine.Phase(r.phase.Load()) }

// EndGroup ends the progress's last line, if unfinished, and closes the
// open section, if any.
func (r *Reporter) EndGroup() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.endGroup()
}

func (r *Reporter) endGroup() {
	r.flush()
	if r.open {
		r.open = false
		r.style.EndGroup(r.w)
	}
}

// Infof writes a line of progress: a line break in it is escaped, so
// that untrusted text (a file name) is given as it is, and escaped once.
func (r *Reporter) Infof(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flush()
	r.writeLine(fmt.Sprintf(format, args...))
}

// Warnf writes a warning that the CI shows as one, on one line.
func (r *Reporter) Warnf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flush()
	r.style.Warning(r.w, r.style.Guard(r.oneLine(fmt.Sprintf(format, args...))))
}

// Error closes the open group and shows err as the CI shows a failure,
// each line of its message masked, escaped and guarded.
func (r *Reporter) Error(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.endGroup()
	lines := strings.Split(err.Error(), "\n")
	for i, line := range lines {
		lines[i] = r.style.Guard(r.oneLine(strings.TrimSuffix(line, "\r")))
	}
	r.style.Error(r.w, &shown{msg: strings.Join(lines, "\n"), err: err})
}

// shown is an error with the message as the log shows it.
type shown struct {
	msg string
	err error
}

func (e *shown) Error() string { return e.msg }
func (e *shown) Unwrap() error { return e.err }

// Mask hides secret in everything written afterwards, and asks the CI to
// hide it too where the CI can. A secret of several lines is also hidden
// (and given to the CI) line by line, since logs are masked a line at a
// time. Values (and lines) shorter than MinMask are left alone.
func (r *Reporter) Mask(secret string) {
	secret = strings.TrimRight(secret, "\r\n")
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range append([]string{secret}, strings.Split(secret, "\n")...) {
		v = strings.TrimSuffix(v, "\r")
		if len(v) < MinMask || slices.Contains(r.masks, v) {
			continue
		}
		i, _ := slices.BinarySearchFunc(r.masks, v, func(m, v string) int { return len(v) - len(m) })
		r.masks = slices.Insert(r.masks, i, v)
		// Written unmasked on purpose: this line is the CI's instruction,
		// and the progress held back starts after it.
		r.style.Mask(r.w, v)
	}
}

// Progress is a writer for build and pull progress, masked like the rest.
// A line is written once it ends, or when the group ends.
func (r *Reporter) Progress() io.Writer { return writerFunc(r.progress) }

func (r *Reporter) progress(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		line := string(r.partial[:i])
		r.partial = r.partial[i+1:]
		r.writeLine(line)
	}
	if len(r.partial) > maxPartial {
		if cut := r.safeCut(string(r.partial)); cut > 0 {
			r.writePart(string(r.partial[:cut]))
			r.partial = slices.Clone(r.partial[cut:])
		}
	}
	return len(p), nil
}

// flush ends the progress's unfinished line.
func (r *Reporter) flush() {
	if len(r.partial) > 0 || r.midLine {
		line := string(r.partial)
		r.partial = nil
		r.writeLine(line)
	}
}

// writeLine writes the rest of a line: masked, escaped, guarded when it
// is the line's start, and ended.
func (r *Reporter) writeLine(line string) {
	r.writePart(strings.TrimSuffix(line, "\r"))
	_, _ = io.WriteString(r.w, "\n")
	r.midLine = false
}

// writePart writes part of a line. A log that cannot be written must not
// fail the run: write errors are ignored.
func (r *Reporter) writePart(s string) {
	s = r.oneLine(s)
	if !r.midLine {
		s = r.style.Guard(s)
	}
	_, _ = io.WriteString(r.w, s)
	r.midLine = true
}

// safeCut is where a long unfinished line s can be cut: before the last
// characters that could begin a mask, out of any mask, on a rune's start.
func (r *Reporter) safeCut(s string) int {
	cut := len(s)
	if len(r.masks) > 0 {
		cut -= len(r.masks[0]) - 1
	}
	for moved := true; moved && cut > 0; {
		moved = false
		for _, m := range r.masks {
			for start := max(0, cut-len(m)+1); start < cut; start++ {
				if strings.HasPrefix(s[start:], m) {
					cut, moved = start, true
					break
				}
			}
		}
	}
	cut = max(cut, 0)
	for cut > 0 && cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return cut
}

// oneLine is text for a single line: masked, with its line breaks and
// other control characters escaped, and masked again, so that an escape
// next to other text cannot spell a secret either.
func (r *Reporter) oneLine(s string) string {
	return r.mask(engine.EscapeControl(r.mask(s)))
}

func (r *Reporter) mask(s string) string {
	for _, m := range r.masks {
		s = strings.ReplaceAll(s, m, "***")
	}
	return s
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
