package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestStyles(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		style Style
		want  string
	}{
		{"plain", Plain, "==> :key: Key\nline\n==> Build\nwarning: careful\nerror: broke\n"},
		{"buildkite", Buildkite, "--- :key: Key\nline\n--- Build\n⚠️ warning: careful\n^^^ +++\n+++ :x: broke\n"},
		{"github", GitHub, "::group:::key: Key\nline\n::endgroup::\n::group::Build\n::warning::careful\n::endgroup::\n::error::broke\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			r := New(&buf, tt.style)
			r.Group(":key: Key")
			r.Infof("line")
			r.Group("Build")
			r.Warnf("careful")
			r.Errorf("broke")
			if buf.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), tt.want)
			}
		})
	}
}

func TestMaskAndRedact(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, GitHub)
	r.Mask("token-value-123")
	r.Redact("build-arg-value")
	r.Redact("abc") // too short to hide
	r.Infof("token-value-123 and build-arg-value and abc")
	fmt.Fprint(r.Progress(), "progress shows token-value-123\n")
	r.Errorf("failed with build-arg-value")
	out := buf.String()
	if !strings.HasPrefix(out, "::add-mask::token-value-123\n") {
		t.Errorf("the CI is not asked to mask the token first:\n%s", out)
	}
	if strings.Contains(out, "::add-mask::build-arg-value") {
		t.Errorf("a build-arg value was sent to the CI as a mask:\n%s", out)
	}
	rest := strings.TrimPrefix(out, "::add-mask::token-value-123\n")
	for _, secret := range []string{"token-value-123", "build-arg-value"} {
		if strings.Contains(rest, secret) {
			t.Errorf("%q printed:\n%s", secret, rest)
		}
	}
	if !strings.Contains(rest, "*** and *** and abc") {
		t.Errorf("masked line not as expected:\n%s", rest)
	}
}

func TestGitHubEscapesCommands(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	New(&buf, GitHub).Errorf("line one\nline two 100%%")
	if got, want := buf.String(), "::error::line one%0Aline two 100%25\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
