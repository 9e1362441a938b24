package frontend

import (
	"context"
	"fmt"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/prune"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// Pruner is a front end that reports a prune in its own way as well, such
// as a GitHub step summary.
type Pruner interface {
	Pruned(prune.Result) error
}

// Prune deletes the images of old keys from cfg's repository, as
// max-age-days and keep-last say: the plan, one line an image, and each
// deletion go to line (the log, or stdout for the prune command). With
// dryRun, nothing is deleted. On a registry that needs no prune (ECR,
// local) it says why and does nothing.
func Prune(ctx context.Context, cfg *engine.Config, log *report.Reporter, dryRun bool, line func(string)) (prune.Result, error) {
	log.Phase(engine.PhasePrune, "")
	b, note, err := prune.For(ctx, cfg, func() (engine.Registry, error) { return registry.New(ctx, cfg, log) }, log)
	if err != nil {
		return prune.Result{}, err
	}
	if note != "" {
		log.Infof("%s", note)
	}
	if b == nil {
		return prune.Result{}, nil
	}
	policy := prune.PolicyOf(cfg)
	log.Infof("pruning %s: keeping latest, the newest %d keys, keys younger than %d days and anything pushed in the last hour%s",
		b.Repository(), cfg.KeepLast, cfg.MaxAgeDays, map[bool]string{true: " (dry run: nothing is deleted)"}[dryRun])
	start := time.Now()
	res, err := prune.Run(ctx, b, policy, prune.Options{
		DryRun: dryRun,
		Warn:   log.Warnf,
		Planned: func(res prune.Result) {
			for _, d := range res.Plan {
				line(prune.PlanLine(res.Now, d))
			}
		},
		Deleted: func(d prune.Decision) {
			line(fmt.Sprintf("deleted %s@%s (%s)", b.Repository(), d.Digest, tagOrUntagged(d.Tag)))
		},
	})
	if err != nil {
		return res, err
	}
	del, keep := res.Count()
	switch {
	case dryRun:
		log.Infof("dry run: %d images would be deleted, %d kept", del, keep)
	default:
		log.Infof("pruned %s in %s: %d images deleted, %d kept", b.Repository(), time.Since(start).Round(time.Millisecond), len(res.Deleted), keep)
	}
	return res, nil
}

func tagOrUntagged(tag string) string {
	if tag == "" {
		return "untagged"
	}
	return tag
}
