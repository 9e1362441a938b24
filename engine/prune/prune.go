package prune

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Backend is one registry's way to list and delete images.
type Backend interface {
	// Repository names the repository, for messages.
	Repository() string
	// List returns the repository's tags, and its untagged manifests where
	// the registry lists them. What is costly to read it may leave for
	// Confirm: a key tag's Key is then its tag, an untagged manifest's
	// Cache true.
	List(ctx context.Context) ([]Image, error)
	// Confirm reads what List left unread for the images plan would
	// delete, and corrects plan's images: an image that is not the
	// cache's gets an empty Key and a false Cache. An image it read once
	// it need not read again.
	Confirm(ctx context.Context, plan []Decision) error
	// Delete deletes the manifest digest, and so every tag naming it.
	Delete(ctx context.Context, digest string) error
}

// ErrUnsupported is wrapped by a Backend's Delete when the registry does
// not allow deletes at all: the run stops there.
var ErrUnsupported = errors.New("the registry does not allow deleting images")

// RefusedError is a registry's refusal of every delete (405, UNSUPPORTED).
type RefusedError struct {
	Registry  string
	Answer    string // HTTP status, the registry's codes and messages
	Retention string // the registry's own retention feature
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("registry %s does not allow deleting images (%s). %s", e.Registry, e.Answer, e.Retention)
}

func (e *RefusedError) Unwrap() error { return ErrUnsupported }

// Result is a prune's plan and what it deleted.
type Result struct {
	Now     time.Time
	Plan    []Decision // sorted: deletions first, then by age
	Deleted []Decision
}

// Options are a prune's switches and what it reports as it goes.
type Options struct {
	DryRun  bool
	Planned func(Result)   // called with the plan, before any deletion
	Deleted func(Decision) // called after each deletion
	// Warn reports what went wrong but does not fail the prune; may be nil.
	Warn func(format string, args ...any)
}

// Saver is a Backend that keeps what it learnt for the next prune.
type Saver interface {
	Save(ctx context.Context, plan []Decision) error
}

// Run lists the repository, decides what goes by p, and, unless
// o.DryRun, deletes it. It stops at the first failed deletion: what was
// deleted before it is in Result.Deleted.
func Run(ctx context.Context, b Backend, p Policy, o Options) (Result, error) {
	if p.Now.IsZero() {
		p.Now = time.Now()
	}
	res := Result{Now: p.Now}
	images, err := b.List(ctx)
	if err != nil {
		return res, fmt.Errorf("listing %s: %w", b.Repository(), err)
	}
	// Confirm what the plan would delete, and decide again with what it
	// read, until every deletion has been confirmed: what Confirm corrects
	// can move other keys out of keep-last.
	plan := Decide(p, images)
	for try := 0; ; try++ {
		if try == 10 {
			return res, fmt.Errorf("pruning %s: the plan did not settle after %d reads of the images to delete: nothing was deleted", b.Repository(), try)
		}
		if err := b.Confirm(ctx, plan); err != nil {
			return res, fmt.Errorf("reading the images to delete in %s: %w", b.Repository(), err)
		}
		for i := range plan {
			images[i] = plan[i].Image
		}
		next := Decide(p, images)
		settled := true
		for i := range next {
			settled = settled && (!next[i].Delete || plan[i].Delete)
		}
		plan = next
		if settled {
			break
		}
	}
	res.Plan = sortPlan(plan)
	if o.Planned != nil {
		o.Planned(res)
	}
	if o.DryRun {
		return res, nil
	}
	done := map[string]bool{}
	for _, d := range res.Plan {
		if !d.Delete {
			continue
		}
		if !done[d.Digest] {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("pruning %s stopped: %w", b.Repository(), err)
			}
			if err := b.Delete(ctx, d.Digest); err != nil {
				if len(done) == 0 {
					return res, fmt.Errorf("pruning %s: nothing was deleted: %w", b.Repository(), err)
				}
				return res, fmt.Errorf("deleting %s@%s (%d deleted before it): %w", b.Repository(), d.Digest, len(done), err)
			}
			done[d.Digest] = true
		}
		res.Deleted = append(res.Deleted, d)
		if o.Deleted != nil {
			o.Deleted(d)
		}
	}
	if s, ok := b.(Saver); ok {
		if err := s.Save(ctx, res.Plan); err != nil && o.Warn != nil {
			o.Warn("could not write the index of kept images for the next prune (%s:%s): %v", b.Repository(), IndexTag, err)
		}
	}
	return res, nil
}

// sortPlan orders deletions first, then the newest first, then by tag.
func sortPlan(plan []Decision) []Decision {
	sort.SliceStable(plan, func(i, j int) bool {
		a, b := plan[i], plan[j]
		switch {
		case a.Delete != b.Delete:
			return a.Delete
		case !a.Pushed.Equal(b.Pushed):
			return a.Pushed.After(b.Pushed)
		}
		return a.Tag < b.Tag
	})
	return plan
}

// WritePlan writes one line per image: the verdict, the tag (or
// "(untagged)"), the digest, the age and why.
func WritePlan(w io.Writer, res Result) {
	for _, d := range res.Plan {
		fmt.Fprintln(w, PlanLine(res.Now, d))
	}
}

// PlanLine is one image's line of the plan.
func PlanLine(now time.Time, d Decision) string {
	verdict := "keep  "
	if d.Delete {
		verdict = "delete"
	}
	tag := d.Tag
	if tag == "" {
		tag = "(untagged)"
	}
	return fmt.Sprintf("%s %-40s %s %7s %s", verdict, engine.EscapeControl(tag), engine.ShortDigest(d.Digest), FormatAge(d.Age(now)), d.Why)
}

// Count returns how many images the plan deletes and keeps.
func (r Result) Count() (del, keep int) {
	for _, d := range r.Plan {
		if d.Delete {
			del++
		} else {
			keep++
		}
	}
	return del, keep
}
