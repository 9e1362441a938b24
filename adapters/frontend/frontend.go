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

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/buildkit"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/docker"
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

// Run loads the front end's configuration, runs the engine and emits the
// result. A failure is shown once, in the front end's style.
func Run(ctx context.Context, fe FrontEnd) error {
	log := fe.Reporter()
	cfg, err := fe.Load()
	plan, err := planOf(&cfg, err)
	if err != nil {
		return Fail(log, err)
	}
	res, err := runEngine(ctx, plan, log)
	if err != nil {
		return Fail(log, err)
	}
	log.EndGroup()
	log.Infof("%s", engine.Summary(res))
	if err := fe.Emit(res); err != nil {
		return Fail(log, fmt.Errorf("writing outputs: %w", err))
	}
	return nil
}

// Key validates a loaded configuration and computes its key, without a
// daemon or a registry. loadErr is Load's error.
func Key(ctx context.Context, cfg engine.Config, loadErr error) (engine.Key, error) {
	if loadErr != nil {
		_, err := planOf(&cfg, loadErr)
		return engine.Key{}, err
	}
	return engine.ComputeKey(ctx, &cfg) // validates cfg

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
	e := engine.Engine{Plan: plan, Registry: reg, Docker: d, Reporter: log}
	if plan.BuildKit.Addr != "" {
		b, err := buildkit.New(ctx, plan.BuildKit, log.Progress())
		if err != nil {
			return engine.Result{}, err
		}
		defer b.Close()
		e.Builder = b
	}
	return e.Run(ctx)
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
