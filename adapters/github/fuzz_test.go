package github

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
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
