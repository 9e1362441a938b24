package github

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// Variables exported to later steps besides export-env-variable, named as
// the Buildkite plugin names them so that scripts work on both.
const (
	EnvExportImage    = engine.ExportImage
	EnvExportTag      = engine.ExportTag
	EnvExportCacheHit = engine.ExportCacheHit
	EnvExportDigest   = engine.ExportDigest
)

// ExportedEnv is what later steps get in their environment.
func ExportedEnv(c engine.Config, r engine.Result) []engine.Output {
	return r.Exports(c.ExportEnvVariable)
}

// Emit writes a successful run's outputs to GITHUB_OUTPUT, its variables
// to GITHUB_ENV and a summary to GITHUB_STEP_SUMMARY (when the runner
// gives one). Everything is checked before anything is written.
func Emit(getenv func(string) string, c engine.Config, r engine.Result) error {
	outputs, err := FormatFileCommand(r.Outputs())
	if err != nil {
		return err
	}
	env, err := FormatFileCommand(ExportedEnv(c, r))
	if err != nil {
		return err
	}
	if err := appendFile(getenv("GITHUB_OUTPUT"), outputs); err != nil {
		return fmt.Errorf("writing GITHUB_OUTPUT: %w", err)
	}
	if err := appendFile(getenv("GITHUB_ENV"), env); err != nil {
		return fmt.Errorf("writing GITHUB_ENV: %w", err)
	}
	if p := getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if err := appendFile(p, []byte(Summary(r))); err != nil {
			return fmt.Errorf("writing GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	return nil
}

// Limits that keep the step summary far below the runner's 1 MiB.
const (
	maxSummaryInputs = 200
	maxSummaryChange = 50
	maxSummaryName   = 200
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
	fmt.Fprintf(&b, "| Image | `%s` |\n", r.Ref)
	if r.Digest != "" {
		fmt.Fprintf(&b, "| Digest | `%s` |\n", r.Digest)
	}
	took := r.Elapsed.Round(100 * time.Millisecond).String()
	if r.Saved > 0 {
		took += fmt.Sprintf(", saving a %s build", r.Saved.Round(100*time.Millisecond))
	}
	fmt.Fprintf(&b, "| Time | %s |\n", took)
	if r.Previous != "" {
		changed := engine.DescribeChanges(r.Changed, maxSummaryChange, markdownText)
		fmt.Fprintf(&b, "| Changed since `%s` | %s |\n", r.Previous, changed)
	}

	inputs := r.Key.Inputs
	fmt.Fprintf(&b, "\n<details><summary>Key %s: %d inputs</summary>\n\n", r.Key.Tag, len(inputs))
	b.WriteString("| Input | Digest |\n|---|---|\n")
	for _, in := range inputs[:min(len(inputs), maxSummaryInputs)] {
		fmt.Fprintf(&b, "| %s | `%s` |\n", markdownText(in.Name), in.Digest)
	}
	if len(inputs) > maxSummaryInputs {
		fmt.Fprintf(&b, "| and %d more | |\n", len(inputs)-maxSummaryInputs)
	}
	b.WriteString("\n</details>\n\n")
	return b.String()
}

// markdownText makes s plain text in a table cell: one line, not too long,
// with Markdown and HTML punctuation escaped.
func markdownText(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	if r := []rune(s); len(r) > maxSummaryName {
		s = string(r[:maxSummaryName]) + "…"
	}
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune("\\`*_[]<>|~&", c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ErrorCommand is the ::error workflow command for a failed run. A failed
// build is annotated on its Dockerfile, named relative to the workspace.
func ErrorCommand(err error, workspace string) string {
	props := ""
	var be *engine.BuildError
	if errors.As(err, &be) && be.Dockerfile != "" && workspace != "" {
		if rel, rerr := filepath.Rel(workspace, be.Dockerfile); rerr == nil && filepath.IsLocal(rel) {
			props = " file=" + escapeProperty(filepath.ToSlash(rel)) + ",title=" + escapeProperty("Docker build failed")
		}
	}
	return "::error" + props + "::" + report.EscapeData(err.Error())
}

// Style is GitHub's log dialect.
var Style = report.GitHub

// escapeProperty escapes a workflow command's property value as the runner
// unescapes it; report.EscapeData does the message.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
