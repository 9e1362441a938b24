package github

import (
	"fmt"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/prune"
)

// maxSummaryDeleted bounds the deletions listed in the step summary.
const maxSummaryDeleted = 200

// Pruned writes the prune's deletions to GITHUB_STEP_SUMMARY.
func (g *frontEnd) Pruned(res prune.Result) error {
	if g.env.Getenv("GITHUB_STEP_SUMMARY") == "" || res.Plan == nil {
		return nil
	}
	return addStepSummary(githubactions.New(githubactions.WithGetenv(g.env.Getenv)), PruneSummary(res))
}

// PruneSummary is the Markdown of a prune: how many images were deleted
// and kept, and a row per deletion.
func PruneSummary(res prune.Result) string {
	_, keep := res.Count()
	var b strings.Builder
	fmt.Fprintf(&b, "### 🧹 Pruned: %d images deleted, %d kept\n\n", len(res.Deleted), keep)
	if len(res.Deleted) == 0 {
		return b.String()
	}
	b.WriteString("| Tag | Digest | Age | Why |\n|---|---|---|---|\n")
	for i, d := range res.Deleted {
		if i == maxSummaryDeleted {
			fmt.Fprintf(&b, "\n…and %d more, in the log.\n", len(res.Deleted)-i)
			break
		}
		tag := d.Tag
		if tag == "" {
			tag = "(untagged)"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", cell(tag), engine.ShortDigest(d.Digest), prune.FormatAge(d.Age(res.Now)), cell(d.Why))
	}
	return b.String()
}

// cell keeps text from breaking out of a table cell or its code span.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "`", "'", "\n", " ", "\r", " ").Replace(engine.EscapeControl(s))
}

var _ frontend.Pruner = (*frontEnd)(nil)
