package frontend_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/buildkite"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/env"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/github"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// trojan is text with the bidi controls of "Trojan Source" (U+202E, U+2067)
// and other invisible formatting characters, and a backslash escape
// written out, as a pull request can put them in file names and build
// output.
const trojan = "file\u202Egnp.js if admin\u2067 {\u200b\ufeff \\x1b"

// escapedTrojan is trojan as every channel shows it.
const escapedTrojan = `file\u202egnp.js if admin\u2067 {\u200b\ufeff \\x1b`

func hidden(s string) bool {
	return strings.ContainsAny(s, "\u202e\u2067\ufeff") || strings.Contains(s, "\u200b\\ufeff")
}

// TestBidiEveryChannel: in file names, build output, warnings and errors,
// the bidi and invisible formatting characters reach no channel raw: the
// generic stderr, GitHub's stdout and step summary, Buildkite's log and
// annotation.
func TestBidiEveryChannel(t *testing.T) {
	t.Parallel()
	res := engine.Result{
		Ref: "r/c:k", Previous: "r/c:latest", Tag: "k",
		Changed: []key.Change{{Kind: key.Modified, Input: "file " + trojan}},
		Key:     key.Key{Tag: "k", Inputs: []key.Input{{Name: "file " + trojan, Digest: "sha256:00"}}},
	}
	logs := map[string]report.Style{"generic stderr": env.Style{}, "GitHub stdout": &github.Style{}, "Buildkite log": buildkite.Style{}}
	for name, style := range logs {
		var buf bytes.Buffer
		r := report.New(&buf, style)
		r.Phase(engine.PhaseBuild, "r/c:k")
		r.Infof("  %-40s sha256:00", "file "+trojan)
		fmt.Fprintf(r.Progress(), "#5 0.1 %s\n", trojan)
		r.Warnf("warning %s", trojan)
		r.Error(errors.New("error " + trojan))
		if hidden(buf.String()) || strings.Count(buf.String(), escapedTrojan) != 4 {
			t.Errorf("%s:\n%s", name, buf.String())
		}
	}
	_, annotation := buildkite.Annotation(res)
	for name, markdown := range map[string]string{"GitHub step summary": github.Summary(res), "Buildkite annotation": annotation} {
		if hidden(markdown) || !strings.Contains(markdown, `file\\u202egnp.js if admin\\u2067 {`) {
			t.Errorf("%s:\n%s", name, markdown)
		}
	}
}
