package github

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// parseFileCommand reads a file-command file as the runner does
// (runnerEntries), by name.
func parseFileCommand(t *testing.T, data string) map[string]string {
	t.Helper()
	entries, err := runnerEntries(data)
	if err != nil {
		t.Fatalf("%v in %q", err, data)
	}
	out := map[string]string{}
	for _, e := range entries {
		out[e.Name] = e.Value
	}
	return out
}

func TestFormatFileCommand(t *testing.T) {
	t.Parallel()
	got, err := formatFileCommand([]engine.Output{{Name: "image", Value: "ghcr.io/o/r"}, {Name: "cache-hit", Value: "true"}, {Name: "digest", Value: ""}}, "ghadelimiter_X")
	if err != nil {
		t.Fatal(err)
	}
	want := "image<<ghadelimiter_X\nghcr.io/o/r\nghadelimiter_X\n" +
		"cache-hit<<ghadelimiter_X\ntrue\nghadelimiter_X\n" +
		"digest<<ghadelimiter_X\n\nghadelimiter_X\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFormatFileCommandDelimiter(t *testing.T) {
	t.Parallel()
	entries := []engine.Output{{Name: "a", Value: "x=y<<EOF"}}
	one, err := FormatFileCommand(entries)
	if err != nil {
		t.Fatal(err)
	}
	two, _ := FormatFileCommand(entries)
	re := regexp.MustCompile(`^a<<(ghadelimiter_[0-9a-f]{32})\nx=y<<EOF\n(ghadelimiter_[0-9a-f]{32})\n$`)
	m := re.FindStringSubmatch(string(one))
	if m == nil || m[1] != m[2] {
		t.Fatalf("unexpected format %q", one)
	}
	if string(one) == string(two) {
		t.Error("two calls used the same delimiter")
	}
	if got := parseFileCommand(t, string(one)); got["a"] != "x=y<<EOF" {
		t.Errorf("parsed back as %q", got)
	}
}

func TestFormatFileCommandRefusesInjection(t *testing.T) {
	t.Parallel()
	const delim = "ghadelimiter_0123"
	tests := []struct {
		name string
		out  engine.Output
		want string
	}{
		{"newline in value", engine.Output{Name: "image", Value: "x\nimage-ref=evil"}, "line break"},
		{"carriage return in value", engine.Output{Name: "image", Value: "x\rEVIL=1"}, "line break"},
		{"delimiter in value", engine.Output{Name: "image", Value: "a" + delim + "b"}, "delimiter"},
		{"equals in name", engine.Output{Name: "PATH=/evil", Value: "x"}, "contains ="},
		{"heredoc in name", engine.Output{Name: "A<<B", Value: "x"}, "<<"},
		{"newline in name", engine.Output{Name: "A\nB", Value: "x"}, "line break"},
		{"empty name", engine.Output{Name: "", Value: "x"}, "empty name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A good entry first: nothing at all may come out.
			got, err := formatFileCommand([]engine.Output{{Name: "ok", Value: "fine"}, tt.out}, delim)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
			if got != nil {
				t.Errorf("partial output %q", got)
			}
		})
	}
}

func testResult() engine.Result {
	return engine.Result{
		Image:    "127.0.0.1:5000/cache",
		Tag:      "0123456789abcdef0123456789abcdef01234567",
		Ref:      "127.0.0.1:5000/cache:0123456789abcdef0123456789abcdef01234567",
		CacheHit: true,
		Digest:   "sha256:" + strings.Repeat("ab", 32),
		Key: key.Key{Tag: "0123456789abcdef0123456789abcdef01234567", Inputs: []key.Input{
			{Name: "dockerfile", Digest: "sha256:" + strings.Repeat("01", 32)},
			{Name: "file a|b_c.json", Digest: "sha256:" + strings.Repeat("02", 32)},
		}},
		Pulled:  true,
		Elapsed: 1500 * time.Millisecond,
		Saved:   42 * time.Second,
	}
}

func emitEnv(t *testing.T) (map[string]string, func(string) string) {
	dir := t.TempDir()
	env := map[string]string{
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_ENV":          filepath.Join(dir, "env"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
	}
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"} {
		if err := os.WriteFile(env[k], nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return env, func(k string) string { return env[k] }
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEmit(t *testing.T) {
	t.Parallel()
	env, getenv := emitEnv(t)
	if err := os.WriteFile(env["GITHUB_ENV"], []byte("EARLIER=1\n"), 0o644); err != nil { // appended to, not replaced
		t.Fatal(err)
	}
	c := engine.NewConfig()
	r := testResult()
	if err := Emit(getenv, c, r); err != nil {
		t.Fatal(err)
	}
	outputs := parseFileCommand(t, readFile(t, env["GITHUB_OUTPUT"]))
	wantOutputs := map[string]string{
		"image": r.Image, "tag": r.Tag, "image-ref": r.Ref, "cache-hit": "true", "digest": r.Digest, "key": r.Key.Tag,
	}
	if fmt.Sprint(outputs) != fmt.Sprint(wantOutputs) {
		t.Errorf("outputs %v, want %v", outputs, wantOutputs)
	}
	vars := parseFileCommand(t, readFile(t, env["GITHUB_ENV"]))
	wantVars := map[string]string{
		"EARLIER":                       "1",
		"BUILDKITE_PLUGIN_DOCKER_IMAGE": r.Ref,
		engine.ExportImage:              r.Image,
		engine.ExportTag:                r.Tag,
		engine.ExportCacheHit:           "true",
		engine.ExportDigest:             r.Digest,
	}
	if fmt.Sprint(vars) != fmt.Sprint(wantVars) {
		t.Errorf("env %v, want %v", vars, wantVars)
	}
	if s := readFile(t, env["GITHUB_STEP_SUMMARY"]); !strings.Contains(s, r.Ref) {
		t.Errorf("summary %q lacks the image reference", s)
	}
}

func TestEmitCustomVariable(t *testing.T) {
	t.Parallel()
	env, getenv := emitEnv(t)
	c := engine.NewConfig()
	c.ExportEnvVariable = "BUILD_IMAGE"
	if err := Emit(getenv, c, testResult()); err != nil {
		t.Fatal(err)
	}
	vars := parseFileCommand(t, readFile(t, env["GITHUB_ENV"]))
	if vars["BUILD_IMAGE"] != testResult().Ref || vars["BUILDKITE_PLUGIN_DOCKER_IMAGE"] != "" {
		t.Errorf("env %v", vars)
	}
}

// A refused value or name leaves every file as it was: no partial entries.
func TestEmitWritesNothingOnRefusal(t *testing.T) {
	t.Parallel()
	tests := map[string]func(*engine.Config, *engine.Result){
		"newline in an output":    func(_ *engine.Config, r *engine.Result) { r.Digest = "sha256:x\nimage-ref=evil" },
		"newline in an env value": func(_ *engine.Config, r *engine.Result) { r.Image = "x\nLD_PRELOAD=/evil.so" },
		"equals in the env name":  func(c *engine.Config, _ *engine.Result) { c.ExportEnvVariable = "PATH=/evil:" },
		"newline in the env name": func(c *engine.Config, _ *engine.Result) { c.ExportEnvVariable = "A\nPATH" },
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env, getenv := emitEnv(t)
			c, r := engine.NewConfig(), testResult()
			edit(&c, &r)
			if err := Emit(getenv, c, r); err == nil {
				t.Fatal("no error")
			}
			for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"} {
				if s := readFile(t, env[k]); s != "" {
					t.Errorf("%s was written: %q", k, s)
				}
			}
		})
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	r := testResult()
	s := Summary(r)
	for _, want := range []string{
		"cache hit: pulled",
		"| Image | `" + r.Ref + "` |",
		"| Digest | `" + r.Digest + "` |",
		"| Time | 1.5s, saving a 42s build |",
		"Key " + r.Key.Tag + ": 2 inputs",
		"| dockerfile | `sha256:0101",
		`| file a\|b\_c.json | ` + "`sha256:0202",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}

	r.CacheHit, r.Pulled, r.Pushed, r.Built, r.Saved = false, false, true, true, 0
	r.Previous, r.Changed = "127.0.0.1:5000/cache:latest", []key.Change{{Kind: key.Modified, Input: "dockerfile"}, {Kind: key.Added, Input: "file new"}}
	s = Summary(r)
	for _, want := range []string{
		"cache miss: built and pushed",
		"| Changed since `127.0.0.1:5000/cache:latest` | dockerfile, file new (new) |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

// However many inputs, and however long their names, the summary stays far
// below the runner's 1 MiB limit.
func TestSummaryIsBounded(t *testing.T) {
	t.Parallel()
	r := testResult()
	r.Key.Inputs = nil
	long := strings.Repeat("|dir/", 300)
	for i := range 20000 {
		r.Key.Inputs = append(r.Key.Inputs, key.Input{Name: fmt.Sprintf("file %s%d", long, i), Digest: "sha256:" + strings.Repeat("0", 64)})
		r.Changed = append(r.Changed, key.Change{Kind: key.Modified, Input: fmt.Sprintf("file %s%d", long, i)})
	}
	r.Previous = "x:latest"
	s := Summary(r)
	if len(s) > 256<<10 {
		t.Errorf("summary is %d bytes", len(s))
	}
	for _, want := range []string{"| and 19800 more | |", "and 19950 more", "20000 inputs"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

// Failures are ::error annotations, on the Dockerfile, relative to the
// workspace, when a build failed.
func TestStyleError(t *testing.T) {
	t.Parallel()
	ws := "/github/workspace"
	build := &engine.BuildError{Ref: "r:t", Dockerfile: "/github/workspace/docker/ci, test.Dockerfile", Err: errors.New("exit code: 1\nstep 3")}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"build error", fmt.Errorf("wrapped: %w", build),
			"::error file=docker/ci%2C test.Dockerfile,title=Docker build failed::wrapped: building r:t: exit code: 1%0Astep 3\n"},
		{"inline Dockerfile", &engine.BuildError{Ref: "r:t", Err: errors.New("boom")},
			"::error::building r:t: boom\n"},
		{"Dockerfile outside the workspace", &engine.BuildError{Ref: "r:t", Dockerfile: "/tmp/Dockerfile", Err: errors.New("boom")},
			"::error::building r:t: boom\n"},
		{"other error", engine.Configf("input push-latest is %q: write true or false\n100%%", "x"),
			"::error::input push-latest is \"x\": write true or false%0A100%25\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		report.New(&buf, &Style{Workspace: ws}).Error(tt.err)
		if got := buf.String(); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// The log as the runner reads it: groups, warnings, masks, and a failure
// after the group it ended.
func TestStyleLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := report.New(&buf, &Style{})
	r.Mask("token-value-123")
	r.Phase(engine.PhaseKey, "")
	r.Infof("uses token-value-123")
	r.Phase(engine.PhaseLookup, "x\n::error")
	r.Warnf("careful: 100%%")
	r.Phase(engine.PhaseBuild, "a:b")
	r.Error(errors.New("broke"))
	want := "::add-mask::token-value-123\n" +
		"::group::Computing cache key\nuses ***\n::endgroup::\n" +
		"::group::Looking up x\\n::error\n::warning::careful: 100%25\n::endgroup::\n" +
		"::group::Building a:b\n::endgroup::\n::error::broke\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// A file the runner gave that cannot be written is an error, not a panic.
func TestEmitUnwritableFile(t *testing.T) {
	t.Parallel()
	env, getenv := emitEnv(t)
	env["GITHUB_OUTPUT"] = filepath.Join(t.TempDir(), "missing", "output")
	err := Emit(getenv, engine.NewConfig(), testResult())
	if err == nil || !strings.HasPrefix(err.Error(), "writing GITHUB_OUTPUT: ") || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("Emit = %v, want an error writing GITHUB_OUTPUT", err)
	}
	if s := readFile(t, env["GITHUB_ENV"]); s != "" {
		t.Errorf("GITHUB_ENV was written after GITHUB_OUTPUT failed: %q", s)
	}
}

// Untrusted lines cannot be workflow commands: a line whose text starts
// with :: or ##[, after white space, is written after a zero-width space.
func TestStyleGuard(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := report.New(&buf, &Style{})
	r.Phase(engine.PhaseKey, "")
	r.Infof("  file x\n::warning title=Injected::y")
	fmt.Fprint(r.Progress(), "#5 ::stop-commands::t\n  ::add-mask::m\n##[error]old\n\t::error::e\n")
	r.Error(errors.New("failed\n::warning::w"))
	var commands []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "::") || strings.HasPrefix(t, "##[") {
			commands = append(commands, line)
		}
	}
	want := []string{"::group::Computing cache key", "::endgroup::", "::error::failed%0A\u200b::warning::w"}
	if !slices.Equal(commands, want) {
		t.Errorf("commands %q, want %q, in:\n%s", commands, want, buf.String())
	}
}

// The step summary shows build args by name only, and keeps untrusted
// names and references on their line.
func TestSummaryUntrusted(t *testing.T) {
	t.Parallel()
	argDigest := "sha256:" + strings.Repeat("c", 64)
	r := engine.Result{
		Ref: "reg/cache:k`\r\n### forged", Previous: "reg/cache:latest", Digest: "sha256:d",
		Changed: []key.Change{{Kind: key.Modified, Input: "file a\r\n### forged"}},
		Key: key.Key{Tag: "k", Inputs: []key.Input{
			{Name: "build-arg PIN", Digest: argDigest},
			{Name: "file x\r\n### forged\u2028", Digest: "sha256:00"},
		}},
	}
	s := Summary(r)
	if strings.Contains(s, "\r") || strings.Contains(s, "\u2028") || strings.Contains(s, "\n### forged") {
		t.Errorf("summary lets a control character through:\n%q", s)
	}
	if strings.Contains(s, argDigest) || !strings.Contains(s, "| build-arg PIN | value not recorded |") {
		t.Errorf("summary shows a build arg's digest:\n%s", s)
	}
}
