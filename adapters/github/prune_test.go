package github

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/prune"
)

// TestPrunedStepSummary: every deletion is a row of the step summary, and
// a tag cannot break out of its cell.
func TestPrunedStepSummary(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	env := map[string]string{"GITHUB_STEP_SUMMARY": summary}
	g := &frontEnd{env: frontend.Env{Getenv: func(k string) string { return env[k] }}}
	now := time.Now()
	res := prune.Result{Now: now, Plan: []prune.Decision{
		{Image: prune.Image{Tag: strings.Repeat("a", 40), Digest: "sha256:" + strings.Repeat("1", 64), Pushed: now.Add(-9 * 24 * time.Hour)}, Delete: true, Why: "older than 7 days"},
		{Image: prune.Image{Tag: "x|`y", Digest: "sha256:" + strings.Repeat("2", 64), Pushed: now.Add(-2 * time.Hour)}, Delete: true, Why: "untagged | left"},
		{Image: prune.Image{Tag: "latest", Digest: "sha256:" + strings.Repeat("3", 64)}, Why: "latest"},
	}}
	res.Deleted = res.Plan[:2]
	if err := g.Pruned(res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{"2 images deleted, 1 kept", "| `" + strings.Repeat("a", 40) + "` | `sha256:111111111111` | 9d0h | older than 7 days |", "`x\\|'y`", "untagged \\| left"} {
		if !strings.Contains(got, want) {
			t.Errorf("the summary lacks %q:\n%s", want, got)
		}
	}
}
