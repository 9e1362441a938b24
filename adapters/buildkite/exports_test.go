package buildkite

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

func TestExports(t *testing.T) {
	t.Parallel()
	r := engine.Result{Image: "127.0.0.1:5000/cache", Tag: "abc", Ref: "127.0.0.1:5000/cache:abc", CacheHit: true, Digest: "sha256:0123"}
	want := []engine.Output{
		{Name: "BUILDKITE_PLUGIN_DOCKER_IMAGE", Value: "127.0.0.1:5000/cache:abc"},
		{Name: "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_IMAGE", Value: "127.0.0.1:5000/cache"},
		{Name: "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_TAG", Value: "abc"},
		{Name: "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_CACHE_HIT", Value: "true"},
		{Name: "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_DIGEST", Value: "sha256:0123"},
	}
	if got := r.Exports(""); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Exports =\n%v\nwant\n%v", got, want)
	}
	r.CacheHit = false
	got := r.Exports("BUILDKITE_PLUGIN_MY_CUSTOM_PLUGIN_CACHE_IMAGE")
	if got[0].Name != "BUILDKITE_PLUGIN_MY_CUSTOM_PLUGIN_CACHE_IMAGE" || got[3].Value != "false" {
		t.Errorf("Exports with export-env-variable = %v", got)
	}
}

// The export lines, sourced by bash as hooks/pre-command does, give back
// every value exactly.
func TestExportQuotingRoundTrip(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	values := []string{
		"",
		"plain",
		"it's",
		"'",
		"''''",
		`"double" and 'single'`,
		"with spaces  and\ttabs",
		"$HOME ${HOME} $(echo no) `echo no`",
		"back\\slash\\",
		"new\nline\n",
		"\n",
		"!history !! ~tilde *glob? [x]",
		"unicode ✓ ünïcødé",
		"end with quote'",
	}
	var exports []engine.Output
	for i, v := range values {
		exports = append(exports, engine.Output{Name: fmt.Sprintf("V%d", i), Value: v})
	}
	file := filepath.Join(t.TempDir(), "exports")
	if err := WriteExportFile(file, exports); err != nil {
		t.Fatal(err)
	}
	script := `set -euo pipefail; source "$1"; for i in $(seq 0 $(($2 - 1))); do v="V$i"; printf '%s\0' "${!v}"; done`
	cmd := exec.Command("bash", "-c", script, "bash", file, fmt.Sprint(len(values)))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sourcing the export file: %v: %s", err, stderr.String())
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(values) {
		t.Fatalf("got %d values, want %d: %q", len(got), len(values), got)
	}
	for i := range values {
		if got[i] != values[i] {
			t.Errorf("V%d = %q, want %q", i, got[i], values[i])
		}
	}
	// Sourcing must also export them to the command.
	cmd = exec.Command("bash", "-c", `source "$1"; env | grep -c '^V[0-9]*='`, "bash", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) == "0" {
		t.Errorf("the variables are not exported: %s %v", out, err)
	}
}

func TestWriteExportFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "exports")
	if err := os.WriteFile(file, nil, 0o600); err != nil { // as mktemp leaves it
		t.Fatal(err)
	}
	if err := WriteExportFile(file, []engine.Output{{Name: "A", Value: "1"}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(file)
	if string(b) != "export A='1'\n" {
		t.Errorf("export file = %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files, want only the export file (no temporary left)", len(entries))
	}
	if err := WriteExportFile(filepath.Join(dir, "missing", "exports"), nil); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func TestAnnotationHit(t *testing.T) {
	t.Parallel()
	r := engine.Result{
		Image: "reg/cache", Tag: "0123abcd", Ref: "reg/cache:0123abcd", CacheHit: true, Digest: "sha256:feed",
		Elapsed: 1234 * time.Millisecond, Saved: 42 * time.Second,
		Key: key.Key{Tag: "0123abcd", Inputs: []key.Input{
			{Name: "dockerfile", Digest: "sha256:" + strings.Repeat("a", 64)},
			{Name: "cache-on a|b_*c*.json", Digest: "sha256:" + strings.Repeat("b", 64)},
		}},
	}
	style, body := Annotation(r)
	if style != "success" {
		t.Errorf("style = %q, want success", style)
	}
	for _, want := range []string{
		"cache hit", "`reg/cache:0123abcd`", "1.2s", "saving a 42s build", "sha256:feed",
		"from 2 inputs", "| dockerfile | `sha256:aaaaaaaaaaaa` |", `cache-on a\|b\_\*c\*.json`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("annotation has no %q:\n%s", want, body)
		}
	}
}

func TestAnnotationMiss(t *testing.T) {
	t.Parallel()
	var inputs []key.Input
	for i := range 60 {
		inputs = append(inputs, key.Input{Name: fmt.Sprintf("cache-on f%02d", i), Digest: "sha256:00"})
	}
	r := engine.Result{
		Ref: "reg/cache:k", Pushed: true, Elapsed: 40 * time.Second, Previous: "reg/cache:latest",
		Changed: []key.Change{{Kind: key.Modified, Input: "dockerfile"}, {Kind: key.Added, Input: "cache-on new.json"}, {Kind: key.Removed, Input: "cache-on old.json"}},
		Key:     key.Key{Tag: "k", Inputs: inputs},
	}
	style, body := Annotation(r)
	if style != "info" {
		t.Errorf("style = %q, want info", style)
	}
	for _, want := range []string{
		"cache miss", "built and pushed in 40s", "Changed since `reg/cache:latest`: dockerfile, cache-on new.json (new), cache-on old.json (gone).",
		"| cache-on f49 |", "| and 10 more | |",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("annotation has no %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "f50") {
		t.Errorf("annotation lists more than %d inputs:\n%s", MaxAnnotatedInputs, body)
	}
}

func TestAnnotationContext(t *testing.T) {
	t.Parallel()
	if got := AnnotationContext(job{"BUILDKITE_JOB_ID": "j1", "BUILDKITE_STEP_KEY": "deps"}.getenv, engine.DefaultImageVar); got != "docker-ecr-cache-deps" {
		t.Errorf("with a step key: %q", got)
	}
	if got := AnnotationContext(job{"BUILDKITE_JOB_ID": "j1"}.getenv, ""); got != "docker-ecr-cache-j1" {
		t.Errorf("without a step key: %q", got)
	}
	if got := AnnotationContext(job{"BUILDKITE_JOB_ID": "j1"}.getenv, "MY_IMAGE"); got != "docker-ecr-cache-j1-my_image" {
		t.Errorf("a second plugin instance, exporting MY_IMAGE: %q", got)
	}
}

// The annotation shows build args by name only, and keeps untrusted names
// and references on their line: no carriage return, line break or
// backtick gets through.
func TestAnnotationUntrusted(t *testing.T) {
	t.Parallel()
	argDigest := "sha256:" + strings.Repeat("c", 64)
	r := engine.Result{
		Ref: "reg/cache:k`\r\n#### forged", Previous: "reg/cache:latest\r", Digest: "sha256:d",
		Changed: []key.Change{{Kind: key.Modified, Input: "file a\r\n#### forged"}},
		Key: key.Key{Tag: "k", Inputs: []key.Input{
			{Name: "build-arg PIN", Digest: argDigest},
			{Name: "file x\r\n#### forged\u2028", Digest: "sha256:00"},
		}},
	}
	_, body := Annotation(r)
	if strings.Contains(body, "\r") || strings.Contains(body, "\u2028") || strings.Contains(body, "\n#### forged") {
		t.Errorf("annotation lets a control character through:\n%q", body)
	}
	if strings.Contains(body, argDigest[:19]) || !strings.Contains(body, "| build-arg PIN | value not recorded |") {
		t.Errorf("annotation shows a build arg's digest:\n%s", body)
	}
}
