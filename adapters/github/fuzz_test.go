package github

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

const maxFuzzInput = 4 << 10

// FuzzLoad: any INPUT_* values either load or are a configuration error,
// and never panic, nor does validating what loaded.
func FuzzLoad(f *testing.F) {
	f.Add("cache-on", "package.json\n**/*.lock\n", "build-args", "A=1\nB")
	f.Add("secrets", "S\nid=n,src=.npmrc", "additional-build-args", "--ssh default --label 'a=b c'")
	f.Add("max-age-days", "x", "push-latest", "maybe")
	f.Add("ecr-tags", "Team=web\nbad", "dockerfile-inline", "FROM scratch\n")
	f.Add("registry-provider", "ecrr", "unknown-input", "1")
	ws := f.TempDir()
	out := f.TempDir() + "/output"
	if err := os.WriteFile(out, nil, 0o600); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		if len(n1)+len(v1)+len(n2)+len(v2) > maxFuzzInput || strings.ContainsAny(n1+n2, "=\x00") || strings.Contains(v1+v2, "\x00") {
			t.Skip()
		}
		env := map[string]string{
			"GITHUB_WORKSPACE": ws, "GITHUB_OUTPUT": out, "GITHUB_ENV": out, "S": "x",
			InputVar(n1): v1, InputVar(n2): v2,
		}
		var environ []string
		for k, v := range env {
			environ = append(environ, k+"="+v)
		}
		getenv := func(k string) string { return env[k] }
		cfg, err := Load(frontend.Env{Getenv: getenv, Environ: environ, Dir: ws})
		if err != nil && !engine.IsConfigError(err) {
			t.Fatalf("Load: %v is not a configuration error", err)
		}
		if err := cfg.Validate(); err != nil && !engine.IsConfigError(err) {
			t.Fatalf("Validate: %v is not a configuration error", err)
		}
	})
}

// FuzzFileCommand: an entry that FormatFileCommand accepts reads back,
// with the runner's rules, as exactly that entry: no value can end it
// early or add another.
func FuzzFileCommand(f *testing.F) {
	f.Add("image", "reg/img:tag", "digest", "sha256:00")
	f.Add("a", "x\nb<<EOF", "b", "ghadelimiter_00")
	f.Add("name=x", "v", "n<<d", "v")
	f.Add("tag", "", "x", "a\r")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		if len(n1)+len(v1)+len(n2)+len(v2) > maxFuzzInput {
			t.Skip()
		}
		entries := []engine.Output{{Name: n1, Value: v1}, {Name: n2, Value: v2}}
		b, err := FormatFileCommand(entries)
		if err != nil {
			if len(b) != 0 {
				t.Fatalf("refused entries still give %q", b)
			}
			return
		}
		got, err := runnerEntries(string(b))
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if len(got) != 2 || got[0] != entries[0] || got[1] != entries[1] {
			t.Fatalf("%q reads back as %q, want %q", b, got, entries)
		}
	})
}

// runnerEntries reads a GITHUB_OUTPUT or GITHUB_ENV file as the runner
// does (its FileCommandManager): lines end with \n or \r\n, empty lines
// are skipped, NAME=VALUE or NAME<<DELIMITER, then the value's lines up to
// a line that is the delimiter.
func runnerEntries(text string) ([]engine.Output, error) {
	var out []engine.Output
	lines := strings.SplitAfter(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(strings.TrimSuffix(lines[i], "\n"), "\r")
		if line == "" {
			continue
		}
		eq, heredoc := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case eq >= 0 && (heredoc < 0 || eq < heredoc):
			if eq == 0 {
				return nil, errors.New("empty name")
			}
			out = append(out, engine.Output{Name: line[:eq], Value: line[eq+1:]})
		case heredoc >= 0:
			name, delim := line[:heredoc], line[heredoc+2:]
			if name == "" || delim == "" {
				return nil, errors.New("empty name or delimiter")
			}
			var value strings.Builder
			found := false
			for i++; i < len(lines); i++ {
				l := lines[i]
				if strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r") == delim {
					found = true
					break
				}
				value.WriteString(l)
			}
			if !found {
				return nil, errors.New("matching delimiter not found")
			}
			v := strings.TrimSuffix(value.String(), "\n")
			v = strings.TrimSuffix(v, "\r")
			out = append(out, engine.Output{Name: name, Value: v})
		default:
			return nil, errors.New("invalid format")
		}
	}
	return out, nil
}

// FuzzStyleGuard: whatever text reaches the log (progress cut anywhere, a
// file name, a subject, a warning, an error), no line the runner reads
// starts with :: but the tool's own commands, and no line holds ##[.
func FuzzStyleGuard(f *testing.F) {
	f.Add("#5 0.1 ##[warning]x\n::error::y\n", 7, "::stop-commands::t", "##[set-output name=image-ref;]e")
	f.Add("  \u00a0::add-mask::m\r\n#", 3, "#", "#[")
	f.Add("\u2028::x\u0085::y\v::z", 1, "\u202e::", "##\u200b[")
	f.Fuzz(func(t *testing.T, progress string, cut int, name, msg string) {
		if len(progress)+len(name)+len(msg) > maxFuzzInput {
			t.Skip()
		}
		cut = max(0, min(cut, len(progress)))
		var buf bytes.Buffer
		r := report.New(&buf, &Style{Workspace: "/w"})
		r.Phase(engine.PhaseBuild, name)
		_, _ = io.WriteString(r.Progress(), progress[:cut])
		_, _ = io.WriteString(r.Progress(), progress[cut:])
		r.Infof("  %s sha256:00", name)
		r.Infof("%s", name)
		r.Warnf("%s", msg)
		r.Error(&engine.BuildError{Ref: "r:k", Dockerfile: "/w/" + name, Err: errors.New(msg)})
		var commands []string
		for _, line := range runnerLines(buf.String()) {
			if strings.Contains(line, "##[") {
				t.Fatalf("the runner reads %q as a command, in:\n%s", line, buf.String())
			}
			if strings.HasPrefix(strings.TrimSpace(line), "::") {
				commands = append(commands, strings.SplitN(line, "::", 3)[1])
			}
		}
		want := []string{"group", "warning", "endgroup", "error"}
		if strings.HasPrefix(commands[len(commands)-1], "error file=") {
			commands[len(commands)-1] = "error"
		}
		if !slices.Equal(commands, want) {
			t.Fatalf("commands %q, want %q, in:\n%s", commands, want, buf.String())
		}
	})
}

// runnerLines splits output as the runner's process reader does: at \n,
// dropping a \r before it.
func runnerLines(s string) []string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}
