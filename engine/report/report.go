// Package report shows progress in a CI's own log dialect: collapsible
// groups, warnings, errors and masked secrets.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Style is a CI's log dialect.
type Style struct {
	Group func(title string) string // the line that opens a group
	// Emoji decorates a phase's title, where the CI renders emoji codes.
	Emoji    func(engine.Phase) string
	EndGroup string // the line that closes one, if any
	Warning  func(msg string) string
	Error    func(msg string) string
	Mask     func(secret string) string // a line asking the CI to mask, if it can
}

// Plain is for terminals and CIs without groups.
var Plain = Style{
	Group:   func(t string) string { return "==> " + t },
	Warning: func(m string) string { return "warning: " + m },
	Error:   func(m string) string { return "error: " + m },
}

// Buildkite uses the agent's --- groups and reopens the last one on failure.
var Buildkite = Style{
	Group:   func(t string) string { return "--- " + t },
	Emoji:   buildkiteEmoji,
	Warning: func(m string) string { return "⚠️ warning: " + m },
	Error:   func(m string) string { return "^^^ +++\n+++ :x: " + m },
}

// GitHub uses workflow commands.
var GitHub = Style{
	Group:    func(t string) string { return "::group::" + EscapeData(t) },
	EndGroup: "::endgroup::",
	Warning:  func(m string) string { return "::warning::" + EscapeData(m) },
	Error:    func(m string) string { return "::error::" + EscapeData(m) },
	Mask:     func(s string) string { return "::add-mask::" + EscapeData(s) },
}

// EscapeData escapes a GitHub workflow command's message as the runner expects.
func EscapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
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

func buildkiteEmoji(p engine.Phase) string {
	switch p {
	case engine.PhaseKey:
		return ":key:"
	case engine.PhaseLookup:
		return ":mag:"
	case engine.PhasePrepare:
		return ":package:"
	default:
		return ":docker:"
	}
}

// Phase starts a collapsible section for a phase of the run.
func (r *Reporter) Phase(p engine.Phase, subject string) {
	title := p.Title(subject)
	if r.style.Emoji != nil {
		title = r.style.Emoji(p) + " " + title
	}
	r.Group(title)
}

// Group starts a collapsible section, ending the one before.
func (r *Reporter) Group(title string) {
	r.EndGroup()
	r.line(r.style.Group(title))
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
	if open && r.style.EndGroup != "" {
		r.line(r.style.EndGroup)
	}
}

// Infof writes a line of progress.
func (r *Reporter) Infof(format string, args ...any) { r.line(fmt.Sprintf(format, args...)) }

// Warnf writes a warning that the CI shows as one.
func (r *Reporter) Warnf(format string, args ...any) {
	r.line(r.style.Warning(fmt.Sprintf(format, args...)))
}

// Errorf closes the open group and writes an error the CI shows as one.
func (r *Reporter) Errorf(format string, args ...any) {
	r.EndGroup()
	r.line(r.style.Error(fmt.Sprintf(format, args...)))
}

// Mask hides secret in everything written afterwards, and asks the CI to
// hide it too where the CI can.
func (r *Reporter) Mask(secret string) {
	if len(secret) < 4 || r.masked(secret) {
		return
	}
	if r.style.Mask != nil {
		// Written unmasked on purpose: this line is the CI's instruction.
		r.mu.Lock()
		fmt.Fprintln(r.w, r.style.Mask(secret))
		r.mu.Unlock()
	}
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

func (r *Reporter) line(s string) { _, _ = r.write([]byte(s + "\n")) }

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
