package github

import (
	"fmt"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

// Emit writes a successful run's outputs to GITHUB_OUTPUT, its variables
// to GITHUB_ENV and a summary to GITHUB_STEP_SUMMARY (when the runner
// gives one). Everything is checked before anything is written.
func Emit(getenv func(string) string, c engine.Config, r engine.Result) error {
	outputs, err := FormatFileCommand(r.Outputs())
	if err != nil {
		return err
	}
	env, err := FormatFileCommand(r.Exports(c.ExportEnvVariable))
	if err != nil {
		return err
	}
	a := githubactions.New(githubactions.WithGetenv(getenv))
	if err := fileCommand(a, "output", outputs); err != nil {
		return fmt.Errorf("writing GITHUB_OUTPUT: %w", err)
	}
	if err := fileCommand(a, "env", env); err != nil {
		return fmt.Errorf("writing GITHUB_ENV: %w", err)
	}
	if getenv("GITHUB_STEP_SUMMARY") != "" {
		if err := addStepSummary(a, Summary(r)); err != nil {
			return fmt.Errorf("writing GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	return nil
}

// Limits that keep the step summary far below the runner's 1 MiB.
const (
	maxSummaryInputs = 200
	maxSummaryChange = 50
)

// Summary is the Markdown for the run page: the outcome, the image, the
// time taken and the key's inputs with their digests.
func Summary(r engine.Result) string {
	var b strings.Builder
	outcome := "✅ cache hit"
	switch {
	case !r.CacheHit && r.Pushed:
		outcome = "🔨 cache miss: built and pushed"
	case !r.CacheHit:
		outcome = "🔨 cache miss: built"
	case r.Pushed:
		outcome = "✅ cache hit on this machine: pushed to the registry"
	case r.Pulled:
		outcome = "✅ cache hit: pulled"
	}
	fmt.Fprintf(&b, "### docker-ecr-cache: %s\n\n", outcome)
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Image | %s |\n", frontend.MarkdownCode(r.Ref))
	if r.Digest != "" {
		fmt.Fprintf(&b, "| Digest | %s |\n", frontend.MarkdownCode(r.Digest))
	}
	took := r.Elapsed.Round(100 * time.Millisecond).String()
	if r.Saved > 0 {
		took += fmt.Sprintf(", saving a %s build", r.Saved.Round(100*time.Millisecond))
	}
	fmt.Fprintf(&b, "| Time | %s |\n", took)
	if r.Previous != "" {
		changed := key.DescribeChanges(r.Changed, maxSummaryChange, frontend.MarkdownText)
		fmt.Fprintf(&b, "| Changed since %s | %s |\n", frontend.MarkdownCode(r.Previous), changed)
	}

	inputs := key.PublishedInputs(r.Key.Inputs)
	fmt.Fprintf(&b, "\n<details><summary>Key %s: %d inputs</summary>\n\n", frontend.MarkdownText(r.Key.Tag), len(inputs))
	b.WriteString("| Input | Digest |\n|---|---|\n")
	for _, in := range inputs[:min(len(inputs), maxSummaryInputs)] {
		d := "value not recorded"
		if in.Digest != "" {
			d = frontend.MarkdownCode(in.Digest)
		}
		fmt.Fprintf(&b, "| %s | %s |\n", frontend.MarkdownText(in.Name), d)
	}
	if len(inputs) > maxSummaryInputs {
		fmt.Fprintf(&b, "| and %d more | |\n", len(inputs)-maxSummaryInputs)
	}
	b.WriteString("\n</details>\n\n")
	return b.String()
}
