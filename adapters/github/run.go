package github

import (
	"context"
	"errors"
	"io"
	"path/filepath"

	"github.com/sethvargo/go-githubactions"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// Run is the action's entry point. Everything goes to stdout, the stream
// the runner reads workflow commands from, in the order written.
func Run(ctx context.Context, args []string, env frontend.Env) error {
	fe := &frontEnd{env: env, style: &Style{}}
	fe.log = report.New(env.Stdout, fe.style)
	for _, s := range frontend.EnvSecrets(env.Getenv) {
		fe.log.Mask(s)
	}
	if len(args) > 0 {
		return frontend.Fail(fe.log, engine.Configf("the github command takes no arguments, got %q: give options as the action's inputs (INPUT_* variables)", args))
	}
	return frontend.Run(ctx, fe)
}

type frontEnd struct {
	env   frontend.Env
	style *Style
	log   *report.Reporter
	cfg   engine.Config
}

func (g *frontEnd) Reporter() *report.Reporter { return g.log }

// Load reads the inputs, and masks the build secrets taken from the
// environment before anything else is written.
func (g *frontEnd) Load() (engine.Config, error) {
	cfg, err := Load(g.env)
	for _, s := range BuildSecrets(cfg) {
		g.log.Mask(s)
	}
	g.cfg, g.style.Workspace = cfg, cfg.WorkDir
	return cfg, err
}

func (g *frontEnd) Emit(r engine.Result) error { return Emit(g.env.Getenv, g.cfg, r) }

// Style writes workflow commands through go-githubactions: groups,
// warnings, masks, and errors as annotations, on the Dockerfile when a
// build failed.
type Style struct {
	// Workspace is the checkout: a failed Dockerfile is named relative to it.
	Workspace string
}

var _ report.Style = (*Style)(nil)

func action(w io.Writer) *githubactions.Action {
	return githubactions.New(githubactions.WithWriter(w))
}

// Group opens a ::group:: titled with the phase.
func (s *Style) Group(w io.Writer, p engine.Phase, subject string) { action(w).Group(p.Title(subject)) }

// EndGroup closes it.
func (s *Style) EndGroup(w io.Writer) { action(w).EndGroup() }

// Warning writes a ::warning:: annotation.
func (s *Style) Warning(w io.Writer, msg string) { action(w).Warningf("%s", msg) }

// Mask asks the runner to hide secret in the log: ::add-mask::.
func (s *Style) Mask(w io.Writer, secret string) { action(w).AddMask(secret) }

// Guard keeps a line from reading as a workflow command: the runner takes
// a line whose text, after leading white space, starts with :: (or the
// older ##[) as one. Such a line is written after a zero-width space,
// which the runner does not trim, so that it reads the same.
func (s *Style) Guard(line string) string {
	return frontend.Guarded(line, "::", "##[")
}

// Error writes an ::error:: annotation. A failed build is annotated on its
// Dockerfile, named relative to the workspace.
func (s *Style) Error(w io.Writer, err error) {
	a := action(w)
	var be *engine.BuildError
	if errors.As(err, &be) && be.Dockerfile != "" && s.Workspace != "" {
		if rel, rerr := filepath.Rel(s.Workspace, be.Dockerfile); rerr == nil && filepath.IsLocal(rel) {
			a = a.WithFieldsMap(map[string]string{"file": filepath.ToSlash(rel), "title": "Docker build failed"})
		}
	}
	a.Errorf("%s", err)
}
