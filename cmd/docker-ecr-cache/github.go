package main

import (
	"context"
	"errors"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/github"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// gitHub is the GitHub Action's front end. Everything goes to stdout, the
// stream the runner reads workflow commands from, in the order written.
type gitHub struct {
	p   process
	log *report.Reporter
	cfg engine.Config
}

func (g *gitHub) Reporter() *report.Reporter { return g.log }

func (g *gitHub) Load() (engine.Config, error) {
	cfg, err := github.Load(g.p.Getenv, g.p.Environ)
	for _, s := range github.BuildSecrets(cfg) {
		g.log.Mask(s)
	}
	g.cfg = cfg
	return cfg, err
}

func (g *gitHub) Emit(r engine.Result) error { return github.Emit(g.p.Getenv, g.cfg, r) }

// PrintError writes the failure as an ::error annotation, on the
// Dockerfile when the build failed.
func (g *gitHub) PrintError(err error) {
	g.log.EndGroup()
	g.log.Infof("%s", github.ErrorCommand(err, g.cfg.WorkDir))
}

func runGitHub(ctx context.Context, args []string, p process) error {
	g := &gitHub{p: p, log: report.New(p.Stdout, github.Style)}
	for _, s := range github.EnvSecrets(p.Getenv) {
		g.log.Mask(s)
	}
	if len(args) > 0 {
		g.PrintError(engine.Configf("the github command takes no arguments, got %q: give options as the action's inputs (INPUT_* variables)", args))
		return errors.Join(errReported, errConfig)
	}
	return runWith(ctx, g)
}
