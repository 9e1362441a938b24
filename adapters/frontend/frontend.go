// Package frontend is what every front end shares: the process it sees, the
// run of the engine between reading the configuration and writing the
// results, and the quoting and escaping its outputs need.
package frontend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/buildkit"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/docker"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// Env is what a front end sees of the process, injected for tests.
type Env struct {
	Environ []string            // the environment as NAME=value
	Getenv  func(string) string // one variable of it
	// Dir is the working directory: relative paths resolve against it
	// unless the CI names the checkout (GITHUB_WORKSPACE).
	Dir    string
	Stdout io.Writer
	Stderr io.Writer
}

// System is the process's own Env. Without a working directory, Dir is
// empty, which the engine takes as the process's.
func System() Env {
	dir, _ := os.Getwd()
	return Env{Environ: os.Environ(), Getenv: os.Getenv, Dir: dir, Stdout: os.Stdout, Stderr: os.Stderr}
}

// A FrontEnd is one CI's adapter: it reads the configuration in that CI's
// way, reports progress in its log style and hands the results over.
type FrontEnd interface {
	// Load reads the configuration. With an error, it returns what it
	// could read, so that Validate reports the rest's problems too.
	Load() (engine.Config, error)
	Reporter() *report.Reporter
	// Emit hands a successful run's results over.
	Emit(engine.Result) error
}

// Reported is an error the front end has already shown in its CI's way:
// main maps it to an exit code and prints nothing more.
type Reported struct{ Err error }

func (e *Reported) Error() string { return e.Err.Error() }
func (e *Reported) Unwrap() error { return e.Err }

// Fail shows err in the reporter's style and marks it as shown.
func Fail(log *report.Reporter, err error) error {
	log.Error(err)
	return &Reported{Err: err}
}

// running is the reporter of the run in progress, for Stopping.
var running atomic.Pointer[report.Reporter]

// Stopping says what a signal stops: "while <phase>" for the run in
// progress, or "" before its first phase. It never waits.
func Stopping() string {
	if r := running.Load(); r != nil && r.Current() != 0 {
		return "while " + strings.ToLower(r.Current().String())
	}
	return ""
}

// Run loads the front end's configuration, runs the engine and emits the
// result. A failure is shown once, in the front end's style.
func Run(ctx context.Context, fe FrontEnd) error {
	log := fe.Reporter()
	running.Store(log)
	cfg, err := fe.Load()
	plan, err := planOf(&cfg, err)
	if err != nil {
		return Fail(log, err)
	}
	res, err := runEngine(ctx, plan, log)
	if err != nil {
		return Fail(log, stopped(ctx, log.Current(), err))
	}
	log.EndGroup()
	log.Infof("%s", engine.Summary(res))
	if err := fe.Emit(res); err != nil {
		return Fail(log, fmt.Errorf("writing outputs: %w", err))
	}
	if plan.Config.Prune {
		pruned, err := Prune(ctx, &plan.Config, log, false, func(line string) { log.Infof("%s", line) })
		if err != nil {
			err = fmt.Errorf("prune: %w", err)
		}
		if p, ok := fe.(Pruner); ok { // deletions made before a failure too
			if serr := p.Pruned(pruned); serr != nil && err == nil {
				err = fmt.Errorf("writing the prune's summary: %w", serr)
			}
		}
		if err != nil {
			return Fail(log, err)
		}
		log.EndGroup()
	}
	return nil
}

// Key validates a loaded configuration and computes its key, without a
// daemon or a registry. loadErr is Load's error.
func Key(ctx context.Context, cfg engine.Config, loadErr error) (key.Key, error) {
	if loadErr != nil {
		_, err := planOf(&cfg, loadErr)
		return key.Key{}, err
	}
	key, err := engine.ComputeKey(ctx, &cfg) // validates cfg
	return key, stopped(ctx, engine.PhaseKey, err)
}

// stopped names the phase a run stopped in when err came of ctx's end (a
// signal): a bare "context canceled" does not say what was stopped.
func stopped(ctx context.Context, p engine.Phase, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	what := "starting"
	if p != 0 {
		what = strings.ToLower(p.String())
	}
	return fmt.Errorf("stopped while %s: %w", what, err)
}

// planOf validates cfg into a plan. With a configuration error from Load,
// it reports every problem at once: also those the plan finds in the rest.
func planOf(cfg *engine.Config, loadErr error) (*engine.Plan, error) {
	plan, err := cfg.Plan()
	if loadErr != nil {
		if err != nil && engine.IsConfigError(loadErr) {
			return nil, &engine.ConfigError{Err: errors.Join(loadErr, err)}
		}
		return nil, loadErr
	}
	return plan, err
}

// runEngine wires the engine to the daemon, the configured registry and,
// with buildkit-host, the BuildKit daemon that builds.
func runEngine(ctx context.Context, plan *engine.Plan, log *report.Reporter) (engine.Result, error) {
	d, err := docker.New(ctx, log.Progress())
	if err != nil {
		return engine.Result{}, err
	}
	d.Log, d.StallBuild, d.StallPullPush = log.Warnf, plan.StallBuild, plan.StallPullPush
	reg, err := registry.New(ctx, &plan.Config, log)
	if err != nil {
		return engine.Result{}, err
	}
	if w, ok := reg.(engine.Warmer); ok {
		w.Warm(ctx)
	}
	e := engine.Engine{Plan: plan, Registry: reg, Docker: d, Builder: d, Reporter: log}
	if plan.BuildKit.Addr != "" {
		b, err := buildkit.New(ctx, plan.BuildKit, log.Progress())
		if err != nil {
			return engine.Result{}, err
		}
		defer b.Close()
		e.Builder = b
	}
	res, err := e.Run(ctx)
	if ex, ok := reg.(engine.Explainer); ok && err != nil {
		err = ex.Explain(err)
	}
	return res, err
}

// EnvSecrets are the values of the credentials this tool may read from the
// environment (engine.CredentialVars), for a front end to mask before
// anything is printed, even before the configuration is read (the engine
// masks them again, for every front end).
func EnvSecrets(getenv func(string) string) []string {
	var out []string
	for _, name := range engine.CredentialVars {
		if v := getenv(name); v != "" {
			out = append(out, v)
		}
	}
	return out
}
