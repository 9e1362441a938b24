package buildkite

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"--export-file", "/tmp/x"}, "/tmp/x"},
		{[]string{"--export-file=/tmp/y"}, "/tmp/y"},
	} {
		if got, err := parseArgs(tt.args); err != nil || got != tt.want {
			t.Errorf("parseArgs(%q) = %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
	for _, args := range [][]string{{"--export-file"}, {"--output", "x"}, {"extra"}} {
		if _, err := parseArgs(args); !engine.IsConfigError(err) || !strings.HasPrefix(err.Error(), "buildkite: ") {
			t.Errorf("parseArgs(%q): %v, want a configuration error", args, err)
		}
	}
}

// The export file is written, then the build annotated when the agent is
// at hand: in a job, with buildkite-agent on the job's PATH.
func TestEmit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	agentLog := filepath.Join(dir, "agent.log")
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/bash\n{ echo \"ARGS: $*\"; cat; } >>%q\n", agentLog)
	testenv.WriteExecutable(t, filepath.Join(bin, "buildkite-agent"), script)
	res := engine.Result{Image: "reg/cache", Tag: "abc", Ref: "reg/cache:abc", CacheHit: true, Digest: "sha256:0123",
		Key: key.Key{Tag: "abc", Inputs: []key.Input{{Name: "dockerfile", Digest: "sha256:00"}}}}

	for _, tt := range []struct {
		name, jobID, path string
		annotated         bool
	}{
		{"with agent and job", "job-1", bin, true},
		{"outside a job", "", bin, false},
		{"without buildkite-agent", "job-1", filepath.Join(dir, "nowhere"), false},
	} {
		_ = os.Remove(agentLog)
		var stderr bytes.Buffer
		j := job{"BUILDKITE_JOB_ID": tt.jobID, "PATH": tt.path}
		exports := filepath.Join(dir, "exports")
		fe := &frontEnd{ctx: context.Background(), env: j.env(), log: report.New(&stderr, Style{}), exportFile: exports, imageVar: "MY_IMAGE"}
		if err := fe.Emit(res); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		b, _ := os.ReadFile(exports)
		if !strings.HasPrefix(string(b), "export MY_IMAGE='reg/cache:abc'\nexport BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_IMAGE='reg/cache'\n") {
			t.Errorf("%s: export file:\n%s", tt.name, b)
		}
		log, err := os.ReadFile(agentLog)
		if annotated := err == nil; annotated != tt.annotated {
			t.Errorf("%s: annotated = %v, want %v (%s)", tt.name, annotated, tt.annotated, stderr.String())
		}
		if tt.annotated && !strings.HasPrefix(string(log), "ARGS: annotate --style success --context docker-ecr-cache-job-1-my_image\n") {
			t.Errorf("%s: buildkite-agent got:\n%s", tt.name, log)
		}
	}
}

// An annotation that cannot be written is a warning: the step goes on.
func TestEmitAnnotateFailure(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	script := "#!/bin/bash\necho 'fatal: BUILDKITE_AGENT_ACCESS_TOKEN is missing' >&2\nexit 1\n"
	testenv.WriteExecutable(t, filepath.Join(bin, "buildkite-agent"), script)
	var stderr bytes.Buffer
	j := job{"BUILDKITE_JOB_ID": "job-1", "PATH": bin}
	fe := &frontEnd{ctx: context.Background(), env: j.env(), log: report.New(&stderr, Style{}), exportFile: filepath.Join(t.TempDir(), "exports")}
	if err := fe.Emit(engine.Result{Ref: "reg/cache:abc"}); err != nil {
		t.Fatal(err)
	}
	if want := "⚠️ warning: buildkite-agent annotate failed, so this build has no docker-ecr-cache annotation: exit status 1: fatal: BUILDKITE_AGENT_ACCESS_TOKEN is missing\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

func TestStyle(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := report.New(&buf, Style{})
	r.Mask("token-value-123")
	r.Phase(engine.PhaseKey, "")
	r.Infof("uses token-value-123")
	r.Phase(engine.PhaseLookup, "a:b")
	r.Phase(engine.PhasePrepare, "a")
	r.Phase(engine.PhasePull, "a:b")
	r.Warnf("careful")
	r.Error(fmt.Errorf("broke"))
	want := "--- :key: Computing cache key\nuses ***\n--- :mag: Looking up a:b\n--- :package: Preparing repository a\n" +
		"--- :docker: Pulling a:b\n⚠️ warning: careful\n^^^ +++\n+++ :x: broke\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// Untrusted lines (file names, build output, error messages) cannot open a
// group: a line that would is written after a zero-width space, and line
// breaks and carriage returns inside a line are escaped.
func TestStyleGuard(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := report.New(&buf, Style{})
	r.Phase(engine.PhaseKey, "")
	r.Infof("  file x\n--- forged\r+++ forged")
	fmt.Fprint(r.Progress(), "#5 0.1 ok\n+++ expanded\n~~~ quiet\n^^^ +++\n  --- indented\n")
	r.Error(fmt.Errorf("failed\n--- forged"))
	var ours []string
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "---") || strings.HasPrefix(line, "+++") || strings.HasPrefix(line, "~~~") || strings.HasPrefix(line, "^^^") {
			ours = append(ours, line)
		}
	}
	want := []string{"--- :key: Computing cache key", "^^^ +++", "+++ :x: failed"}
	if !slices.Equal(ours, want) {
		t.Errorf("group lines %q, want %q, in:\n%s", ours, want, buf.String())
	}
	if !strings.Contains(buf.String(), "  file x\\n--- forged\\r+++ forged\n") {
		t.Errorf("the forged line is not kept, escaped:\n%s", buf.String())
	}
}

// Each secret is handed to buildkite-agent redactor add, on stdin, when the
// agent is at hand; a failure is a warning that does not show the secret.
func TestStyleRedactor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	agentLog := filepath.Join(dir, "agent.log")
	agent := filepath.Join(dir, "buildkite-agent")
	script := fmt.Sprintf("#!/bin/sh\n{ echo \"ARGS: $*\"; cat; echo; } >>%q\n[ \"$FAIL\" = \"\" ]\n", agentLog)
	testenv.WriteExecutable(t, agent, script)
	var buf bytes.Buffer
	r := report.New(&buf, Style{Agent: agent})
	r.Mask("hunter2-secret-value")
	r.Mask("abc") // too short to mask, not handed over
	r.Infof("echo hunter2-secret-value")
	b, _ := os.ReadFile(agentLog)
	if string(b) != "ARGS: redactor add\nhunter2-secret-value\n" || buf.String() != "echo ***\n" {
		t.Errorf("agent got %q; log %q", b, buf.String())
	}

	buf.Reset()
	r = report.New(&buf, Style{Agent: agent, Env: []string{"FAIL=1"}})
	r.Mask("other-secret-value")
	if !strings.HasPrefix(buf.String(), "⚠️ warning: buildkite-agent redactor add failed") || strings.Contains(buf.String(), "other-secret") {
		t.Errorf("log %q", buf.String())
	}
}
