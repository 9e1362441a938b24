package github

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// TestStyleGuardMidLine: build output, file names and the "changed since"
// line carry ##[ after other text, where the runner's legacy parser still
// finds it (ActionCommand.TryParse falls back to IndexOf); and bidi
// controls in them reach the log escaped.
func TestStyleGuardMidLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := report.New(&buf, &Style{})
	r.Phase(engine.PhaseKey, "")
	r.Infof("  %-40s %s", "file x##[warning]forged", "sha256:0123")
	r.Infof("cache miss: no image for key k; changed since r:latest: %s", "file a ##[stop-commands]tok")
	r.Phase(engine.PhaseBuild, "r:k")
	fmt.Fprint(r.Progress(), "#5 0.1 ##[warning]from the build\n#5 0.2 ##[stop-commands]tok\n#5 0.3 ##[set-output name=image-ref;]evil\n")
	fmt.Fprint(r.Progress(), "#6 0.1 file\u202Egnp.js if admin\u2067 {\n")
	r.Warnf("careful ##[error]w")
	r.Error(errors.New("failed ##[error]e\n##[warning]second line"))
	out := buf.String()
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "##[") {
			t.Errorf("the runner reads %q as a command", line)
		}
		if strings.ContainsAny(line, "\u202e\u2067") {
			t.Errorf("%q keeps a bidi control", line)
		}
	}
	for _, want := range []string{"##\u200b[warning]from the build", "file\\u202egnp.js if admin\\u2067 {"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

// TestStyleErrorFileProperty: a Dockerfile path with ESC and BEL reaches the
// ::error command's file property escaped, as every other text.
func TestStyleErrorFileProperty(t *testing.T) {
	t.Parallel()
	ws := "/github/workspace"
	be := &engine.BuildError{Ref: "r:t", Dockerfile: ws + "/a\x1b]0;title\x07##[b\u202e.Dockerfile", Err: errors.New("boom")}
	var buf bytes.Buffer
	report.New(&buf, &Style{Workspace: ws}).Error(be)
	got := buf.String()
	want := "::error file=a\\x1b]0;title\\a##\u200b[b\\u202e.Dockerfile,title=Docker build failed::building r:t: boom\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestSummaryBidi: the step summary escapes bidi controls in file names and
// references.
func TestSummaryBidi(t *testing.T) {
	t.Parallel()
	r := engine.Result{
		Ref: "reg/cache:k\u202e", Previous: "reg/cache:latest",
		Changed: []key.Change{{Kind: key.Modified, Input: "file a\u2067b"}},
		Key:     key.Key{Tag: "k", Inputs: []key.Input{{Name: "file x\u202egnp.js\ufeff", Digest: "sha256:00"}}},
	}
	s := Summary(r)
	if strings.ContainsFunc(s, func(r rune) bool { return r == '\u202e' || r == '\u2067' || r == '\ufeff' }) {
		t.Errorf("summary keeps a bidi or invisible character:\n%q", s)
	}
	for _, want := range []string{`file x\\u202egnp.js\\ufeff`, `file a\\u2067b`} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}
