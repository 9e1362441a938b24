package buildkite

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// MaxAnnotatedInputs caps the key inputs listed in the annotation.
const MaxAnnotatedInputs = 50

// annotateTimeout bounds the buildkite-agent annotate call.
const annotateTimeout = 10 * time.Second

// annotate adds the job's annotation when buildkite-agent is on the job's
// PATH. It warns, and never fails the step, when that does not work.
func annotate(ctx context.Context, env frontend.Env, log *report.Reporter, imageVar string, r engine.Result) {
	if env.Getenv("BUILDKITE_JOB_ID") == "" {
		return
	}
	agent := lookPath("buildkite-agent", env.Getenv("PATH"))
	if agent == "" {
		return
	}
	style, body := Annotation(r)
	ctx, cancel := context.WithTimeout(ctx, annotateTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, agent, "annotate", "--style", style, "--context", AnnotationContext(env.Getenv, imageVar))
	cmd.Env = env.Environ
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		log.Warnf("buildkite-agent annotate failed, so this build has no docker-ecr-cache annotation: %v: %s", err, strings.TrimSpace(out.String()))
	}
}

// lookPath finds an executable in path, the job's PATH.
func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		file := filepath.Join(dir, name)
		if fi, err := os.Stat(file); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return file
		}
	}
	return ""
}

// AnnotationContext names the job's annotation: one per step and plugin
// instance, so a retry replaces it rather than adding another, and a second
// instance on the step (exporting another variable) keeps its own.
func AnnotationContext(getenv func(string) string, imageVar string) string {
	id := getenv("BUILDKITE_STEP_KEY")
	if id == "" {
		id = getenv("BUILDKITE_JOB_ID")
	}
	if imageVar != "" && imageVar != engine.DefaultImageVar {
		id += "-" + strings.ToLower(imageVar)
	}
	return "docker-ecr-cache-" + id
}

// Annotation is the markdown of the job's annotation, and its style:
// success on a hit, info on a miss.
func Annotation(r engine.Result) (style, body string) {
	var b strings.Builder
	if r.CacheHit {
		style = "success"
		fmt.Fprintf(&b, "#### :docker: docker-ecr-cache: cache hit\n\n%s was ready in %s", frontend.MarkdownCode(r.Ref), round(r.Elapsed))
		if r.Saved > 0 {
			fmt.Fprintf(&b, ", saving a %s build", round(r.Saved))
		}
		b.WriteString(".\n")
	} else {
		style = "info"
		fmt.Fprintf(&b, "#### :docker: docker-ecr-cache: cache miss\n\n%s was built", frontend.MarkdownCode(r.Ref))
		if r.Pushed {
			b.WriteString(" and pushed")
		}
		fmt.Fprintf(&b, " in %s.\n", round(r.Elapsed))
		if r.Previous != "" {
			fmt.Fprintf(&b, "\nChanged since %s: %s.\n", frontend.MarkdownCode(r.Previous), changes(r.Changed))
		}
	}
	if r.Digest != "" {
		fmt.Fprintf(&b, "\nDigest: %s\n", frontend.MarkdownCode(r.Digest))
	}

	fmt.Fprintf(&b, "\n<details>\n<summary>Cache key <code>%s</code> from %d inputs</summary>\n\n", frontend.MarkdownText(r.Key.Tag), len(r.Key.Inputs))
	b.WriteString("| Input | Digest |\n| --- | --- |\n")
	for i, in := range key.PublishedInputs(r.Key.Inputs) {
		if i == MaxAnnotatedInputs {
			fmt.Fprintf(&b, "| and %d more | |\n", len(r.Key.Inputs)-MaxAnnotatedInputs)
			break
		}
		fmt.Fprintf(&b, "| %s | %s |\n", frontend.MarkdownText(in.Name), digestCell(engine.ShortDigest(in.Digest)))
	}
	b.WriteString("\n</details>\n")
	return style, b.String()
}

// digestCell is an input's digest in a table, or why it has none.
func digestCell(d string) string {
	if d == "" {
		return "value not recorded"
	}
	return frontend.MarkdownCode(d)
}

// changes renders what changed since the previous image.
func changes(list []key.Change) string {
	return key.DescribeChanges(list, 20, frontend.MarkdownText)
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
