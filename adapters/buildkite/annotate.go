package buildkite

import (
	"fmt"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// MaxAnnotatedInputs caps the key inputs listed in the annotation.
const MaxAnnotatedInputs = 50

// AnnotationContext names the job's annotation: one per step and plugin
// instance, so a retry replaces it rather than adding another, and a second
// instance on the step (exporting another variable) keeps its own.
func AnnotationContext(getenv func(string) string, imageVar string) string {
	id := getenv("BUILDKITE_STEP_KEY")
	if id == "" {
		id = getenv("BUILDKITE_JOB_ID")
	}
	if imageVar != "" && imageVar != DefaultImageVar {
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
		fmt.Fprintf(&b, "#### :docker: docker-ecr-cache: cache hit\n\n`%s` was ready in %s", r.Ref, round(r.Elapsed))
		if r.Saved > 0 {
			fmt.Fprintf(&b, ", saving a %s build", round(r.Saved))
		}
		b.WriteString(".\n")
	} else {
		style = "info"
		fmt.Fprintf(&b, "#### :docker: docker-ecr-cache: cache miss\n\n`%s` was built", r.Ref)
		if r.Pushed {
			b.WriteString(" and pushed")
		}
		fmt.Fprintf(&b, " in %s.\n", round(r.Elapsed))
		if r.Previous != "" {
			fmt.Fprintf(&b, "\nChanged since `%s`: %s.\n", r.Previous, changes(r.Changed))
		}
	}
	if r.Digest != "" {
		fmt.Fprintf(&b, "\nDigest: `%s`\n", r.Digest)
	}

	fmt.Fprintf(&b, "\n<details>\n<summary>Cache key <code>%s</code> from %d inputs</summary>\n\n", r.Key.Tag, len(r.Key.Inputs))
	b.WriteString("| Input | Digest |\n| --- | --- |\n")
	for i, in := range r.Key.Inputs {
		if i == MaxAnnotatedInputs {
			fmt.Fprintf(&b, "| and %d more | |\n", len(r.Key.Inputs)-MaxAnnotatedInputs)
			break
		}
		fmt.Fprintf(&b, "| %s | `%s` |\n", escape(in.Name), engine.ShortDigest(in.Digest))
	}
	b.WriteString("\n</details>\n")
	return style, b.String()
}

// changes renders what changed since the previous image.
func changes(list []engine.Change) string {
	return engine.DescribeChanges(list, 20, escape)
}

var markdown = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "|", `\|`, "[", `\[`, "]", `\]`,
	"#", `\#`, "<", "&lt;", ">", "&gt;", "\n", " ",
)

// escape makes a file name plain text in markdown.
func escape(s string) string { return markdown.Replace(s) }

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
